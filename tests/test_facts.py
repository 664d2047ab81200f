"""The description's stated facts (value, pint unit, role, words) and the one check that the model
carries each: ``sim.facts-carried``; its replay against the old wording checks (``python -m evals sim-facts``)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from conceptwright.agent.protocol import Outcome
from conceptwright.compilers.sim import parse_model
from conceptwright.core import rules
from conceptwright.tools.sim.facts import Fact, agreement, extract, facts_carried

BANK = ("A bank has three tellers. Customers arrive at 10 an hour; service takes 15 minutes on average "
        "(exponential). There is room for 5 customers to wait. 30% of customers then visit the cashier, "
        "who takes 2 minutes; the other 70% leave. Simulate 8 hours, 10 replications.")
BANK_MODEL: dict[str, Any] = {
    "kind": "process", "time_unit": "minute",
    "sources": [{"id": "customers", "interarrival": {"dist": "exponential", "rate": 10, "unit": "hour"},
                 "next": [{"to": "service", "p": 1}]}],
    "resources": [{"id": "tellers", "capacity": 3, "max_queue": 5}, {"id": "cashier", "capacity": 1}],
    "activities": [{"id": "service", "resource": "tellers", "duration": {"dist": "exponential", "mean": 15},
                    "next": [{"to": "cash", "p": 0.3}, {"to": "exit", "p": 0.7}]},
                   {"id": "cash", "resource": "cashier", "duration": {"dist": "constant", "mean": 2},
                    "next": [{"to": "exit", "p": 1}]}],
    "run": {"horizon": 480, "replications": 10}}
TANK = "A tank (stock named volume) holds 100 litres. Water flows in at 5 litres per minute and drains at 0.1 per minute times the volume. Simulate 2 hours."
TANK_MODEL: dict[str, Any] = {
    "kind": "continuous", "time_unit": "minute",
    "parameters": [{"id": "q", "value": 5, "unit": "L/minute"}, {"id": "k", "value": 0.1, "unit": "1/minute"}],
    "stocks": [{"id": "volume", "initial": 100, "unit": "L"}],
    "flows": [{"id": "inflow", "to": "volume", "rate": "q", "unit": "L/minute"},
              {"id": "outflow", "from": "volume", "rate": "k*volume", "unit": "L/minute"}],
    "time": {"stop": 120}}


def model(data: dict[str, Any]) -> Any:
    m, diags, _ = parse_model(copy.deepcopy(data))
    assert m is not None, diags
    return m


def by_role(spec: str) -> dict[str, list[Fact]]:
    out: dict[str, list[Fact]] = {}
    for f in extract(spec):
        out.setdefault(f.role, []).append(f)
    return out


def test_facts_have_values_pint_units_roles_words_and_what_they_refer_to() -> None:
    facts = by_role(BANK)
    assert [(f.value, f.unit) for f in facts["arrival_rate"]] == [(10, "1/hour")]  # "10 an hour": a rate
    assert facts["arrival_rate"][0].text == "10 an hour" and facts["arrival_rate"][0].refers_to == "customers"
    assert facts["arrival_rate"][0].quantity().to("1/minute").magnitude == pytest.approx(1 / 6)  # pint does the units
    assert [(f.value, f.refers_to) for f in facts["servers"]] == [(3, "tellers")]  # a word number
    assert [f.value for f in facts["queue_limit"]] == [5]  # "room for 5"
    assert sorted(f.value for f in facts["share"]) == [0.3, 0.7]  # percentages are shares
    assert [(f.value, f.unit) for f in facts["service"]] == [(15, "minute"), (2, "minute")]  # times, not rates
    assert [(f.value, f.unit) for f in facts["horizon"]] == [(8, "hour")]
    assert [f.value for f in facts["replications"]] == [10]
    assert BANK[facts["horizon"][0].start:facts["horizon"][0].end] == "8 hours"  # the span is the words


def test_interarrival_times_warmup_and_horizon_are_told_apart() -> None:
    facts = by_role("Trucks arrive every 6 minutes; unloading takes exactly 4 minutes. Run for 2 days after a "
                    "warm-up of 300 minutes, seed 7.")
    assert [(f.value, f.unit, f.text) for f in facts["interarrival"]] == [(6, "minute", "arrive every 6 minutes")]
    assert [(f.value, f.unit) for f in facts["service"]] == [(4, "minute")]
    assert [(f.value, f.unit) for f in facts["horizon"]] == [(2, "day")]
    assert [(f.value, f.unit) for f in facts["warmup"]] == [(300, "minute")]
    assert [f.value for f in facts["seed"]] == [7]


def test_continuous_facts_read_units_rate_constants_and_initial_values() -> None:
    facts = by_role(TANK + " The level starts at 2 m; growth is 3% of the stock per year; K = 1000.")
    assert [(f.value, f.unit) for f in facts["initial"]] == [(100, "liter"), (2, "meter")]
    assert (5, "liter/minute") in [(f.value, f.unit) for f in facts["parameter"]]
    assert [(f.value, f.unit) for f in facts["rate_constant"]] == [(0.1, "1/minute"), (0.03, "1/year")]
    assert (1000, "") in [(f.value, f.unit) for f in facts["parameter"]]
    assert [(f.value, f.unit) for f in facts["horizon"]] == [(2, "hour")]


def test_a_variable_after_a_number_is_no_unit_and_a_confidence_level_is_no_share() -> None:
    facts = by_role("The atoms N decay: dN/dt = -0.1 N. Simulate 30 s.")
    assert [(f.value, f.unit) for f in facts["parameter"]] == [(0.1, "")]  # N is the state, not newtons
    assert "share" not in by_role("Customers arrive every 4 minutes; report a 95% confidence interval of the wait.")


def test_the_check_does_not_fire_on_a_model_that_carries_every_fact() -> None:
    with rules.collect() as fired:
        assert facts_carried(BANK, model(BANK_MODEL)) == []
        assert facts_carried(TANK, model(TANK_MODEL)) == []
    assert fired == []
    same = copy.deepcopy(BANK_MODEL)  # 10 an hour written as a mean of 6 minutes: the same fact
    same["sources"][0]["interarrival"] = {"dist": "exponential", "mean": 6}
    same["run"] = {"horizon": 8, "unit": "hour", "replications": 10}  # 8 hours written in hours
    assert facts_carried(BANK, model(same)) == []
    assert agreement(BANK, model(same)) == 1.0


@pytest.mark.parametrize(("edit", "words", "where"), [
    (lambda d: d["sources"][0]["interarrival"].pop("unit"), '"10 an hour" (arrival rate 10 1/hour)', "no source"),
    (lambda d: d["resources"][0].update(capacity=2), '"three tellers" (servers 3)', "no resource"),
    (lambda d: d["activities"][0].update(next=[{"to": "cash", "p": 1}]), '"30%" (share 0.3)', "no route"),
    (lambda d: d["resources"][0].pop("max_queue"), '"room for 5 customers" (waiting places 5)', "max_queue"),
    (lambda d: d["activities"][0]["duration"].update(unit="hour"), '"15 minutes" (service time 15 minute)', "no activity"),
    (lambda d: d["run"].update(horizon=8), '"8 hours" (horizon 8 hour)', "run.horizon is 8 minute"),
])
def test_the_check_fires_once_per_fact_not_carried_naming_the_words_and_the_place(edit, words, where) -> None:
    data = copy.deepcopy(BANK_MODEL)
    edit(data)
    with rules.collect() as fired:
        diags = facts_carried(BANK, model(data))
    assert fired == ["sim.facts-carried"]
    assert len(diags) >= 1 and all(d.code == "fact-missing" for d in diags)
    assert words in diags[0].message and where in diags[0].message
    assert agreement(BANK, model(data)) < 1.0


def test_the_message_names_the_interarrival_as_it_is_now() -> None:
    spec = "Customers arrive every 4 minutes; one clerk serves each in 3 minutes. Simulate 100 minutes."
    data = {"kind": "process", "time_unit": "minute", "resources": [{"id": "clerk"}],
            "sources": [{"id": "c", "interarrival": {"mean": 6}, "next": [{"to": "s", "p": 1}]}],
            "activities": [{"id": "s", "resource": "clerk", "duration": {"mean": 3}, "next": [{"to": "exit", "p": 1}]}],
            "run": {"horizon": 100}}
    [diag] = facts_carried(spec, model(data))
    assert diag.message == ('the description\'s "arrive every 4 minutes" (interarrival 4 minute) is carried by no source '
                            "(4 minute): sources[0].interarrival is exponential mean 6 minute")


def test_a_rate_constant_in_another_time_unit_is_not_carried() -> None:
    wrong = copy.deepcopy(TANK_MODEL)
    wrong["parameters"][1]["unit"] = "1/hour"  # 0.1 per hour is not 0.1 per minute
    [diag] = facts_carried(TANK, model(wrong))
    assert '"0.1 per minute" (rate constant 0.1 1/minute)' in diag.message


def test_switched_off_the_loop_uses_the_old_wording_checks() -> None:
    from conceptwright.prompts.profiles import profile_for
    from conceptwright.targets.sim import SimJob

    job = SimJob(BANK, profile_for("scripted"))
    wrong = copy.deepcopy(BANK_MODEL)
    wrong["activities"][0]["next"] = [{"to": "cash", "p": 1}]
    assert {d.code for d in job.description_checks(model(wrong))} == {"fact-missing"}
    with rules.disabled({"sim.facts-carried"}):
        assert {d.code for d in job.description_checks(model(wrong))} == {"probability-missing"}
    assert job.agreement(Outcome(conceptual=BANK_MODEL)) == 1.0
    assert job.agreement(Outcome(conceptual=wrong)) < 1.0
    assert job.agreement(Outcome(conceptual=None)) == 0.0


def test_the_replay_eval_compares_old_checks_and_facts(tmp_path) -> None:
    import argparse

    from evals.sim_facts import main

    out = tmp_path / "sim-facts.md"
    assert main(argparse.Namespace(cases=None, out=str(out), json=str(tmp_path / "r.json"))) == 0
    text = out.read_text()
    assert "| references with a false alarm | 0/16 | 0/16 |" in text
    assert "variants caught" in text and "a dropped route share" in text


def test_a_level_or_target_in_percent_is_no_route_share() -> None:
    spec = "Customers arrive every 4 minutes; keep the teller's utilisation below 80%; 25% of customers leave."
    assert [f.value for f in extract(spec) if f.role == "share"] == [0.25]


def test_an_edit_states_its_new_values_not_the_ones_it_replaces() -> None:
    assert [(f.role, f.value, f.unit) for f in extract("Simulate 12 hours instead of 8.")] == [("horizon", 12, "hour")]
    assert [(f.value, f.unit) for f in extract("Increase the inflow from 2 to 3 L per minute.")] == [(3, "liter/minute")]
