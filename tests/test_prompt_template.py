"""Prompts as data: the default rendering of every target is byte for byte what the prompt
functions wrote before templates; overrides are applied; a missing placeholder is one line."""
from __future__ import annotations

import pytest

from conceptwright.prompts import cad, sim, xmi
from conceptwright.prompts.profiles import Profile
from conceptwright.prompts.template import PromptError, template_for

from . import legacy_prompts as legacy

PROFILES = [
    Profile(name="full"),
    Profile(name="compact", compact=True, example_kind="metamodel", max_tokens=1024),
    Profile(name="bare", example=False),
    Profile(name="own", example_kind="metamodel"),
]
SPECS = [
    "The Smith family: father John, mother Jane, sons Tom and Bob.",
    "Odd {root} and {spec} and {\"x\": 1} in a description {metamodel}",
    "A bank with one teller; customers arrive every 2 minutes and wait; service takes 1.5 minutes.",
    "A tank holds 100 litres; dx/dt = -0.1*x; the stock drains.",
]
SUMMARY = "class Family  <- root\n  attrs: lastName: String[1..1]\n  refs: father: Member[0..1] (contains)"
OWN = '{"objects": [{"id": "family1", "class": "Family"}]}'


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("spec", SPECS)
def test_default_rendering_is_byte_identical(profile: Profile, spec: str) -> None:
    assert xmi.conceptual_messages(SUMMARY, "Family", spec, profile, OWN) == legacy.xmi_conceptual(SUMMARY, "Family", spec, profile, OWN)
    assert xmi.conceptual_messages(SUMMARY, "Family", spec, profile) == legacy.xmi_conceptual(SUMMARY, "Family", spec, profile)
    assert xmi.direct_messages(SUMMARY, "fam = http://f", "Family", spec, profile) == \
        legacy.xmi_direct(SUMMARY, "fam = http://f", "Family", spec, profile)
    first = xmi.conceptual_messages(SUMMARY, "Family", spec, profile)
    assert xmi.repair_messages(first, '{"objects": []}', "- empty-model: {x}", "JSON", profile) == \
        legacy.xmi_repair(first, '{"objects": []}', "- empty-model: {x}", "JSON")
    assert xmi.missing_objects_messages(first, "{}", ['- "m1": a Member'], "Family", profile) == \
        legacy.xmi_missing(first, "{}", ['- "m1": a Member'], "Family")
    assert xmi.edit_messages(SUMMARY, "Family", OWN, spec, profile) == legacy.xmi_edit(SUMMARY, "Family", OWN, spec, profile)
    assert cad.conceptual_messages(spec, profile) == legacy.cad_conceptual(spec, profile)
    assert cad.direct_messages(spec, profile) == legacy.cad_direct(spec, profile)
    assert cad.edit_messages('{"name": "p"}', spec, profile) == legacy.cad_edit('{"name": "p"}', spec, profile)
    for s in (spec, None):
        assert cad.repair_message("JSON", "- bbox {root}", s, profile) == legacy.cad_repair("JSON", "- bbox {root}", s)
        assert sim.repair_message("- routing {kind}", s, profile) == legacy.sim_repair("- routing {kind}", s)
    assert sim.first_messages(spec, profile) == legacy.sim_first(spec, profile)
    assert sim.edit_messages('{"kind": "process"}', spec, profile) == legacy.sim_edit('{"kind": "process"}', spec, profile)


def test_override_is_applied_to_its_section_only() -> None:
    base = Profile(name="full")
    tuned = base.model_copy(update={"sections": {"task": "Write JSON for a {root}. Be brief.", "role": "You model."}})
    default, msgs = xmi.conceptual_messages(SUMMARY, "Family", "x", base), xmi.conceptual_messages(SUMMARY, "Family", "x", tuned)
    assert msgs[0].content == "You model."
    assert "Write JSON for a Family. Be brief." in msgs[1].content and xmi.RULES.split("\n")[0] not in msgs[1].content
    assert msgs[1].content.startswith("Metamodel:\n") and msgs[1].content.endswith("Description: x\nJSON:")
    assert default[1].content != msgs[1].content
    compact = tuned.model_copy(update={"compact": True})  # a compact profile renders task_compact: the override of task is not it
    assert "Be brief" not in xmi.conceptual_messages(SUMMARY, "Family", "x", compact)[1].content


def test_missing_placeholder_is_one_line_error() -> None:
    tuned = Profile(name="t", sections={"edit": "Change it: {instruction} for {spec}"})
    with pytest.raises(PromptError) as err:
        cad.edit_messages("{}", "make it 5 mm", tuned)
    assert "\n" not in str(err.value) and "{spec}" in str(err.value) and "'edit'" in str(err.value)


def test_unknown_braces_stay_literal() -> None:
    tuned = Profile(name="t", sections={"role": 'Answer {"json": true} {shape}'})
    assert sim.first_messages("x", tuned)[0].content == 'Answer {"json": true} {shape}'


@pytest.mark.parametrize("target", ["xmi", "cad", "sim"])
def test_defaults_use_only_declared_placeholders_and_tunable_sections_exist(target: str) -> None:
    t = template_for(target)
    assert t is not None and t.version
    for name in t.tunable:
        for form in {t.section_name(name, p) for p in PROFILES}:
            assert form in t.sections
            assert t.check_override(form, t.sections[form]) is None  # a default is a valid override of itself


def test_check_override_keeps_the_placeholders() -> None:
    t = template_for("xmi")
    assert t.check_override("task", "no root here") is not None
    assert t.check_override("task", "root is {root}") is None
    assert t.check_override("task", "   ") is not None
    assert "repair" in t.check_override("repair", "Fix {diagnostics}.")  # {previous} and {what} dropped


@pytest.mark.parametrize("target", ["xmi", "cad", "sim"])
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_the_seed_of_a_calibration_is_a_usable_variant(target: str, profile: Profile) -> None:
    from conceptwright.evaluation.prompt_runs import DECODING, seed_candidate, to_variant

    t = template_for(target)
    seed = seed_candidate(t, profile)
    assert set(seed) == set(t.in_use(profile)) | {DECODING}
    v = to_variant(seed, name="seed", target=target, template=t, model="m")
    assert v.sections == {} and v.problems() == []  # the defaults: nothing overridden
    assert v.apply(profile).max_tokens == profile.max_tokens
