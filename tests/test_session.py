"""Chat sessions: turns create then edit a model through the one entry point, are saved after
every turn, resume by id, undo, export, and say what changed (every target, no target code)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conceptwright import InputError, open_session, resume_session
from conceptwright.agent.changes import changes
from conceptwright.agent.session import Session, write_json_atomic

from .scripted import ScriptedLLM
from .test_loop import GOOD

WITH_BO = json.loads(GOOD)
WITH_BO["objects"][0]["refs"]["writers"].append("w2")
WITH_BO["objects"].append({"id": "w2", "class": "Writer", "attrs": {"name": "Bo"}})


@pytest.fixture
def library(metamodels: Path) -> Path:
    return metamodels / "library.ecore"


def test_a_second_message_edits_the_model_and_says_what_changed(library, tmp_path):
    llm = ScriptedLLM([GOOD, json.dumps(WITH_BO)])
    s = open_session("xmi", model=llm, store=tmp_path, metamodel=library)
    first = s.send("a library with Dune by Ann")
    assert first.ok and not first.edit and first.changes[0] == "a new model" and first.facts["objects"] == 3
    second = s.send("add the writer Bo")
    assert second.ok and second.edit
    assert "The current model:" in llm.calls[1]["messages"][-1].content and '"Dune"' in llm.calls[1]["messages"][-1].content
    assert "added Writer 'w2' to objects" in second.changes and "objects: 3 -> 4" in second.changes
    assert Path(second.files["xmi"]).read_text().count("<writers ") == 2
    assert (tmp_path / s.id / "turn-1" / "trace.jsonl").is_file()


def test_a_session_is_saved_every_turn_resumes_and_undoes(library, tmp_path):
    s = open_session("xmi", model=ScriptedLLM([GOOD, json.dumps(WITH_BO)]), store=tmp_path, metamodel=library)
    s.send("a library")
    s.send("add Bo")
    again = resume_session(s.id, model=ScriptedLLM([]), store=tmp_path)
    assert [t.message for t in again.turns] == ["a library", "add Bo"] and again.current.conceptual == WITH_BO
    assert again.options["metamodel"] == str(library.resolve())
    now = again.undo()
    assert now is not None and now.index == 0 and not (tmp_path / s.id / "turn-1").exists()
    assert len(resume_session(s.id, model=ScriptedLLM([]), store=tmp_path).turns) == 1


def test_export_to_a_file_or_a_folder(library, tmp_path):
    s = open_session("xmi", model=ScriptedLLM([GOOD]), store=tmp_path / "store", metamodel=library)
    with pytest.raises(InputError, match="nothing to save"):
        s.export(tmp_path / "early.xmi")
    s.send("a library")
    (one,) = s.export(tmp_path / "out" / "lib.xmi")
    assert one.read_text().startswith("<?xml")
    assert {p.name for p in s.export(tmp_path / "all")} >= {"model.xmi"}
    with pytest.raises(InputError, match=r"no \.step artefact"):
        s.export(tmp_path / "x.step")


def test_bad_sessions_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no session 'nope'"):
        resume_session("nope", store=tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "session.json").write_text("{half")
    with pytest.raises(InputError, match="unreadable") as info:
        Session.load("broken", tmp_path)
    assert "\n" not in str(info.value)


def test_the_session_file_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "session.json"
    write_json_atomic(path, {"turns": [1]})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", boom)
    with pytest.raises(OSError):
        write_json_atomic(path, {"turns": [1, 2]})
    assert json.loads(path.read_text()) == {"turns": [1]} and [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_a_turn_whose_reply_never_parses_keeps_the_model_it_had(library, tmp_path):
    s = open_session("xmi", model=ScriptedLLM([GOOD, "no json", "still none"]), store=tmp_path, metamodel=library,
                     max_repairs=1)
    s.send("a library")
    bad = s.send("add Bo")
    assert not bad.ok and bad.conceptual is None and s.current.index == 0


def test_a_part_session_reports_size_and_volume(tmp_path):
    from .test_cad import FLANGE

    thicker = copy.deepcopy(FLANGE)
    thicker["parameters"] = [p | ({"value": 20} if p["name"] == "thickness" else {}) for p in thicker["parameters"]]
    thicker["envelope"]["z"] = 20
    assert thicker != FLANGE
    s = open_session("cad", model=ScriptedLLM([json.dumps(FLANGE), json.dumps(thicker)]), store=tmp_path)
    first = s.send("a flange")
    assert first.ok and {"size", "volume"} <= set(first.facts)
    second = s.send("make it 20 thick")
    assert second.ok and second.changes[0] == "thickness.value: 10 -> 20"
    assert any(c.startswith("size:") and "->" in c for c in second.changes)
    assert any(c.startswith("volume:") for c in second.changes)
    assert {"step", "stl", "code"} <= set(second.files)


def test_a_simulation_session_reports_the_new_kpis(tmp_path):
    from .test_sim import MM1, variant

    s = open_session("sim", model=ScriptedLLM([json.dumps(MM1), json.dumps(variant(MM1, lambda d: d["resources"][0].update(capacity=2)))]),
                     store=tmp_path)
    s.send("a bank teller; customers arrive every 2 minutes")
    turn = s.send("add a second teller")
    assert turn.ok and any("capacity: 1 -> 2" in c for c in turn.changes)
    assert any(c.startswith("wait") and "->" in c for c in turn.changes), turn.changes


def test_changes_reads_any_identified_lists_and_stays_quiet_when_nothing_moved():
    before = {"parameters": [{"name": "d", "value": 30}], "features": [{"id": "bore", "op": "hole", "diameter": "d"}]}
    after = {"parameters": [{"name": "d", "value": 35}],
             "features": [{"id": "bore", "op": "hole", "diameter": "d"}, {"id": "ch", "op": "chamfer", "distance": 2}]}
    out = changes(before, after)
    assert out == ["d.value: 30 -> 35", "added chamfer 'ch' to features"]
    assert changes(before, copy.deepcopy(before)) == ["no change to the model"]
    assert changes(before, before, {"volume": 1.0}, {"volume": 1.0}) == ["no change to the model"]
    assert changes({"objects": [{"id": "a", "class": "X"}]}, {"objects": []}) == ["removed X 'a' from objects"]



def test_an_edit_written_as_a_json_patch_is_applied_then_checked(library):
    from conceptwright import generate
    from conceptwright.agent.patch import PATCH_SCHEMA

    patch = json.dumps([{"op": "add", "path": "/objects/-", "value": {"id": "w2", "class": "Writer", "attrs": {"name": "Bo"}}},
                        {"op": "add", "path": "/objects/0/refs/writers/-", "value": "w2"}])
    llm = ScriptedLLM([patch])
    res = generate("xmi", "add the writer Bo", edit=json.loads(GOOD), edit_mode="patch", model=llm, metamodel=library)
    assert res.ok and res.conceptual == WITH_BO
    assert llm.calls[0]["schema"] == PATCH_SCHEMA and "JSON Patch (RFC 6902)" in llm.calls[0]["messages"][-1].content
    assert res.trace[0].prompt_variant.endswith("/edit/patch") and "applied a JSON Patch of 2" in res.trace[0].fixes[0]


def test_a_patch_that_does_not_apply_is_repaired_with_the_whole_model(library):
    from conceptwright import generate

    bad = json.dumps([{"op": "replace", "path": "/objects/9/attrs/name", "value": "Bo"}])
    llm = ScriptedLLM([bad, json.dumps(WITH_BO)])
    res = generate("xmi", "add the writer Bo", edit=json.loads(GOOD), edit_mode="patch", model=llm, metamodel=library)
    assert res.ok and res.attempts == 2 and res.trace[0].diagnostics[0].code == "patch-error"
    assert "objects" in llm.calls[1]["schema"]["properties"]  # the repair writes the whole model
    with pytest.raises(InputError, match="unknown edit mode"):
        generate("xmi", "x", edit=json.loads(GOOD), edit_mode="diff", model=llm, metamodel=library)


def test_cad_and_sim_edits_take_patches_too():
    from conceptwright import generate

    from .test_cad import FLANGE
    from .test_sim import MM1

    res = generate("sim", "two tellers", edit=MM1, edit_mode="patch",
                   model=ScriptedLLM([json.dumps([{"op": "replace", "path": "/resources/0/capacity", "value": 2}])]))
    assert res.ok and res.conceptual["resources"][0]["capacity"] == 2
    i = [p["name"] for p in FLANGE["parameters"]].index("thickness")
    res = generate("cad", "20 thick", edit=FLANGE, edit_mode="patch", model=ScriptedLLM([json.dumps(
        [{"op": "replace", "path": f"/parameters/{i}/value", "value": 20}, {"op": "replace", "path": "/envelope/z", "value": 20}])]))
    assert res.ok and res.facts["size"] == [120.0, 80.0, 20.0]


def test_a_flow_from_outside_is_shown_as_the_schema_asks_for_it():
    """The edit prompt shows "from": "" (outside), which the decoding schema requires, so a model
    copying the current model does not have to invent a stock for it."""
    from conceptwright import generate

    from .test_sim import TANK

    llm = ScriptedLLM([json.dumps(TANK)])
    generate("sim", "keep it", edit=TANK, model=llm, max_repairs=0)
    prompt = llm.calls[0]["messages"][-1].content
    assert '{"id": "fill", "from": "", "to": "level"' in prompt
