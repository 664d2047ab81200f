"""Faithful strings for tiny models: the description's own names under the grammar (rule xmi.stated-strings)."""
from __future__ import annotations

import json

from conceptwright import generate
from conceptwright.core import rules
from conceptwright.core.spans import restrict_strings, stated_strings
from conceptwright.prompts.profiles import Profile

from .scripted import ScriptedLLM

SMITH = "The Smith family: father John, mother Jane, sons Tom and Bob."
TINY = Profile(name="tiny", faithful_strings=True, example=True, example_kind="metamodel", compact=True)
GOOD = json.dumps({"objects": [{"id": "f", "class": "Family", "attrs": {"lastName": "Smith"},
                                "refs": {"father": "j", "sons": ["t"]}},
                               {"id": "j", "class": "Member", "attrs": {"firstName": "John"}},
                               {"id": "t", "class": "Member", "attrs": {"firstName": "Tom"}}]})


def test_stated_strings_are_names_and_quoted_titles_not_sentence_openers():
    assert stated_strings(SMITH) == ["Smith", "John", "Jane", "Tom", "Bob"]
    got = stated_strings("The library 'North Gate' has a writer, Ann Lee. In 2020 she wrote 'Dune Sea'.")
    assert got[:2] == ["North Gate", "Dune Sea"] and "Ann Lee" in got and "The" not in got and "In" not in got
    assert stated_strings("a plate with four holes") == []


def test_restrict_strings_touches_free_string_attributes_only():
    schema = {"properties": {"id": {"type": "string"}, "attrs": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 200}, "kind": {"type": "string", "enum": ["A", "B"]},
        "when": {"type": "string", "pattern": "^[0-9]+$"}, "tags": {"type": "array", "items": {"type": "string"}},
        "pages": {"type": "integer"}}}}}
    out = restrict_strings(schema, ["Ann", "Bob"])
    attrs = out["properties"]["attrs"]["properties"]
    assert attrs["name"] == {"type": "string", "enum": ["Ann", "Bob"]} and attrs["tags"]["items"]["enum"] == ["Ann", "Bob"]
    assert attrs["kind"]["enum"] == ["A", "B"] and "pattern" in attrs["when"] and attrs["pages"] == {"type": "integer"}
    assert out["properties"]["id"] == {"type": "string"}  # ids and references keep their own schema
    assert restrict_strings(schema, []) is schema


def _first_call(metamodels, profile, spec=SMITH):
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(json.dumps([profile.model_dump()]))
    old = os.environ.get("CONCEPTWRIGHT_PROFILES")
    os.environ["CONCEPTWRIGHT_PROFILES"] = fh.name
    try:
        llm = ScriptedLLM([GOOD])
        res = generate("xmi", spec, model=llm, metamodel=metamodels / "Families.ecore", max_repairs=0, profile=profile.name)
    finally:
        os.environ.pop("CONCEPTWRIGHT_PROFILES") if old is None else os.environ.__setitem__("CONCEPTWRIGHT_PROFILES", old)
        os.unlink(fh.name)
    return res, llm.calls[0]


def test_the_rule_fires_for_a_faithful_profile_and_holds_names_to_the_description(metamodels):
    res, call = _first_call(metamodels, TINY)
    assert "xmi.stated-strings" in res.rules, res.diagnostics
    text = json.dumps(call["schema"])
    assert '"enum": ["Smith", "John", "Jane", "Tom", "Bob"]' in text
    prompt = "\n".join(m.content for m in call["messages"])
    assert "Lastname" not in prompt and "Firstname" not in prompt and '"Smith"' in prompt  # the example uses the description's names


def test_the_rule_stays_quiet_for_other_profiles_when_off_and_without_names(metamodels):
    res, call = _first_call(metamodels, Profile(name="plain", example_kind="metamodel"))
    assert "xmi.stated-strings" not in res.rules and "enum\": [\"Smith\"" not in json.dumps(call["schema"])
    with rules.disabled({"xmi.stated-strings"}):
        res, call = _first_call(metamodels, TINY)
    assert "xmi.stated-strings" not in res.rules and "Smith\", \"John" not in json.dumps(call["schema"])
    res, _ = _first_call(metamodels, TINY, spec="a family of four")
    assert "xmi.stated-strings" not in res.rules
