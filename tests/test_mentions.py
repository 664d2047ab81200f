"""Mentions for tiny models: the first answer labels the description's names, numbers and enum
words; our lowering builds the objects (rule xmi.mentions)."""
from __future__ import annotations

import json
import os
import tempfile

from conceptwright import generate
from conceptwright.compilers.xmi import mentions
from conceptwright.compilers.xmi.metamodel import load_metamodel
from conceptwright.core import rules
from conceptwright.core.spans import stated_names
from conceptwright.prompts.profiles import Profile

from .scripted import ScriptedLLM

SMITH = "The Smith family: father John, mother Jane, sons Tom and Bob."
TINY = Profile(name="tiny-mentions", mentions=True, example=True, example_kind="metamodel", compact=True)
LABELS = json.dumps({"Smith": "root: Family.lastName", "John": "father: Member.firstName", "Jane": "mother: Member.firstName",
                     "Tom": "sons: Member.firstName", "Bob": "sons: Member.firstName"})


def test_stated_names_are_maximal_runs_and_quotes_with_positions():
    got = stated_names("The library 'North Gate' has a writer, Ann Lee. In 2020 she wrote 'Dune Sea'.")
    assert [t for t, _ in got] == ["North Gate", "Ann Lee", "Dune Sea"]
    assert stated_names("a plate with four holes") == []


def test_mentions_of_a_library_description_name_numbers_and_enum_words(metamodels):
    mm = load_metamodel(metamodels / "library.ecore")
    spec = "Riverside Library has a writer, Ann Lee. Ann Lee wrote 'Dune Sea', a 320-page mystery."
    found = mentions.prepare(spec, mm, "Library")
    keys = [m.key for m in found]
    assert keys == ["Riverside Library", "Ann Lee", "Dune Sea", "320", "mystery"]  # the repeated name is asked once
    by = {m.key: m for m in found}
    assert "writers: Writer.name" in by["Ann Lee"].options and by["Ann Lee"].options[-1] == "none"
    assert by["320"].options == ["Book.pages", "none"] and by["mystery"].options == ["Book.category", "none"]


def test_lowering_builds_only_what_the_labels_name(metamodels):
    mm = load_metamodel(metamodels / "library.ecore")
    spec = "Riverside Library has a writer, Ann Lee, who wrote 'Dune Sea', a 320-page mystery, and 'Salt', 90 pages."
    found = mentions.prepare(spec, mm, "Library")
    labels = {"Riverside Library": "root: Library.name", "Ann Lee": "writers: Writer.name", "Dune Sea": "books: Book.title",
              "320": "Book.pages", "mystery": "Book.category", "Salt": "books: Book.title", "90": "Book.pages"}
    model = mentions.lower(labels, found, mm, "Library").dump()["objects"]
    lib, writer, dune, salt = model
    assert lib["attrs"] == {"name": "Riverside Library"} and lib["refs"] == {"writers": [writer["id"]], "books": [dune["id"], salt["id"]]}
    assert dune["attrs"] == {"title": "Dune Sea", "pages": 320, "category": "Mystery"} and salt["attrs"] == {"title": "Salt", "pages": 90}
    # a label outside the options, or "none", adds nothing; a number for a book that has one already makes no nameless book
    again = mentions.lower({**labels, "Ann Lee": "father: Member.firstName", "mystery": "none", "90": "Book.pages",
                            "Salt": "none"}, found, mm, "Library").dump()["objects"]
    assert [o["class"] for o in again] == ["Library", "Book"] and again[1]["attrs"] == {"title": "Dune Sea", "pages": 320}


def _run(metamodels, profile, replies, spec=SMITH, max_repairs=0):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(json.dumps([profile.model_dump()]))
    old = os.environ.get("CONCEPTWRIGHT_PROFILES")
    os.environ["CONCEPTWRIGHT_PROFILES"] = fh.name
    try:
        llm = ScriptedLLM(replies)
        res = generate("xmi", spec, model=llm, metamodel=metamodels / "Families.ecore", max_repairs=max_repairs,
                       profile=profile.name)
    finally:
        os.environ.pop("CONCEPTWRIGHT_PROFILES") if old is None else os.environ.__setitem__("CONCEPTWRIGHT_PROFILES", old)
        os.unlink(fh.name)
    return res, llm.calls


def test_the_rule_fires_for_a_mentions_profile_and_names_every_member(metamodels):
    res, calls = _run(metamodels, TINY, [LABELS])
    assert res.ok and "xmi.mentions" in res.rules
    schema = calls[0]["schema"]
    assert list(schema["properties"]) == ["Smith", "John", "Jane", "Tom", "Bob"] and schema["required"] == list(schema["properties"])
    xmi = res.artefacts["xmi"]
    names = sorted(o["attrs"]["firstName"] for o in res.conceptual["objects"] if o["class"] == "Member")
    assert names == ["Bob", "Jane", "John", "Tom"] and 'lastName="Smith"' in xmi


def test_repairs_after_labels_are_ordinary_json_and_the_rule_is_quiet_elsewhere(metamodels):
    bad = json.dumps({"Smith": "none", "John": "none", "Jane": "none", "Tom": "none", "Bob": "none"})
    good = json.dumps({"objects": [{"id": "f", "class": "Family", "attrs": {"lastName": "Smith"}}]})
    res, calls = _run(metamodels, TINY, [bad, good], max_repairs=1)
    # the labels gave a family without its required lastName: the repair asks for the whole JSON under the instance schema
    assert len(calls) == 2 and "objects" in json.dumps(calls[1]["schema"])
    assert '"objects"' in calls[1]["messages"][-1].content  # the lowered model is the previous answer shown
    res, calls = _run(metamodels, Profile(name="plain-mentions", example_kind="metamodel"), [good])
    assert "xmi.mentions" not in res.rules and "objects" in json.dumps(calls[0]["schema"])
    with rules.disabled({"xmi.mentions"}):
        res, calls = _run(metamodels, TINY, [good])
    assert "xmi.mentions" not in res.rules and "objects" in json.dumps(calls[0]["schema"])


def test_agreement_is_the_share_of_stated_names_the_model_carries(metamodels):
    from conceptwright.agent.protocol import Outcome
    from conceptwright.compilers.xmi.metamodel import Metamodel
    from conceptwright.targets.xmi import ConceptualJob

    job = ConceptualJob(Metamodel(metamodels / "Families.ecore"), SMITH, Profile(name="p"), None)
    half = {"objects": [{"id": "f", "class": "Family", "attrs": {"lastName": "Smith"}},
                        {"id": "j", "class": "Member", "attrs": {"firstName": "John"}}]}
    assert job.agreement(Outcome(conceptual=half)) == 2 / 5
    assert job.agreement(Outcome(conceptual=None)) == 0.0


def test_a_continuation_asks_what_the_references_point_to_and_sets_them(metamodels):
    spec = "Riverside Library has a writer, Ann Lee, who wrote 'Dune Sea', a 320-page mystery."
    labels = json.dumps({"Riverside Library": "root: Library.name", "Ann Lee": "writers: Writer.name",
                         "Dune Sea": "books: Book.title", "320": "Book.pages", "mystery": "Book.category"})
    answers = json.dumps({"author of Dune Sea": "Ann Lee"})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(json.dumps([TINY.model_dump()]))
    os.environ["CONCEPTWRIGHT_PROFILES"] = fh.name
    try:
        llm = ScriptedLLM([labels, answers])
        res = generate("xmi", spec, model=llm, metamodel=metamodels / "library.ecore", max_repairs=0, profile=TINY.name)
    finally:
        os.environ.pop("CONCEPTWRIGHT_PROFILES")
        os.unlink(fh.name)
    assert len(llm.calls) == 2 and res.ok, res.diagnostics  # the continuation is no repair: max_repairs=0 allows it
    assert llm.calls[1]["schema"]["properties"]["author of Dune Sea"]["enum"] == ["Ann Lee"]
    book = next(o for o in res.conceptual["objects"] if o["class"] == "Book")
    writer = next(o for o in res.conceptual["objects"] if o["class"] == "Writer")
    assert book["refs"]["author"] == writer["id"] and book["attrs"]["pages"] == 320


def test_options_are_ranked_by_the_role_words_next_to_a_mention(metamodels):
    mm = load_metamodel(metamodels / "Families.ecore")
    spec = "Family Okafor: father Emeka, mother Ngozi. Children: sons Chidi and Tobe, daughter Adaeze."
    first = {m.key: m.options[0] for m in mentions.prepare(spec, mm, "Family")}
    assert first["Okafor"] == "root: Family.lastName"  # the leading class word is not part of the name
    assert first["Emeka"].startswith("father:") and first["Ngozi"].startswith("mother:")
    assert first["Chidi"].startswith("sons:") and first["Tobe"].startswith("sons:") and first["Adaeze"].startswith("daughters:")
    # no role word near a mention: the metamodel's order stays, "none" last
    plain = mentions.prepare("Okafor, Emeka.", mm, "Family")
    assert [m.options for m in plain][1] == mentions.options_for(plain[1], mm, "Family")
    lib = load_metamodel(metamodels / "library.ecore")
    by = {m.key: m.options[0] for m in mentions.prepare("Writers: Ilse Marr. Books: 'Glass Meridian' (288 pages).", lib, "Library")}
    assert by["Ilse Marr"].startswith("writers:") and by["Glass Meridian"].startswith("books:") and by["288"] == "Book.pages"


def test_an_apostrophe_is_no_quote_and_a_possessive_is_the_name():
    got = [t for t, _ in stated_names("Ben Ochoa is the manager. Ben Ochoa's writer Felix Dorn wrote 'Lantern Keeper'.")]
    assert got == ["Ben Ochoa", "Ben Ochoa", "Felix Dorn", "Lantern Keeper"]
