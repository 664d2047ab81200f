"""The rule registry: every certain fix and every check that reads the description is named,
recorded in the trace when it fires, and can be switched off. Each rule that reads the
description's wording has a case where it fires and one where it must not."""
from __future__ import annotations

import re

import pytest

from conceptwright import generate
from conceptwright.compilers.cad.expr import identifier_problem  # noqa: F401  (imports the cad compilers)
from conceptwright.compilers.sim import fixes as sim_fixes
from conceptwright.compilers.sim.spec import sure_kind
from conceptwright.core import rules
from conceptwright.targets import get_target
from conceptwright.tools.cad.runner import ShapeStats
from conceptwright.tools.cad.validate import _description, _holes, from_description
from conceptwright.tools.sim import check as sim_check

from .conftest import dumps
from .scripted import ScriptedLLM
from .test_sim import DECAY, MM1, model, variant

for _t in ("xmi", "cad", "sim"):
    get_target(_t)  # registers every built-in rule


def fired(fn, *args):
    with rules.collect() as names:
        fn(*args)
    return names


def test_every_rule_is_named_for_its_target_with_a_purpose():
    assert {r.target for r in rules.REGISTRY.values()} == {"xmi", "cad", "sim"}
    for name, rule in rules.REGISTRY.items():
        assert re.fullmatch(r"(xmi|cad|sim)\.[a-z0-9]+(-[a-z0-9]+)*", name) and rule.name == name
        assert len(rule.purpose) > 20, name


def test_a_fired_fix_is_in_the_trace_and_can_be_switched_off(metamodels):
    quoted = dumps([{"id": "lib", "class": "Library", "attrs": {"name": "'City'"}}])
    res = generate("xmi", "a library", model=ScriptedLLM([quoted]), metamodel=metamodels / "library.ecore")
    assert res.ok and "xmi.unquote" in res.trace[0].rules and "xmi.unquote" in res.rules
    assert 'name="City"' in res.artefacts["xmi"]
    with rules.disabled({"xmi.unquote"}):
        off = generate("xmi", "a library", model=ScriptedLLM([quoted]), metamodel=metamodels / "library.ecore")
    assert "xmi.unquote" not in off.rules and "name=\"'City'\"" in off.artefacts["xmi"]


def test_a_rule_that_calls_another_does_not_claim_its_fixes(metamodels):
    """'feature-name' renames; the single-value unwrap it leads to is 'single-value''s."""
    reply = dumps([{"id": "lib", "class": "library", "attrs": {"name": ["City"]}}])
    res = generate("xmi", "a library", model=ScriptedLLM([reply]), metamodel=metamodels / "library.ecore")
    assert set(res.trace[0].rules) >= {"xmi.class-name", "xmi.single-value"} and "xmi.feature-name" not in res.trace[0].rules


def test_switching_off_checks_unknown_names_and_the_environment(monkeypatch):
    with pytest.raises(ValueError, match="unknown rule"):
        rules.disabled({"sim.no-such-rule"}).__enter__()
    assert rules.off() == frozenset()  # the refused block switched nothing off
    monkeypatch.setenv(rules.ENV, "sim.description-kind")
    assert not rules.is_on("sim.description-kind") and rules.is_on("sim.description-times")


# --------------------------------------------------------------------------- sim rules that read the description

QUEUED = variant(MM1, lambda d: (d["sources"][0].update(interarrival={"dist": "exponential", "rate": 30},
                                                        next=[{"to": "queue", "p": 1}]),
                                 d.update(resources=[{"id": "agents", "capacity": 3}], activities=[
                                     {"id": "queue", "resource": "agents", "duration": {"dist": "constant", "mean": 0},
                                      "next": [{"to": "agent", "p": 1}]}])))
CALLS = ("Calls arrive at 30 calls per hour; handling a call takes exactly 4.5 minutes. Calls wait in one queue "
         "until an agent is free. Simulate 6000 minutes.")


def test_rate_unit_from_description():
    assert fired(sim_fixes.rate_units, CALLS, model(QUEUED), []) == ["sim.rate-unit-from-description"]
    right = model(variant(MM1, lambda d: d["sources"][0].update(interarrival={"dist": "exponential", "rate": 0.5})))
    assert fired(sim_fixes.rate_units, CALLS, right, []) == []  # 0.5 per minute is 30 per hour already


def test_service_after_queue():
    # it removes the queue activity (that rule's) and adds the service (its own)
    assert fired(sim_fixes.service_after_queue, CALLS, model(QUEUED), []) == ["sim.queue-activity", "sim.service-after-queue"]
    two_times = CALLS.replace("Simulate", "A break takes 13 minutes. Simulate")
    assert fired(sim_fixes.service_after_queue, two_times, model(QUEUED), []) == []  # which time? not certain


def test_duration_unit_from_description():
    spec = "One arrives every 2 minutes on average (exponential). Buying a ticket always takes exactly 90 seconds."
    wrong = model(variant(MM1, lambda d: d["activities"][0].update(duration={"dist": "constant", "mean": 90})))
    assert fired(sim_fixes.duration_units, spec, wrong, []) == ["sim.duration-unit-from-description"]
    right = model(variant(MM1, lambda d: d["activities"][0].update(duration={"dist": "constant", "mean": 1.5})))
    assert fired(sim_fixes.duration_units, spec, right, []) == []
    # a pharmacist, not a ticket office: the wording is not what it keys on
    pharmacy = "Prescriptions come in every 2 minutes on average; filling one takes 45 seconds."
    wrong = model(variant(MM1, lambda d: d["activities"][0].update(duration={"dist": "constant", "mean": 45})))
    assert fired(sim_fixes.duration_units, pharmacy, wrong, []) == ["sim.duration-unit-from-description"]


TRIAGE = ("Patients arrive every 6 minutes on average (exponential). One triage nurse sees each for 3 minutes on "
          "average (exponential). After triage 30% go on to the specialist, who takes 10 minutes on average "
          "(exponential); the other 70% leave. Simulate 6000 minutes.")
TRIAGE_REPLY = variant(MM1, lambda d: (d["sources"][0].update(interarrival={"dist": "exponential", "mean": 6},
                                                              next=[{"to": "triage", "p": 1}]), d.update(
    resources=[{"id": "triage", "capacity": 1}, {"id": "specialist", "capacity": 1}],
    activities=[{"id": "triage", "resource": "triage", "duration": {"dist": "exponential", "mean": 3},
                 "next": [{"to": "triage_res", "p": 0.3}, {"to": "exit", "p": 0.7}]}])))


def test_service_at_unknown_route():
    assert "sim.service-at-unknown-route" in fired(sim_fixes.service_at_unknown_route, TRIAGE, model(TRIAGE_REPLY), [])
    no_idle = variant(TRIAGE_REPLY, lambda d: d["resources"].pop())  # no unused server: nothing is certain
    assert fired(sim_fixes.service_at_unknown_route, TRIAGE, model(no_idle), []) == []


def test_waiting_places():
    chairs = model(variant(MM1, lambda d: d["resources"].append({"id": "waiting_chairs", "capacity": 3})))
    assert fired(sim_fixes.waiting_places_as_max_queue, "a barber with 3 waiting chairs", chairs, []) == ["sim.waiting-places"]
    forklift = model(variant(MM1, lambda d: d["resources"].append({"id": "forklift", "capacity": 2})))
    assert fired(sim_fixes.waiting_places_as_max_queue, "a warehouse with 2 forklifts", forklift, []) == []


def test_euler_only_where_asked():
    euler = variant(DECAY, lambda d: d["time"].update(method="Euler"))
    assert fired(sim_fixes.euler_only_where_asked, "x decays at rate 0.5 per s", model(euler), []) == ["sim.euler-only-where-asked"]
    assert fired(sim_fixes.euler_only_where_asked, "x decays; use Euler's method", model(euler), []) == []


def test_description_times():
    spec = "Customers arrive every 2 minutes on average; service takes 1.5 minutes on average."
    fast = model(variant(MM1, lambda d: d["activities"][0].update(duration={"dist": "exponential", "mean": 1.5})))
    assert fired(sim_check.spec_numbers, spec, fast) == []
    slow = model(variant(MM1, lambda d: d["activities"][0].update(duration={"dist": "exponential", "mean": 4})))
    assert fired(sim_check.spec_numbers, spec, slow) == ["sim.description-times"]


def test_description_shares():
    split = model(variant(TRIAGE_REPLY, lambda d: d["activities"][0]["next"].__setitem__(0, {"to": "exit", "p": 0.3})))
    assert fired(sim_check.percent_routes, TRIAGE, split) == []  # some route has p 0.3
    none = model(variant(TRIAGE_REPLY, lambda d: d["activities"][0].update(next=[{"to": "exit", "p": 1}])))
    assert fired(sim_check.percent_routes, TRIAGE, none) == ["sim.description-shares"]
    assert fired(sim_check.percent_routes, "x decays by 5% a second", model(DECAY)) == []  # not a process


@pytest.mark.parametrize("spec", [
    "Patients arrive every 10 minutes at the front desk; the receptionist checks each in for 4 minutes; they wait if she is busy.",
    "Prescriptions come in every 3 minutes; two pharmacists fill each in 5 minutes; prescriptions wait in a queue to be served.",
    "Cars turn up every 2 hours; one mechanic repairs each in 90 minutes; waiting cars queue in the yard.",
    "Jobs are processed by a machine in 4 minutes; 10% of them are reworked.",  # a share is no mark of an ODE
])
def test_description_kind_never_calls_a_queue_continuous(spec):
    """Whatever the servers are called, a process model of a queueing description is no mismatch."""
    assert sure_kind(spec) != "continuous"
    assert fired(sim_check.kind_check, spec, model(MM1)) == []


def test_description_kind_fires_on_a_growth_law_written_as_a_queue():
    growth = "An app's users grow logistically: dA/dt = 0.6*A*(1 - A/20000) per week, A starts at 50. Simulate 20 weeks."
    assert fired(sim_check.kind_check, growth, model(MM1)) == ["sim.description-kind"]
    assert fired(sim_check.kind_check, growth, model(DECAY)) == []


def test_description_step():
    from conceptwright.core.diagnostics import Diagnostic

    euler = model(variant(DECAY, lambda d: d["time"].update(method="Euler", dt=0.5)))
    sensitive = [Diagnostic(code="step-sensitive", message="halving the step changes x by 5%")]
    with rules.collect() as names:
        out = sim_check.step_asked_for("x decays; use Euler's method with a step of 0.5 s", euler, sensitive)
    assert names == ["sim.description-step"] and out[0].severity == "warning"
    with rules.collect() as names:
        out = sim_check.step_asked_for("x decays; use Euler's method", euler, sensitive)  # no step given
    assert names == [] and out[0].severity == "error"


# --------------------------------------------------------------------------- cad rules that read the description

def test_description_sizes():
    exp = from_description("A plate 120 x 80 x 10 mm")
    assert fired(_description, (120.0, 80.0, 10.0), exp) == []
    assert fired(_description, (60.0, 40.0, 10.0), exp) == ["cad.description-sizes"]


def test_hole_count():
    exp = from_description("A plate 120 x 80 x 10 mm with four 8 mm holes")
    holes = [{"diameter": 8.0}] * 4
    box = dict(n_solids=1, valid=True, volume=1.0, bbox=[0, 0, 0, 120, 80, 10])
    assert fired(_holes, ShapeStats(**box, holes=holes), exp) == []
    assert fired(_holes, ShapeStats(**box, holes=holes[:2]), exp) == ["cad.hole-count"]


DESCRIPTION_RULES_TESTED = {
    "sim.rate-unit-from-description", "sim.service-after-queue", "sim.duration-unit-from-description",
    "sim.service-at-unknown-route", "sim.waiting-places", "sim.euler-only-where-asked", "sim.description-times",
    "sim.description-shares", "sim.description-kind", "sim.description-step", "cad.description-sizes", "cad.hole-count",
    "xmi.stated-strings",  # fire and no-fire tests in tests/test_spans.py
    # fire and no-fire tests in tests/test_cad_facts.py
    "cad.fact-sizes", "cad.fact-thickness", "cad.fact-holes", "cad.fact-placement", "cad.fact-axes", "cad.fact-centred",
    "cad.fact-fillets",
}


def test_every_rule_that_reads_the_description_has_a_fire_and_a_no_fire_test_here():
    reading = {n for n, r in rules.REGISTRY.items() if r.reads_description}
    assert reading == DESCRIPTION_RULES_TESTED
