"""The eval suite itself: every case has a valid model saying exactly its facts, and the
scorer gives that model full marks through an XMI round trip (and less for a wrong one)."""
from __future__ import annotations

import json

import pytest

from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.compilers.xmi.to_xmi import to_xmi
from conceptwright.tools.xmi.validate import validate_xmi
from evals.xmi.check_cases import CASES, build_model, check_facts
from conceptwright.evaluation.xmi_score import prf, score

CASE_LIST = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]


def test_suite_size():
    assert len(CASE_LIST) >= 12 and len({c["metamodel"] for c in CASE_LIST}) >= 5


@pytest.mark.parametrize("case", CASE_LIST, ids=[c["id"] for c in CASE_LIST])
def test_case_round_trips_with_full_marks(case, metamodels):
    mm = Metamodel(metamodels / case["metamodel"])
    assert check_facts(case, mm) == []
    model, problems = build_model(case, mm)
    assert problems == []
    graph, diags = validate_xmi(to_xmi(model, mm), mm)
    assert not [d for d in diags if d.severity == "error"]
    s = score(graph, case["facts"], mm)
    assert prf(s["attr_tp"], s["attr_pred"], s["attr_gold"])[2] == 1.0
    assert prf(s["link_tp"], s["link_pred"], s["link_gold"])[2] == 1.0


def test_scorer_penalises_a_wrong_model(metamodels):
    case = next(c for c in CASE_LIST if c["metamodel"] == "library.ecore")
    mm = Metamodel(metamodels / case["metamodel"])
    model, _ = build_model(case, mm)
    book = next(o for o in model.objects if o.cls == "Book")
    book.attrs["pages"] = 1
    for o in model.objects:  # drop the author links, whichever side states them
        if o.cls in ("Book", "Writer"):
            o.refs = {}
    s = score(model, case["facts"], mm)
    assert s["attr_tp"] == s["attr_gold"] - 1 and s["link_tp"] < s["link_gold"]
    assert score(None, case["facts"], mm)["attr_tp"] == 0


def test_ablation_reruns_only_the_cases_a_rule_fired_on_with_it_off(tmp_path, monkeypatch):
    """``python -m evals ablate``: the rule's cases are rerun with only that rule off (here with the
    sim suite's reference models, no LLM) and the report has its row."""
    from evals import __main__ as evals_main
    from evals import ablate

    monkeypatch.setattr(ablate, "RUNS", tmp_path)
    base = tmp_path / "base.jsonl"
    base.write_text(json.dumps({"id": "mm1-bank", "ok": True, "matches": True, "rules": ["sim.description-kind"]}) + "\n"
                    + json.dumps({"id": "mmc-call-centre", "ok": True, "matches": True, "rules": []}) + "\n")
    out = tmp_path / "rules.md"
    assert evals_main.main(["ablate", "sim", "--model", "reference", "--base", str(base), "--out", str(out)]) == 0
    rerun = [json.loads(x) for x in (tmp_path / "ablate-sim-sim.description-kind.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rerun] == ["mm1-bank"] and rerun[0]["without"] == ["sim.description-kind"]
    row = next(line for line in out.read_text().splitlines() if line.startswith("| sim.description-kind"))
    assert "| 1 | 1/1 | 1/1 |" in row


def test_edit_cases_start_valid_and_the_scorer_tells_a_change_from_none(tmp_path):
    """Every start model is valid; replaying it unchanged keeps everything and has no change;
    a correct edit scores a success; an edit that also drops an untouched object does not."""
    import copy as _copy

    from conceptwright import jobs
    from conceptwright.evaluation import run_eval
    from conceptwright.llm.base import Completion, Usage
    from evals.edits.run import _Suite, load_cases, score

    cases = load_cases()
    assert len(cases) >= 18 and {c["target"] for c in cases} == {"xmi", "cad", "sim"}
    for case in cases:
        assert sum(c["target"] == case["target"] for c in cases) >= 6

    class Replay:  # answers each edit with its case's start model, unchanged
        provider, name = "replay", "replay"

        def complete(self, messages, **_):
            prompt = "\n".join(m.content for m in messages)
            case = next(c for c in cases if c["instruction"] in prompt)
            return Completion(text=json.dumps(case["start"]), usage=Usage(), latency_s=0.0, model="replay")

    jobs._MODELS["replay"] = Replay()
    try:
        run = run_eval(_Suite(None), tmp_path / "edits", models=["replay"], strategies=["whole"], max_repairs=0, progress=False)
    finally:
        jobs._MODELS.pop("replay")
    assert len(run.rows) == len(cases)
    for row in run.rows:
        assert row["kept"] and not row["changed"], row  # (a check may read the instruction's numbers)
    pages = next(c for c in cases if c["id"] == "xmi-lib-pages")
    after = _copy.deepcopy(pages["start"])
    after["objects"][4]["attrs"]["pages"] = 192
    assert score(pages, after, {}) == {"changed": True, "kept": True, "lost": []}
    del after["objects"][5]
    after["objects"][0]["refs"]["books"].remove("b3")
    s = score(pages, after, {})
    assert s["changed"] and not s["kept"] and any("b3" in x for x in s["lost"])
    hours = next(c for c in cases if c["id"] == "sim-clinic-12h")
    assert score(hours, _copy.deepcopy(hours["start"]) | {"run": hours["start"]["run"] | {"unit": "hour", "horizon": 12}}, {})["changed"]
