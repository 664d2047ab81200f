"""The agent loop: stop policy, repairs, best attempt, traces — with a scripted LLM."""
from __future__ import annotations

import json

import pytest

from conceptwright import generate
from conceptwright.llm.base import LLMError

from .conftest import dumps
from .scripted import ScriptedLLM

GOOD = dumps([
    {"id": "lib", "class": "Library", "attrs": {"name": "City"}, "refs": {"writers": ["w1"], "books": ["b1"]}},
    {"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}},
    {"id": "b1", "class": "Book", "attrs": {"title": "Dune", "pages": 412}, "refs": {"author": "w1"}},
])
BAD_DANGLING = dumps([
    {"id": "lib", "class": "Library", "refs": {"books": ["b1"]}},
    {"id": "b1", "class": "Book", "refs": {"author": "nobody"}},
])
BAD_TWO = dumps([
    {"id": "lib", "class": "Library", "refs": {"books": ["b1"]}},
    {"id": "b1", "class": "Book", "attrs": {"pages": "many"}, "refs": {"author": "nobody"}},
])


@pytest.fixture
def library(metamodels):
    return metamodels / "library.ecore"


def test_valid_first_try(library):
    llm = ScriptedLLM([GOOD])
    res = generate("xmi", "a library", model=llm, metamodel=library)
    assert res.ok and res.stop_reason == "valid" and res.attempts == 1
    assert "<library:Library" in res.artefacts["xmi"] and 'title="Dune"' in res.artefacts["xmi"]
    assert res.conceptual["objects"][0]["id"] == "lib"
    assert llm.calls[0]["schema"]["properties"]["objects"]["items"]["anyOf"]  # constrained decoding asked


def test_repair_feeds_back_previous_model_and_diagnostics(library):
    llm = ScriptedLLM([BAD_DANGLING, GOOD])
    res = generate("xmi", "a library", model=llm, metamodel=library)
    assert res.ok and res.attempts == 2 and res.repairs == 1 and res.best_attempt == 1
    repair = llm.calls[1]["messages"]
    assert [m.role for m in repair] == ["system", "user"]  # the task, the previous model, its problems; no history
    text = repair[1].content
    assert text.startswith(llm.calls[0]["messages"][1].content)
    assert '"nobody"' in text and "dangling-reference" in text and "b1" in text
    assert llm.calls[0]["temperature"] == 0.0 and llm.calls[1]["temperature"] > 0  # a repair must not repeat itself


def test_same_diagnostics_twice_starts_afresh_once_then_stops(library):
    llm = ScriptedLLM([BAD_DANGLING, BAD_DANGLING, BAD_DANGLING, GOOD])
    res = generate("xmi", "a library", model=llm, metamodel=library, max_repairs=5)
    assert not res.ok and res.stop_reason == "no_progress_same_diagnostics" and res.attempts == 3
    fresh = llm.calls[2]["messages"]  # the first prompt, told the problems, without the copied answer
    first = llm.calls[0]["messages"]
    assert [m.role for m in fresh] == [m.role for m in first] and fresh[-1].content.endswith(first[-1].content)
    assert "dangling-reference" in fresh[-1].content and '"nobody"' not in fresh[-1].content.replace(first[-1].content, "")
    assert llm.calls[2]["temperature"] == pytest.approx(0.8)


def test_fresh_start_can_succeed(library):
    res = generate("xmi", "a library", model=ScriptedLLM([BAD_DANGLING, BAD_DANGLING, GOOD]), metamodel=library,
                   max_repairs=5)
    assert res.ok and res.attempts == 3 and res.stop_reason == "valid"


def test_no_fewer_errors_for_two_rounds_stops(library):
    other = dumps([{"id": "lib", "class": "Library", "refs": {"books": ["b2"]}},
                   {"id": "b2", "class": "Book", "refs": {"author": "ghost"}}])
    llm = ScriptedLLM([BAD_DANGLING, BAD_TWO, other, GOOD])
    res = generate("xmi", "a library", model=llm, metamodel=library, max_repairs=5)
    assert res.stop_reason == "no_progress" and res.attempts == 3
    # fewest errors wins (ties go to the latest); the invalid best attempt is kept
    assert res.best_attempt == 2 and len(res.diagnostics) == 1


def test_max_repairs_budget(library):
    replies = [dumps([{"id": "lib", "class": "Library", "refs": {"books": [f"b{i}"]}},
                      {"id": f"b{i}", "class": "Book", "refs": {"author": f"ghost{i}"}}]) for i in range(5)]
    res = generate("xmi", "x", model=ScriptedLLM(replies), metamodel=library, max_repairs=1)
    assert res.stop_reason == "max_repairs" and res.attempts == 2


def test_token_budget(library):
    res = generate("xmi", "x", model=ScriptedLLM([BAD_DANGLING, BAD_TWO, GOOD]), metamodel=library, max_tokens=10)
    assert res.stop_reason == "token_budget" and res.attempts == 1


def test_unparseable_reply_is_diagnosed(library):
    llm = ScriptedLLM(["Sure! Here is the model: {\"objects\": [", GOOD])
    res = generate("xmi", "x", model=llm, metamodel=library)
    assert res.ok and res.trace[0].diagnostics[0].code == "parse-error"
    assert "not valid JSON" in llm.calls[1]["messages"][-1].content


def test_certain_fixes_are_applied_without_llm_and_recorded(library):
    # Book not contained anywhere (only the Library can hold it), enum literal in lower case, class case
    reply = dumps([
        {"id": "lib", "class": "library", "refs": {"writers": ["w1"]}},
        {"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}},
        {"id": "b1", "class": "Book", "attrs": {"category": "mystery"}, "refs": {"author": ["w1"]}},
    ])
    res = generate("xmi", "x", model=ScriptedLLM([reply]), metamodel=library)
    assert res.ok, res.diagnostics
    fixes = " ".join(res.trace[0].fixes)
    assert "'library' -> 'Library'" in fixes and "'mystery' -> 'Mystery'" in fixes and "lib.books" in fixes


def test_trace_jsonl_has_one_record_per_attempt(library, tmp_path):
    path = tmp_path / "t.jsonl"
    generate("xmi", "x", model=ScriptedLLM([BAD_DANGLING, GOOD]), metamodel=library, trace=path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["attempt"] for r in records] == [0, 1]
    r = records[1]
    for key in ("run_id", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.usage.input_tokens",
                "gen_ai.usage.output_tokens", "gen_ai.operation.name", "prompt_variant", "messages", "raw_output",
                "diagnostics", "latency_s", "stop_reason"):
        assert key in r
    assert records[0]["run_id"] == r["run_id"] and r["stop_reason"] == "valid" and records[0]["stop_reason"] is None
    assert records[0]["diagnostics"][0]["code"] == "dangling-reference"


def test_llm_error_on_first_call_raises_later_keeps_best(library):
    with pytest.raises(LLMError):
        generate("xmi", "x", model=ScriptedLLM([LLMError("down")]), metamodel=library)
    res = generate("xmi", "x", model=ScriptedLLM([BAD_DANGLING, LLMError("down")]), metamodel=library)
    assert res.stop_reason == "llm_error" and not res.ok and "xmi" in res.artefacts


def test_direct_strategy_validates_llm_xmi(library):
    bad = '<?xml version="1.0"?><library:Library xmlns:xmi="http://www.omg.org/XMI" xmlns:library="http:///library.ecore" xmi:version="2.0" name="C"><books title="T" pagez="3"/></library:Library>'
    good = ('```xml\n<?xml version="1.0"?>\n<library:Library xmlns:xmi="http://www.omg.org/XMI" xmlns:library="http:///library.ecore" '
            'xmi:version="2.0" name="C"><writers name="A"/><books title="T" pages="3" author="//@writers.0"/></library:Library>\n```')
    llm = ScriptedLLM([bad, good])
    res = generate("xmi", "x", model=llm, metamodel=library, strategy="direct")
    assert res.ok and res.attempts == 2
    codes = {d.code for d in res.trace[0].diagnostics}
    assert {"unknown-feature", "required"} <= codes
    assert llm.calls[0]["schema"] is None and res.artefacts["xmi"].startswith("<?xml")


def test_best_attempt_prefers_usable_artefacts():
    from conceptwright.agent.loop import _best
    from conceptwright.agent.protocol import Outcome
    from conceptwright.core.diagnostics import Diagnostic
    err = [Diagnostic(code="x", message="m")]
    usable = Outcome(artefacts={"step": b"1"}, diagnostics=err, usable=True)
    broken = Outcome(artefacts={"step": b"2"}, diagnostics=err, usable=False)
    assert _best([usable, broken]) == 0  # same error count: the usable one, though earlier
    assert _best([broken, Outcome(artefacts={"step": b"3"}, diagnostics=err)]) == 1


LISTED_AHEAD = dumps([  # the root lists three books, only one is written
    {"id": "lib", "class": "Library", "attrs": {"name": "City"}, "refs": {"writers": ["w1"], "books": ["b1", "b2", "b3"]}},
    {"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}},
    {"id": "b1", "class": "Book", "attrs": {"title": "Dune", "pages": 412}, "refs": {"author": "w1"}},
])
THE_MISSING_TWO = dumps([
    {"id": "b2", "class": "Book", "attrs": {"title": "Emma", "pages": 300}, "refs": {"author": "w1"}},
    {"id": "b3", "class": "Book", "attrs": {"title": "Kim", "pages": 200}, "refs": {"author": "w1"}},
])


def test_objects_listed_but_never_written_are_asked_for_and_merged(library):
    llm = ScriptedLLM([LISTED_AHEAD, THE_MISSING_TWO])
    res = generate("xmi", "a library with Dune, Emma and Kim by Ann", model=llm, metamodel=library)
    assert res.ok and res.attempts == 2
    assert {o["id"] for o in res.conceptual["objects"]} == {"lib", "w1", "b1", "b2", "b3"}
    follow_up = llm.calls[1]["messages"][-1].content
    assert "Write ONLY these missing objects" in follow_up and '"b2": a Book (listed in lib.books)' in follow_up
    assert any("merged the 2 missing object(s)" in f for f in res.trace[1].fixes)


def test_the_follow_up_schema_holds_exactly_the_missing_ids_and_a_keyed_reply_merges(library):
    """Under constrained decoding the follow-up cannot skip, rename or retype a missing object."""
    from llama_cpp.llama_grammar import LlamaGrammar

    keyed = json.dumps({"b2": {"class": "Book", "attrs": {"title": "Emma", "pages": 300}, "refs": {"author": "w1"}},
                        "b3": {"class": "Book", "attrs": {"title": "Kim", "pages": 200}, "refs": {"author": "w1"}}})
    llm = ScriptedLLM([LISTED_AHEAD, keyed])
    res = generate("xmi", "a library with Dune, Emma and Kim by Ann", model=llm, metamodel=library)
    assert res.ok and {o["id"] for o in res.conceptual["objects"]} == {"lib", "w1", "b1", "b2", "b3"}
    first, follow = llm.calls[0]["schema"], llm.calls[1]["schema"]
    assert "objects" in first["properties"]
    assert follow["required"] == ["b2", "b3"] and follow["additionalProperties"] is False
    assert follow["properties"]["b2"]["properties"]["class"] == {"const": "Book"}
    assert "id" not in follow["properties"]["b2"]["properties"]
    assert LlamaGrammar.from_json_schema(json.dumps(follow), verbose=False) is not None


def test_a_follow_up_that_rewrites_the_whole_answer_is_taken_whole(library):
    llm = ScriptedLLM([LISTED_AHEAD, GOOD])
    res = generate("xmi", "a library", model=llm, metamodel=library)
    assert res.ok and {o["id"] for o in res.conceptual["objects"]} == {"lib", "w1", "b1"}
    assert not any("merged" in f for f in res.trace[1].fixes)


def test_pruning_is_the_last_resort_and_names_what_was_lost(library):
    llm = ScriptedLLM([LISTED_AHEAD, dumps([]), dumps([])])
    res = generate("xmi", "a library", model=llm, metamodel=library, max_repairs=2)
    assert res.ok and res.stop_reason.endswith("+last_resort")
    warning = [d for d in res.diagnostics if d.code == "content-pruned"]
    assert warning and warning[0].severity == "warning" and "'b2'" in warning[0].message and "'b3'" in warning[0].message
    assert {o["id"] for o in res.conceptual["objects"]} == {"lib", "w1", "b1"}
    assert all(not r.ok for r in res.trace)  # no attempt itself passed


def test_nothing_is_pruned_when_an_attempt_passes(library):
    res = generate("xmi", "a library", model=ScriptedLLM([GOOD]), metamodel=library)
    assert res.ok and not [d for d in res.diagnostics if d.code == "content-pruned"] and res.stop_reason == "valid"


def test_an_edit_goes_through_the_same_entry_point_budgets_and_checks(library):
    first = generate("xmi", "a library", model=ScriptedLLM([GOOD]), metamodel=library)
    added = json.loads(GOOD)
    added["objects"][0]["refs"]["writers"].append("w2")
    added["objects"].append({"id": "w2", "class": "Writer", "attrs": {"name": "Bo"}})
    llm = ScriptedLLM([json.dumps(added)])
    res = generate("xmi", "add the writer Bo", edit=first.conceptual, model=llm, metamodel=library, max_tokens=10_000)
    assert res.ok and {o["id"] for o in res.conceptual["objects"]} == {"lib", "w1", "b1", "w2"}
    prompt = llm.calls[0]["messages"][-1].content
    assert "The current model:" in prompt and '"Dune"' in prompt and "add the writer Bo" in prompt
    assert res.trace[0].prompt_variant.endswith("/edit")
    from conceptwright import InputError
    with pytest.raises(InputError, match="not an instance model"):
        generate("xmi", "x", edit="{nope", model=llm, metamodel=library)
    with pytest.raises(InputError, match="conceptual strategy"):
        generate("xmi", "x", edit=first.conceptual, strategy="direct", model=llm, metamodel=library)


def test_results_are_saved_to_a_folder_or_to_named_paths(library, tmp_path):
    from conceptwright import InputError, save

    res = generate("xmi", "a library", model=ScriptedLLM([GOOD]), metamodel=library)
    written = save(res, tmp_path / "out")
    assert {p.name for p in written} == {"model.xmi", "model.svg"} and "Dune" in (tmp_path / "out" / "model.xmi").read_text()
    (tmp_path / "a.dot").unlink(missing_ok=True)
    assert save(res, {"xmi": tmp_path / "x.xmi", "diagram": tmp_path / "a.dot"}) == [tmp_path / "x.xmi", tmp_path / "a.dot"]
    assert (tmp_path / "a.dot").read_text().startswith("digraph")
    with pytest.raises(InputError, match="unknown output"):
        save(res, {"picture": tmp_path / "p.png"})


def test_the_loop_emits_events_and_a_failing_subscriber_loses_nothing(library, tmp_path):
    from conceptwright.agent import Hooks

    seen: list[tuple[str, int]] = []
    hooks = Hooks()
    hooks.on("*", lambda e: seen.append((e.kind, e.attempt)))
    hooks.on("diagnostics", lambda e: 1 / 0)  # a broken progress bar
    trace = tmp_path / "t.jsonl"
    with pytest.warns(RuntimeWarning, match="failed on diagnostics"):
        res = generate("xmi", "a library", model=ScriptedLLM([BAD_DANGLING, GOOD]), metamodel=library, hooks=hooks,
                       trace=trace)
    assert res.ok and len(trace.read_text().splitlines()) == 2  # the trace writer subscribes the same way
    per_attempt = ["attempt_started", "reply_received", "fixes_applied", "diagnostics", "attempt_finished"]
    assert seen == [(k, 0) for k in per_attempt] + [(k, 1) for k in per_attempt] + [("stopped", 2)]
    with pytest.raises(ValueError, match="unknown event"):
        hooks.on("finished", print)
    again = generate("xmi", "a library", model=ScriptedLLM([GOOD]), metamodel=library, hooks=Hooks())
    assert again.ok


def test_an_id_named_by_two_references_is_asked_for_a_lone_one_is_repaired(metamodels):
    from conceptwright.compilers.xmi.metamodel import Metamodel
    from conceptwright.compilers.xmi.model import InstanceModel
    from conceptwright.tools.xmi.check import missing_objects

    mm = Metamodel(metamodels / "library.ecore")
    two = InstanceModel.model_validate(json.loads(dumps([
        {"id": "lib", "class": "Library", "refs": {"books": ["b1", "b2"]}},
        {"id": "b1", "class": "Book", "refs": {"author": "w9"}}, {"id": "b2", "class": "Book", "refs": {"author": "w9"}}])))
    assert list(missing_objects(two, mm)) == ["w9"]
    lone = InstanceModel.model_validate(json.loads(BAD_DANGLING))
    assert missing_objects(lone, mm) == {}


def test_a_follow_up_that_adds_objects_is_progress_even_with_more_errors(library):
    """Each answer writes more of the objects it listed (score) while new references still dangle."""
    from conceptwright.agent.policy import StopPolicy
    from conceptwright.agent.protocol import Outcome
    from conceptwright.core.diagnostics import Diagnostic

    def outcome(objects: int, errors: int) -> Outcome:
        return Outcome(artefacts={"xmi": "x"}, score=objects,
                       diagnostics=[Diagnostic(code="dangling-reference", message="m", obj=f"o{i}") for i in range(errors)])

    policy = StopPolicy(max_repairs=9)
    assert policy.decide([outcome(1, 5), outcome(8, 6), outcome(15, 7)], 0, 0) is None
    assert policy.decide([outcome(1, 5), outcome(1, 6), outcome(1, 7)], 0, 0) == "no_progress"


def test_continuing_an_unfinished_answer_is_not_a_repair(library):
    """A long model written in parts: each follow-up that writes listed objects is a continuation;
    max_repairs=0 still lets them come (up to max_continuations)."""
    first = dumps([{"id": "lib", "class": "Library", "attrs": {"name": "City"}, "refs": {"writers": ["w1"], "books": ["b1", "b2"]}},
                   {"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}}])
    part1 = dumps([{"id": "b1", "class": "Book", "attrs": {"title": "Dune", "pages": 1}, "refs": {"author": "w1"}}])
    part2 = dumps([{"id": "b2", "class": "Book", "attrs": {"title": "Emma", "pages": 2}, "refs": {"author": "w1"}}])
    res = generate("xmi", "a library", model=ScriptedLLM([first, part1, part2]), metamodel=library, max_repairs=0)
    assert res.ok and res.attempts == 3 and [r.ok for r in res.trace] == [False, False, True]
    from conceptwright.agent.policy import StopPolicy
    from conceptwright.agent.protocol import Outcome
    stuck = [Outcome(incomplete=True, continued=i > 0, score=i) for i in range(8)]
    assert StopPolicy(max_repairs=0, max_continuations=6).decide(stuck, 0, 0) == "max_repairs"  # 7 continuations > 6


def test_the_last_resort_never_returns_a_valid_shell_of_a_larger_answer(library):
    """When only the root-only first answer can be pruned to validity, the best (invalid) answer stands."""
    root_only = dumps([{"id": "lib", "class": "Library", "attrs": {"name": "City"},
                        "refs": {"writers": ["w1", "w2", "w3"], "books": ["b1", "b2", "b3", "b4"]}}])
    most = dumps([  # everything written, but every book's author is a book (not fixable, not prunable)
        {"id": "lib", "class": "Library", "attrs": {"name": "City"}, "refs": {"writers": ["w1", "w2", "w3"], "books": ["b1", "b2", "b3", "b4"]}},
        *({"id": f"w{i}", "class": "Writer", "attrs": {"name": f"W{i}"}} for i in (1, 2, 3)),
        *({"id": f"b{i}", "class": "Book", "attrs": {"title": f"T{i}"}, "refs": {"author": "b1"}} for i in (1, 2, 3, 4))])
    res = generate("xmi", "a library", model=ScriptedLLM([root_only, most, most, most, most]), metamodel=library, max_repairs=1)
    assert not res.ok and len(res.conceptual["objects"]) == 8 and not res.stop_reason.endswith("+last_resort")
