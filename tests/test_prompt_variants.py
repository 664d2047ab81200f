"""Prompt variants: storage round trip, lookup order, template version, use in a run (traced)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conceptwright.prompts import variant as V
from conceptwright.prompts.profiles import Profile
from conceptwright.prompts.template import PromptError

from .scripted import ScriptedLLM


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """A user store and a shipped folder of this test's own."""
    monkeypatch.setenv("CONCEPTWRIGHT_HOME", str(tmp_path / "home"))
    shipped = tmp_path / "shipped"
    monkeypatch.setattr(V, "shipped_dir", lambda target=None: shipped / target if target else shipped)
    return tmp_path


def _variant(name: str, model: str = "tiny", target: str = "sim", version: str = "1", **sections: str) -> V.Variant:
    return V.Variant(name=name, target=target, template_version=version, model=model, sections=sections)


def test_round_trip(store: Path) -> None:
    v = _variant("tiny-a", role="You model systems.").model_copy(update={
        "decoding": V.Decoding(repair_temperature=0.7, max_tokens=900),
        "evidence": V.Evidence(accepted=True, reason="held-out 0.6 >= default 0.5", llm_calls=12)})
    path = V.store_result(v, activate=True)
    assert V.load_variant(path) == v
    assert V.load_variant(store / "home/prompts/sim/tiny.json") == v
    p = v.apply(Profile(name="default"))
    assert (p.variant, p.repair_temperature, p.max_tokens, p.sections) == ("tiny-a", 0.7, 900, {"role": "You model systems."})


def test_model_key() -> None:
    assert V.model_key("gguf:/models/Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf") == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert V.model_key("smollm2") == "smollm2"
    assert V.model_key("openai:gpt-4o-mini") == "openai-gpt-4o-mini"


def test_lookup_order(store: Path) -> None:
    assert V.find_variant("sim", "tiny") is None  # nothing stored: the defaults
    V.save_variant(_variant("shipped-one", role="shipped role"), store / "shipped/sim/tiny.json")
    assert V.find_variant("sim", "tiny").name == "shipped-one"
    V.save_variant(_variant("user-one", role="user role"), store / "home/prompts/sim/tiny.json")
    assert V.find_variant("sim", "tiny").name == "user-one"  # the user store wins over shipped
    explicit = V.save_variant(_variant("mine", model="other", role="mine"), store / "x/mine.json")
    assert V.find_variant("sim", "tiny", str(explicit)).name == "mine"  # an explicit path wins over both
    V.store_result(_variant("cand-7", model="other", role="candidate"), activate=False)
    assert V.find_variant("sim", "tiny", "cand-7").name == "cand-7"  # and a name from the store
    assert V.find_variant("sim", "other") is None  # a candidate is not active
    assert V.find_variant("cad", "tiny") is None  # per target
    assert V.find_variant("sim", "tiny", "default") is None  # the defaults, whatever is stored


def test_the_environment_names_the_variant(store: Path, monkeypatch) -> None:
    V.save_variant(_variant("user-one", role="user role"), store / "home/prompts/sim/tiny.json")
    monkeypatch.setenv("CONCEPTWRIGHT_VARIANT", "default")  # e.g. the baseline of an eval
    assert V.find_variant("sim", "tiny") is None
    monkeypatch.setenv("CONCEPTWRIGHT_VARIANT", "user-one")
    assert V.find_variant("sim", "other").name == "user-one"


def test_other_template_version_is_ignored_with_one_line(store: Path, capsys) -> None:
    V.save_variant(_variant("old", version="0", role="old role"), store / "home/prompts/sim/tiny.json")
    V.save_variant(_variant("shipped-one", role="shipped"), store / "shipped/sim/tiny.json")
    assert V.find_variant("sim", "tiny").name == "shipped-one"
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "v0" in err and "ignored" in err


def test_bad_variants_are_one_line_errors(store: Path) -> None:
    bad = store / "bad.json"
    bad.write_text(json.dumps({"name": "b", "target": "sim"}))
    with pytest.raises(PromptError) as err:
        V.find_variant("sim", "tiny", str(bad))
    assert "\n" not in str(err.value) and "template_version" in str(err.value)
    with pytest.raises(PromptError, match="no prompt variant 'nope'"):
        V.find_variant("sim", "tiny", "nope")
    drops = V.save_variant(_variant("drops", repair="Fix it."), store / "drops.json")  # loses {diagnostics}
    with pytest.raises(PromptError, match="repair"):
        V.find_variant("sim", "tiny", str(drops))
    with pytest.raises(PromptError, match="cad target"):
        V.find_variant("sim", "tiny", str(V.save_variant(_variant("c", target="cad"), store / "c.json")))


def test_a_run_uses_the_stored_variant_and_traces_it(store: Path, tmp_path: Path) -> None:
    from conceptwright import generate

    V.save_variant(_variant("tiny-tuned", role="SYSTEM FROM THE VARIANT").model_copy(
        update={"decoding": V.Decoding(max_tokens=777)}), store / "home/prompts/sim/tiny.json")
    llm = ScriptedLLM(["not json"], name="tiny")
    res = generate("sim", "A tank drains: dx/dt = -0.1*x, x starts at 5.", model=llm, max_repairs=0, trace=tmp_path / "t.jsonl")
    assert llm.calls[0]["messages"][0].content == "SYSTEM FROM THE VARIANT" and llm.calls[0]["max_tokens"] == 777
    assert res.trace[0].prompt_variant.endswith("/tiny-tuned")
    record = json.loads((tmp_path / "t.jsonl").read_text().splitlines()[0])
    assert record["prompt_variant"].endswith("/tiny-tuned")
    other = ScriptedLLM(["not json"], name="big")
    generate("sim", "A tank drains: dx/dt = -0.1*x, x starts at 5.", model=other, max_repairs=0)
    assert other.calls[0]["messages"][0].content != "SYSTEM FROM THE VARIANT"  # another model: the defaults


def test_promote_and_list(store: Path) -> None:
    V.store_result(_variant("tiny-cal-1", role="promoted role"), activate=True)
    shipped = V.promote("tiny-cal-1")
    assert shipped == store / "shipped/sim/tiny.json" and V.load_variant(shipped).sections["role"] == "promoted role"
    wheres = sorted(where for where, _, v in V.all_variants("sim") if v.name == "tiny-cal-1")
    assert wheres == ["active", "candidate", "shipped"]


def test_generate_takes_an_explicit_variant(store: Path) -> None:
    from conceptwright import generate

    path = V.save_variant(_variant("hand-made", model="any", role="EXPLICIT ROLE"), store / "v.json")
    llm = ScriptedLLM(["not json"], name="big")
    generate("sim", "A tank drains: dx/dt = -0.1*x, x starts at 5.", model=llm, max_repairs=0, variant=str(path))
    assert llm.calls[0]["messages"][0].content == "EXPLICIT ROLE"
