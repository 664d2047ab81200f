"""conceptwright calibrate: GEPA over section texts with scripted models (fast, offline)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conceptwright import jobs
from conceptwright.evaluation import calibrate as cal
from conceptwright.evaluation.prompt_runs import case_score
from conceptwright.prompts import variant as V

from .prompt_doubles import MAGIC, PhraseLLM, PhraseReflector, families_cases


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CONCEPTWRIGHT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def cases(tmp_path, metamodels) -> Path:
    return families_cases(tmp_path / "cases.jsonl", metamodels / "Families.ecore")


def test_score_orders_validity_then_quality_then_tokens() -> None:
    assert case_score(True, 0.0, 9000) > case_score(False, 1.0, 0)
    assert case_score(True, 0.6, 9000) > case_score(True, 0.5, 0)
    assert case_score(True, 0.5, 100) > case_score(True, 0.5, 5000)
    assert 0.0 <= case_score(False, 0.0, 10**6) and case_score(True, 1.0, 0) <= 1.0


def test_split_is_disjoint_and_deterministic() -> None:
    cases = [{"id": f"c{i}", "spec": "x"} for i in range(7)]
    a, b = cal.split_cases(cases), cal.split_cases(list(reversed(cases)))
    assert a == b and len(a[1]) == 2 and not {c["id"] for c in a[0]} & {c["id"] for c in a[1]}
    with pytest.raises(cal.InputError):
        cal.split_cases(cases[:1])


def test_a_better_section_is_found_and_accepted(home: Path, cases: Path, tmp_path: Path, monkeypatch) -> None:
    import socket

    def no_network(*args, **kw):
        raise AssertionError("the optimiser tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    llm, reflector = PhraseLLM(), PhraseReflector()
    jobs._MODELS.update({"phrase": llm, "reflector": reflector})
    run = cal.calibrate("phrase", "xmi", cases=cases, budget=30, reflect_model="reflector", out=tmp_path / "run",
                        progress=False)
    assert run.accepted, run.evidence.reason
    assert any(MAGIC in text for text in run.variant.sections.values())
    ev = run.evidence
    assert ev.variant.heldout > ev.default.heldout and ev.variant.calibration > ev.default.calibration
    assert ev.reflection_calls == len(reflector.prompts) >= 1 and ev.llm_calls == len(llm.calls)
    assert set(ev.calibration_cases).isdisjoint(ev.heldout_cases)
    # stored: the candidate and the model's active variant, which a later run then uses
    assert V.load_variant(run.path) == run.variant
    active = V.find_variant("xmi", "phrase")
    assert active is not None and active.name == run.variant.name
    assert "litellm" not in sys.modules  # the optimiser ran on our own backends only
    from conceptwright.agent.batch import BatchStore

    statuses = [s for p in (tmp_path / "run/runs/jobs").iterdir() if (s := BatchStore(tmp_path / "run/runs").status(p.name))]
    assert len(statuses) >= 8
    assert all("phrase-cand-" in s.prompt_variant for s in statuses)  # each job's status names the variant it ran with


def test_worse_on_heldout_is_rejected(home: Path, cases: Path, tmp_path: Path) -> None:
    from conceptwright.evaluation import get_suite

    calib, held = cal.split_cases(get_suite("xmi").load_cases(cases))
    llm = PhraseLLM(worse_with_magic={c["spec"] for c in held})
    jobs._MODELS.update({"phrase": llm, "reflector": PhraseReflector()})
    run = cal.calibrate("phrase", "xmi", cases=cases, budget=30, reflect_model="reflector", out=tmp_path / "run",
                        progress=False)
    assert not run.accepted and "held-out got worse" in run.evidence.reason
    assert run.evidence.variant.calibration > run.evidence.default.calibration  # better where it was tuned
    assert V.find_variant("xmi", "phrase") is None  # not made active: runs keep the defaults
    assert V.load_variant(run.path).evidence.accepted is False  # but kept, with its evidence


def test_a_killed_calibration_resumes_without_repeating_calls(home: Path, cases: Path, tmp_path: Path) -> None:
    fresh_llm = PhraseLLM()
    jobs._MODELS.update({"phrase": fresh_llm, "reflector": PhraseReflector()})
    fresh = cal.calibrate("phrase", "xmi", cases=cases, budget=30, reflect_model="reflector", out=tmp_path / "fresh",
                          progress=False)
    killed = PhraseLLM(die_after=len(fresh_llm.calls) // 2)
    jobs._MODELS.update({"phrase": killed, "reflector": PhraseReflector()})
    with pytest.raises(KeyboardInterrupt):
        cal.calibrate("phrase", "xmi", cases=cases, budget=30, reflect_model="reflector", out=tmp_path / "resumed",
                      progress=False)
    again = PhraseLLM()
    jobs._MODELS["phrase"] = again
    resumed = cal.calibrate("phrase", "xmi", cases=cases, budget=30, reflect_model="reflector", out=tmp_path / "resumed",
                            resume=True, progress=False)
    # no finished case run is done twice; only the calls of the one job in flight at the kill (at most
    # max_repairs = 1 of them) are made again, as in any killed batch
    assert len(fresh_llm.calls) <= len(killed.calls) + len(again.calls) <= len(fresh_llm.calls) + 1
    assert len(again.calls) < len(fresh_llm.calls)
    assert resumed.accepted == fresh.accepted and resumed.variant.sections == fresh.variant.sections
    assert resumed.evidence.reflection_calls == fresh.evidence.reflection_calls  # reflections are kept in the state


def test_cli_calibrate_then_list_show_promote(home: Path, cases: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from conceptwright.cli import main

    shipped = tmp_path / "shipped"
    monkeypatch.setattr(V, "shipped_dir", lambda target=None: shipped / target if target else shipped)
    jobs._MODELS.update({"phrase": PhraseLLM(), "reflector": PhraseReflector()})
    assert main(["calibrate", "--model", "phrase", "--target", "xmi", "--cases", str(cases), "--budget", "30",
                 "--reflect-model", "reflector", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "accepted, active for phrase" in out and "held-out" in out
    name = out.split(":")[0]
    assert main(["prompts", "list", "--target", "xmi"]) == 0
    listed = capsys.readouterr().out
    assert sorted(line.split()[0] for line in listed.splitlines() if name in line) == ["active", "candidate"]
    assert main(["prompts", "show", name]) == 0
    assert f"+{MAGIC}" in capsys.readouterr().out  # the section's change against the default
    assert main(["prompts", "promote", name]) == 0
    assert V.load_variant(shipped / "xmi" / "phrase.json").name == name
    assert main(["calibrate", "--model", "phrase", "--target", "nope"]) == 1  # bad arguments: one line, exit 1
    assert main(["prompts", "show", "missing-variant"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 1  # argparse's line + ours


def test_resume_of_other_cases_is_refused(home: Path, cases: Path, tmp_path: Path) -> None:
    jobs._MODELS.update({"phrase": PhraseLLM(), "reflector": PhraseReflector()})
    cal.calibrate("phrase", "xmi", cases=cases, budget=4, reflect_model="reflector", out=tmp_path / "r", progress=False)
    with pytest.raises(cal.InputError, match="other settings or cases") as err:
        cal.calibrate("phrase", "xmi", cases=cases, budget=4, limit=4, reflect_model="reflector", out=tmp_path / "r",
                      resume=True, progress=False)
    assert "\n" not in str(err.value)


def test_unusable_proposals_keep_the_section() -> None:
    from conceptwright.prompts.template import template_for

    class Cut:
        def __init__(self, reply: str) -> None:
            self.reply = reply

        def __call__(self, prompt: str, max_tokens: int = 0) -> str:
            return self.reply

    t = template_for("xmi")
    cand = {"task": t.sections["task"], "decoding": '{"max_tokens": 1024, "repair_temperature": 0.3, "example": true}'}
    records = {"task": [], "decoding": []}
    for reply, why in (("```\nno root placeholder\n```", "{root}"), ("```\nA cut-off reply", "no text between"),
                       ('```\n{"temperature": 5}\n```', "decoding")):
        adapter = cal.PromptAdapter(runner=None, template=t, reflector=Cut(reply))  # type: ignore[arg-type]
        new = adapter.propose_new_texts(cand, records, ["task", "decoding"])
        assert new == cand and any(why in r for r in adapter.rejected), (reply, adapter.rejected)


def test_cli_calibrate_through_a_real_backend_offline(tmp_path: Path, cases: Path) -> None:
    """The whole command in its own process, task and reflection calls through our OpenAI backend to a
    local server (no litellm, no other network): every case is valid already, so nothing beats the defaults."""
    import json
    import os
    import subprocess

    from .fakeopenai import count, serve
    from .prompt_doubles import _model

    server, url = serve(_model("Okafor", "Emeka", "Ngozi"))
    try:
        env = {**os.environ, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "k", "CONCEPTWRIGHT_HOME": str(tmp_path / "home"),
               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        proc = subprocess.run([sys.executable, "-c", "import sys; from conceptwright.cli import main; rc = main(); "
                               "assert 'litellm' not in sys.modules; sys.exit(rc)", "calibrate", "--model", "openai:fake",
                               "--target", "xmi", "--cases", str(cases), "--limit", "3", "--budget", "6", "--no-progress"],
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]  # rejected: the defaults stay
        assert "rejected, the defaults stay" in proc.stdout and "no candidate beat the defaults" in proc.stdout
        stored = list((tmp_path / "home/prompts/xmi/candidates").glob("*.json"))
        assert len(stored) == 1 and not (tmp_path / "home/prompts/xmi/openai-fake.json").exists()
        evidence = json.loads(stored[0].read_text())["evidence"]
        assert evidence["llm_calls"] + evidence["reflection_calls"] == count(url)  # every call counted
    finally:
        server.shutdown()


def test_the_sweep_turns_on_a_setting_that_scores_better_and_leaves_off_one_that_does_not(home: Path, cases: Path,
                                                                                          tmp_path: Path) -> None:
    import json

    from .prompt_doubles import LabelLLM

    jobs._MODELS.update({"labeller": LabelLLM(name="labeller"), "phrase": PhraseLLM(), "reflector": PhraseReflector()})
    run = cal.calibrate("labeller", "xmi", cases=cases, budget=12, reflect_model="reflector", out=tmp_path / "run",
                        progress=False)
    assert run.accepted and run.variant.decoding.mentions is True, run.evidence.reason
    assert run.evidence.variant.heldout > run.evidence.default.heldout
    plain = cal.calibrate("phrase", "xmi", cases=cases, budget=12, reflect_model="reflector", out=tmp_path / "run2",
                          progress=False)
    assert not plain.variant.decoding.mentions  # labels prompts do not help a model that cannot label
    assert json.loads(cal.seed_candidate(cal.template_for("xmi"), cal.profile_for("phrase"))["decoding"]).get("mentions") is None
