"""conceptwright prompts transfer: a rule from calibrated variants, a variant for a new model, evaluated, with fallback."""
from __future__ import annotations

from pathlib import Path

import pytest

from conceptwright import jobs
from conceptwright.core.errors import InputError
from conceptwright.evaluation.transfer import derive_rule, transfer
from conceptwright.prompts import variant as V
from conceptwright.prompts.template import template_for

from .prompt_doubles import MAGIC, PhraseLLM, families_cases

XMI = template_for("xmi")
ROLE = XMI.sections["role"]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CONCEPTWRIGHT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _v(model: str, decoding: V.Decoding | None = None, **sections: str) -> V.Variant:
    return V.Variant(name=f"{model}-xmi-cal-1", target="xmi", template_version=XMI.version, model=model,
                     source="calibrate", sections=sections, decoding=decoding or V.Decoding())


def test_rule_keeps_what_every_source_changes() -> None:
    a = _v("a", V.Decoding(repair_temperature=0.6, max_tokens=1000), role=f"{ROLE}\n{MAGIC}\nBe terse.", repair="x {previous} {diagnostics} {what}")
    c = _v("c", V.Decoding(repair_temperature=0.2, max_tokens=2001), role=f"{ROLE}\n{MAGIC}\nList ids first.")
    rule = derive_rule([a, c], XMI)
    assert rule.sections == {"role": f"{ROLE}\n{MAGIC}"}  # the common added line only
    assert "repair" not in rule.sections and "only for a" in rule.text  # changed for one source: not systematic
    assert rule.decoding == {"repair_temperature": 0.4, "max_tokens": 1500}
    one = derive_rule([a], XMI)  # one model and the defaults: all of its changes
    assert one.sections["role"] == a.sections["role"] and one.decoding["max_tokens"] == 1000
    other_target = derive_rule([a], XMI, sections_too=False)
    assert other_target.sections == {} and other_target.decoding["repair_temperature"] == 0.6


def test_transfer_produces_evaluates_and_activates(home: Path, tmp_path: Path, metamodels: Path) -> None:
    cases = families_cases(tmp_path / "cases.jsonl", metamodels / "Families.ecore", n=3)
    V.store_result(_v("model-a", role=f"{ROLE}\n{MAGIC}"), activate=True)
    b = PhraseLLM(name="model-b")
    jobs._MODELS["model-b"] = b
    run = transfer(["model-a"], "model-b", "xmi", cases=cases, out=tmp_path / "t")
    assert run.accepted and MAGIC in run.variant.sections["role"]
    assert run.evidence.variant.heldout > run.evidence.default.heldout and run.evidence.sources == ["model-a-xmi-cal-1"]
    assert "Section 'role'" in run.evidence.rule
    assert len(b.calls) == 6  # 3 cases with the defaults, 3 with the transferred variant
    assert V.find_variant("xmi", "model-b").name == run.variant.name


def test_transfer_falls_back_to_the_defaults_when_worse(home: Path, tmp_path: Path, metamodels: Path) -> None:
    cases = families_cases(tmp_path / "cases.jsonl", metamodels / "Families.ecore", n=3)
    V.store_result(_v("model-a", role=f"{ROLE}\n{MAGIC}"), activate=True)
    specs = {line.split('"spec": "')[1].split('"')[0] for line in cases.read_text().splitlines()}
    jobs._MODELS["model-b"] = PhraseLLM(name="model-b", worse_with_magic=specs)
    run = transfer(["model-a"], "model-b", "xmi", cases=cases, out=tmp_path / "t")
    assert not run.accepted and "conceptwright calibrate --model model-b" in run.evidence.reason
    assert V.find_variant("xmi", "model-b") is None  # the defaults stay
    assert V.load_variant(run.path).evidence.variant.heldout < run.evidence.default.heldout


def test_transfer_without_a_source_variant_is_one_line(home: Path) -> None:
    with pytest.raises(InputError) as err:
        transfer(["nobody"], "model-b", "xmi")
    assert "\n" not in str(err.value) and "conceptwright calibrate --model nobody" in str(err.value)


def test_cli_transfer(home: Path, tmp_path: Path, metamodels: Path, capsys) -> None:
    from conceptwright.cli import main

    cases = families_cases(tmp_path / "cases.jsonl", metamodels / "Families.ecore", n=2)
    V.store_result(_v("model-a", role=f"{ROLE}\n{MAGIC}"), activate=True)
    V.store_result(_v("model-c", role=f"{ROLE}\n{MAGIC}"), activate=True)
    jobs._MODELS["model-b"] = PhraseLLM(name="model-b")
    assert main(["prompts", "transfer", "--from", "model-a,model-c", "--to", "model-b", "--target", "xmi",
                 "--cases", str(cases), "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "all 2 calibrations" in out and "accepted, active for model-b" in out


def test_a_swept_setting_carries_over_to_the_new_model(home: Path, tmp_path: Path, metamodels: Path) -> None:
    from .prompt_doubles import LabelLLM

    cases = families_cases(tmp_path / "cases.jsonl", metamodels / "Families.ecore", n=3)
    V.store_result(_v("model-a", V.Decoding(mentions=True)), activate=True)
    jobs._MODELS["labeller-b"] = LabelLLM(name="labeller-b")
    run = transfer(["model-a"], "labeller-b", "xmi", cases=cases, out=tmp_path / "t")
    assert run.variant.decoding.mentions is True and run.accepted, run.evidence.reason
    assert run.evidence.variant.heldout > run.evidence.default.heldout
