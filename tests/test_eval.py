"""`conceptwright eval`: suites through the batch engine, scored, side by side, resumable."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conceptwright import jobs
from conceptwright.agent.protocol import InputError
from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.evaluation import get_suite, run_eval
from conceptwright.evaluation.xmi import load_cases
from evals.xmi.check_cases import build_model

from .scripted import ScriptedLLM


@pytest.fixture
def seeded():
    """Put test doubles where the engine looks models up (one process, thread executor)."""
    names = []

    def seed(name, backend):
        jobs._MODELS[name] = backend
        names.append(name)
        return backend

    yield seed
    for n in names:
        jobs._MODELS.pop(n, None)


def _perfect(case):
    model, _ = build_model(case, Metamodel(case["metamodel"]))
    return model.model_dump_json()


def test_xmi_suite_scores_perfect_and_empty_models_side_by_side_and_resumes(tmp_path, seeded):
    cases = load_cases(None)[:2]
    good = seeded("good", ScriptedLLM([_perfect(c) for c in cases], name="good"))
    bad = seeded("bad", ScriptedLLM(['{"objects": []}'] * 2, name="bad"))
    out = tmp_path / "ev"
    run = run_eval("xmi", out, models=["good", "bad"], strategies=["conceptual"], only=[c["id"] for c in cases],
                   max_repairs=0, progress=False)
    by = {(r["model"], r["id"]): r for r in run.rows}
    assert all(by[("good", c["id"])]["ok"] and by[("good", c["id"])]["obj_tp"] == by[("good", c["id"])]["obj_gold"] > 0
               for c in cases)
    assert all(by[("bad", c["id"])]["obj_tp"] == 0 for c in cases)
    text = run.report_md.read_text()
    assert "## Side by side" in text and "## Validity by repair round" in text and "| good | conceptual | 2 | 100% | 1.00 | 1.00x" in text
    assert "| bad | conceptual | 2 |" in text and "0.00x" in text  # object recall 0, as a ratio of the first row
    summary = json.loads(run.report_json.read_text())
    assert [g["model"] for g in summary["groups"]] == ["good", "bad"] and summary["groups"][0]["primary"] == 1.0
    assert {p.name for p in run.plots} == {"validity_by_round.png", "tokens_by_strategy.png"}
    assert all(p.stat().st_size > 1000 for p in run.plots)
    calls = len(good.calls) + len(bad.calls)
    again = run_eval("xmi", out, models=["good", "bad"], strategies=["conceptual"], only=[c["id"] for c in cases],
                     max_repairs=0, progress=False, resume=True)
    assert len(good.calls) + len(bad.calls) == calls == 4  # nothing run twice
    assert sorted(r["job"] for r in again.rows) == sorted(r["job"] for r in run.rows)


def test_bad_suite_input_is_one_clear_error(tmp_path):
    bad = tmp_path / "cases.jsonl"
    bad.write_text('{"id": "a", "spec": "x", "metamodel": "Families.ecore"}\nnot json\n')
    with pytest.raises(InputError, match="line 2: not JSON"):
        run_eval("xmi", tmp_path / "o", models=["smollm2"], cases=bad)
    with pytest.raises(InputError, match="no eval suite for 'nope'"):
        get_suite("nope")
    with pytest.raises(InputError, match="unknown rule"):
        run_eval("sim", tmp_path / "o", models=["reference"], only=["mm1-bank"], without=["no.such-rule"])
    with pytest.raises(InputError, match="no cases"):
        run_eval("sim", tmp_path / "o", models=["reference"], only=["no-such-case"])


def test_cli_eval_runs_the_sim_suite_with_reference_models(tmp_path):
    out = tmp_path / "ev"
    proc = subprocess.run([sys.executable, "-m", "conceptwright", "eval", "--target", "sim", "--model", "reference",
                           "--only", "mm1-bank", "--out", str(out), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "sim: 1 run(s), 1 valid" in proc.stdout
    row = json.loads((out / "results.jsonl").read_text())
    assert row["matches"] and row["job"] == "mm1-bank.conceptual.reference"
    assert (out / "batch" / "jobs" / row["job"] / "status.json").is_file() and (out / "batch" / "summary.md").is_file()
    bad = subprocess.run([sys.executable, "-m", "conceptwright", "eval", "--target", "all", "--model", "reference",
                          "--cases", "x.jsonl", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "needs one --target" in bad.stderr


def test_two_case_sets_run_side_by_side_with_their_own_rows(tmp_path):
    """The own suite and a fresh held-out set in one run: each row names its set, the report has both."""
    from conceptwright.evaluation import builtin_cases

    own = builtin_cases("sim")
    first = own.read_text().splitlines()[0]
    other = tmp_path / "fresh.jsonl"
    other.write_text(first + "\n")  # the same case under another set: ids must not collide
    out = tmp_path / "ev"
    run = run_eval("sim", out, models=["reference"], cases=f"{own},{other}", only=[json.loads(first)["id"]], progress=False)
    assert sorted(r["set"] for r in run.rows) == ["cases", "fresh"] and len({r["job"] for r in run.rows}) == 2
    text = run.report_md.read_text()
    assert "## Case sets side by side" in text and "| cases | reference |" in text and "| fresh | reference |" in text
    single = run_eval("sim", tmp_path / "ev1", models=["reference"], only=[json.loads(first)["id"]], progress=False)
    assert "Case sets side by side" not in single.report_md.read_text() and single.rows[0]["set"] == "cases"
