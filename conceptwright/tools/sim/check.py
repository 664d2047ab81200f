"""Checks on a conceptual sim model that need no run: references, routing probabilities,
distributions, run settings, expressions (sympy), undefined names, algebraic loops and
units (pint). Each diagnostic names the element (``obj``) and field (``feature``) at fault."""
from __future__ import annotations

import re

import sympy as sp

from collections import Counter

import pint

from ...compilers.sim.continuous import AnalysisError, analyse, declared
from ...compilers.sim.expressions import RESERVED, ExpressionError, parse, parse_condition, valid_identifier
from ...compilers.sim.model import EXIT, ContinuousModel, Distribution, ProcessModel
from ...compilers.sim.queueing import arrival_rates, loads, mean_time
from ...compilers.sim.units import UnitError, dimension, is_time, parse_unit, same, show
from ...compilers.sim.spec import description_times, rate_check, sure_kind
from ...core.diagnostics import Diagnostic, errors
from ...core import rules
from ...core.rules import check as rule_check

PROB_TOL = 1e-3
MAX_ENTITIES = 2_000_000  # arrivals over all replications the sandbox can simulate in time
MAX_STEPS = 200_000


def check(model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
    return check_process(model) if isinstance(model, ProcessModel) else check_continuous(model)


def _ids(ids: list[str], diags: list[Diagnostic], reserved: frozenset[str] = frozenset()) -> None:
    for name, n in Counter(ids).items():
        if n > 1:
            diags.append(Diagnostic(code="duplicate-id", obj=name, message=f"{n} elements have the id '{name}': give each a unique id"))
    for name in ids:
        if not valid_identifier(name) or name in reserved:
            diags.append(Diagnostic(code="bad-id", obj=name, message=f"'{name}' cannot be an id: use letters, digits and _ "
                                    f"(not starting with a digit), and none of {', '.join(sorted(reserved)) or 'the keywords'}"))


# --- process models -------------------------------------------------------------------


def _dist(d: Distribution, obj: str, feature: str, time_unit: str, diags: list[Diagnostic]) -> None:
    def bad(msg: str) -> None:
        diags.append(Diagnostic(code="bad-distribution", obj=obj, feature=feature, message=msg))

    if d.unit:
        try:
            if not is_time(d.unit):
                bad(f"unit '{d.unit}' is not a time unit: use s, minute, hour or day (a rate's unit is per that time)")
                return
        except UnitError as exc:
            bad(str(exc))
            return
    nums = [v for v in (d.mean, d.rate, d.low, d.mode, d.high, d.sd) if v is not None]
    if any(v < 0 for v in nums):
        bad("times and rates cannot be negative")
    elif d.dist == "exponential" and not ((d.mean or 0) > 0 or (d.rate or 0) > 0):
        bad('an exponential distribution needs "mean" > 0 (or "rate" > 0, events per time unit)')
    elif d.dist == "exponential" and d.mean is not None and d.rate is not None and abs(d.mean * d.rate - 1) > 1e-6:
        bad(f'"mean" {d.mean:g} and "rate" {d.rate:g} disagree (mean = 1/rate): give only one of them')
    elif d.dist == "constant" and d.mean is None:
        bad('a constant duration needs "mean" (its value)')
    elif d.dist == "constant" and feature == "interarrival" and not (d.mean or 0) > 0:
        bad('a constant time between arrivals must be > 0')
    elif d.dist == "uniform" and not (d.low is not None and d.high is not None and d.low < d.high):
        bad('a uniform distribution needs "low" < "high"')
    elif d.dist == "triangular" and not (None not in (d.low, d.mode, d.high) and d.low <= d.mode <= d.high and d.low < d.high):  # type: ignore[operator]
        bad('a triangular distribution needs "low" <= "mode" <= "high" (low < high)')
    elif d.dist in ("normal", "lognormal") and (d.mean is None or d.sd is None or (d.dist == "lognormal" and not d.mean > 0)):
        bad(f'a {d.dist} distribution needs "mean" and "sd"' + (" (mean > 0)" if d.dist == "lognormal" else ""))


def _routes(eid: str, routes: list, targets: set[str], diags: list[Diagnostic], is_source: bool,
            resources: frozenset[str] = frozenset()) -> None:
    if not routes:
        if is_source:
            diags.append(Diagnostic(code="no-destination", obj=eid, feature="next",
                                    message=f'source {eid} sends its entities nowhere: add "next": [{{"to": "<activity id>", "p": 1}}]'))
        return
    for r in routes:
        # a route to a resource (or "agent" for resource "agents") instead of the activity that uses it
        like = r.to if r.to in resources else next((x for x in resources if x.lower().rstrip("s") == r.to.lower().rstrip("s")), None)
        if r.to not in targets and like:
            what = "a resource" if like == r.to else f"like resource {like}"
            diags.append(Diagnostic(code="unknown-reference", obj=eid, feature="next",
                                    message=f"{eid}.next goes to '{r.to}', which is {what}, not an activity: add the activity "
                                            f"that uses it, e.g. {{\"id\": \"{r.to}\", \"resource\": \"{like}\", "
                                            "\"duration\": {...its service time...}, \"next\": [{\"to\": \"exit\", \"p\": 1}]}"))
        elif r.to not in targets:
            diags.append(Diagnostic(code="unknown-reference", obj=eid, feature="next",
                                    message=f"{eid}.next goes to '{r.to}', which is not an activity: use one of "
                                            f"{', '.join(sorted(targets))}"))
        if not 0 <= r.p <= 1:
            diags.append(Diagnostic(code="routing-probabilities", obj=eid, feature="next",
                                    message=f"probability {r.p:g} of {eid} -> {r.to} is not between 0 and 1"))
    total = sum(r.p for r in routes)
    if abs(total - 1) > PROB_TOL:
        listed = " + ".join(f"{r.p:g} ({r.to})" for r in routes)
        diags.append(Diagnostic(code="routing-probabilities", obj=eid, feature="next",
                                message=f"the routing probabilities of {eid} sum to {total:g} ({listed}), not 1: every "
                                        f"entity leaving {eid} must go somewhere; add the missing route (e.g. to "
                                        f"'{EXIT}') or correct the probabilities"))


def check_process(model: ProcessModel) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    # sources and activities share the routing table; resources have their own names
    _ids([e.id for e in (*model.sources, *model.activities)], diags, frozenset({EXIT}))
    _ids([r.id for r in model.resources], diags, frozenset({EXIT}))
    try:
        if not is_time(model.time_unit):
            diags.append(Diagnostic(code="bad-unit", feature="time_unit", message=f"time_unit '{model.time_unit}' is not a time unit: use minute, hour, s or day"))
            return diags
    except UnitError as exc:
        diags.append(Diagnostic(code="bad-unit", feature="time_unit", message=str(exc)))
        return diags
    if not model.sources:
        diags.append(Diagnostic(code="no-source", message="the model has no source: add one with its interarrival distribution"))
    if not model.activities:
        diags.append(Diagnostic(code="no-activity", message="the model has no activity: add what the entities do (with the resource it holds and its duration)"))
    acts = {a.id for a in model.activities}
    res = {r.id for r in model.resources}
    targets = acts | {EXIT}
    for s in model.sources:
        _dist(s.interarrival, s.id, "interarrival", model.time_unit, diags)
        _routes(s.id, s.next, targets, diags, True, frozenset(res))
        if s.limit is not None and s.limit < 1:
            diags.append(Diagnostic(code="bad-value", obj=s.id, feature="limit", message="limit (most arrivals) must be at least 1, or left out"))
    for r in model.resources:
        if r.capacity < 1:
            diags.append(Diagnostic(code="bad-value", obj=r.id, feature="capacity", message=f"capacity of {r.id} must be at least 1 (number of servers)"))
        if r.max_queue is not None and r.max_queue < 0:
            diags.append(Diagnostic(code="bad-value", obj=r.id, feature="max_queue", message="max_queue (waiting places) must be 0 or more, or left out for an unlimited queue"))
    for a in model.activities:
        if a.resource is not None and a.resource not in res:
            diags.append(Diagnostic(code="unknown-reference", obj=a.id, feature="resource",
                                    message=f"activity {a.id} uses resource '{a.resource}', which is not declared: "
                                            f"use one of {', '.join(sorted(res)) or '(none declared: add it to resources)'}"))
        _dist(a.duration, a.id, "duration", model.time_unit, diags)
        if a.duration.mean_value() == 0:
            diags.append(Diagnostic(code="zero-duration", obj=a.id, feature="duration", message=f"activity {a.id} takes no time: "
                                    "waiting in a queue happens by itself before an activity starts; an activity is the service, "
                                    "with the service time as its duration"))
        _routes(a.id, a.next, targets, diags, False, frozenset(res))
    run = model.run
    if run.unit and run.unit != model.time_unit:  # parsing could not convert it
        diags.append(Diagnostic(code="bad-unit", obj="run", feature="unit", message=f"run.unit '{run.unit}' is not a time "
                                "unit: use minute, hour, day or week, or leave it out (horizon in time_unit)"))
    if not run.horizon > 0:
        diags.append(Diagnostic(code="bad-run", obj="run", feature="horizon", message="horizon (simulated time) must be > 0"))
    elif not 0 <= run.warmup < run.horizon:
        diags.append(Diagnostic(code="bad-run", obj="run", feature="warmup", message=f"warmup must be >= 0 and shorter than the horizon ({run.horizon:g})"))
    if not 1 <= run.replications <= 1000:
        diags.append(Diagnostic(code="bad-run", obj="run", feature="replications", message="replications must be between 1 and 1000"))
    elif run.replications < 2:
        diags.append(Diagnostic(code="one-replication", severity="warning", obj="run", feature="replications",
                                message="one replication gives no confidence interval: use 10 or more"))
    if bool(errors(diags)):
        return diags
    diags += _flow_structure(model)
    return diags


def _flow_structure(model: ProcessModel) -> list[Diagnostic]:
    """Reachability, a way out, unused resources, load and the work the run asks for."""
    diags: list[Diagnostic] = []
    graph = {e.id: [r.to for r in e.next if r.p > 0] or [EXIT] for e in (*model.sources, *model.activities)}
    reached: set[str] = set()
    todo = [t for s in model.sources for t in graph[s.id]]
    while todo:
        n = todo.pop()
        if n != EXIT and n not in reached:
            reached.add(n)
            todo += graph[n]
    for a in model.activities:
        if a.id not in reached:
            diags.append(Diagnostic(code="unreachable", severity="warning", obj=a.id, message=f"no entity ever reaches activity {a.id}: route a source or activity to it"))
    for a in model.activities:  # can an entity in a get out?
        seen, todo, out = set(), [a.id], False
        while todo and not out:
            n = todo.pop()
            if n == EXIT:
                out = True
            elif n not in seen:
                seen.add(n)
                todo += graph[n]
        if not out:
            diags.append(Diagnostic(code="no-exit", obj=a.id, feature="next", message=f"entities at {a.id} can never leave "
                                    f"the system (the routes loop forever): give a route to '{EXIT}'"))
    used = {a.resource for a in model.activities}
    for r in model.resources:
        if r.id not in used:
            diags.append(Diagnostic(code="unused-resource", obj=r.id, message=f"no activity uses resource {r.id}: every resource is "
                                    "held by an activity; waiting places (chairs, a waiting room, a buffer) are not a resource but "
                                    "the \"max_queue\" of the resource the entities wait for"))
    if bool(errors(diags)):
        return diags
    for rid, rho in loads(model).items():
        if rho >= 1 and next(r for r in model.resources if r.id == rid).max_queue is None:
            diags.append(Diagnostic(code="unstable", severity="warning", obj=rid, message=f"offered load per server of {rid} "
                                    f"is {rho:.2f} >= 1: its queue grows without bound (check capacity, durations and arrival rates)"))
    arrivals = 0.0
    for s in model.sources:
        m = mean_time(s.interarrival, model.time_unit) or 0.0
        n = model.run.horizon / m if m > 0 else float("inf")
        arrivals += min(n, s.limit) if s.limit else n
    visits = max(1.0, sum(arrival_rates(model).values()) / max(1e-12, sum(
        1 / (mean_time(s.interarrival, model.time_unit) or 1e-12) for s in model.sources)))
    work = arrivals * visits * model.run.replications
    if work > MAX_ENTITIES:
        diags.append(Diagnostic(code="too-long", obj="run", message=f"the run would simulate about {work:.3g} entity visits "
                                f"(horizon {model.run.horizon:g} {model.time_unit} x {model.run.replications} replications): "
                                f"keep it under {MAX_ENTITIES:.0e}: check the time unit of interarrival means and the horizon"))
    return diags


# --- continuous models ----------------------------------------------------------------


def check_continuous(model: ContinuousModel) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    _ids(model.element_ids(), diags, RESERVED)
    if not model.state_vars():
        diags.append(Diagnostic(code="no-state", message="the model has no stock or state: add what accumulates "
                                "(a stock with flows, or a state with its derivative 'der')"))
    stocks = {s.id for s in model.stocks}
    states = {s.id for s in model.state_vars()}
    for f in model.flows:
        if f.from_ is None and f.to is None:
            diags.append(Diagnostic(code="dangling-flow", obj=f.id, message=f'flow {f.id} connects no stock: give "from" '
                                    'and/or "to" (a stock id)'))
        if f.from_ is not None and f.from_ == f.to:
            diags.append(Diagnostic(code="self-flow", obj=f.id, message=f"flow {f.id} goes from {f.from_} to {f.to}: it "
                                    f"removes what it adds, so it changes nothing; an inflow has only \"to\": "
                                    f"\"{f.from_}\", an outflow only \"from\": \"{f.from_}\""))
        for end, sid in (("from", f.from_), ("to", f.to)):
            if sid is not None and sid not in stocks:
                diags.append(Diagnostic(code="unknown-reference", obj=f.id, feature=end, message=f"flow {f.id} {end} '{sid}' "
                                        f"is not a stock: use one of {', '.join(sorted(stocks)) or '(no stocks: add one)'}"))
    params = {p.id: p.value for p in model.parameters}
    for s in model.states:
        m = re.fullmatch(r"d_?([A-Za-z]\w*?)(?:_?dt)?", s.id)
        if m and m.group(1) in params:
            x = m.group(1)
            diags.append(Diagnostic(code="state-is-derivative", obj=s.id, feature="id", message=f"state {s.id} looks like "
                                    f"the derivative of {x}: a state is the quantity itself, with its starting value and its "
                                    f"derivative in \"der\": replace state {s.id} by {{\"id\": \"{x}\", \"initial\": "
                                    f"{params[x]:g}, \"der\": \"<d{x}/dt as the description gives it>\"}} and remove "
                                    f"parameter {x}"))
    for s in model.state_vars():
        if s.non_negative and s.initial < 0:
            diags.append(Diagnostic(code="negative-stock", obj=s.id, feature="initial", message=f"{s.id} is declared non-negative but starts at {s.initial:g}"))
    static = not model.flows and not model.states  # nothing in the model can change
    for s in model.stocks:
        if not any(s.id in (f.from_, f.to) for f in model.flows):
            derivative = next((p for p in params if re.fullmatch(rf"d_?{re.escape(s.id)}(?:_?dt)?", p)), None)
            hint = (f"; parameter {derivative} looks like its derivative: add the flow that {derivative} describes, or "
                    f"write {s.id} as a state with \"der\": \"<d{s.id}/dt as the description gives it>\"" if derivative else
                    ": add its inflows (\"to\") and outflows (\"from\")")
            diags.append(Diagnostic(code="no-flows", severity="error" if static else "warning", obj=s.id,
                                    message=f"stock {s.id} has no flows, so it never changes" + hint))
    names = declared(model)
    parse_errors = []
    items = [(f.id, "rate", f.rate) for f in model.flows] + [(a.id, "equation", a.equation) for a in model.auxiliaries] + \
            [(s.id, "der", s.der) for s in model.states]
    for obj, feat, text in items:
        try:
            parse(text, names)
        except ExpressionError as exc:
            parse_errors.append(Diagnostic(code="bad-expression", obj=obj, feature=feat, message=str(exc)))
    for i, ev in enumerate(model.events):
        try:
            parse_condition(ev.when, names)
        except ExpressionError as exc:
            parse_errors.append(Diagnostic(code="bad-expression", obj=f"events/{i}", feature="when", message=str(exc)))
        for a in ev.set:
            if a.var not in states:
                diags.append(Diagnostic(code="unknown-reference", obj=f"events/{i}", feature="set", message=f"an event can set "
                                        f"only a stock or state; '{a.var}' is neither ({', '.join(sorted(states))})"))
            try:
                parse(a.value, names)
            except ExpressionError as exc:
                parse_errors.append(Diagnostic(code="bad-expression", obj=f"events/{i}", feature="set", message=str(exc)))
        if not ev.stop and not ev.set:
            diags.append(Diagnostic(code="empty-event", obj=f"events/{i}", message='an event must "stop" the run or "set" a state'))
    diags += parse_errors
    t = model.time
    if not t.stop > t.start:
        diags.append(Diagnostic(code="bad-time", obj="time", feature="stop", message=f"time.stop ({t.stop:g}) must be after time.start ({t.start:g})"))
    elif t.dt is not None and not t.dt > 0:
        diags.append(Diagnostic(code="bad-time", obj="time", feature="dt", message="time.dt (the step) must be > 0"))
    elif (t.stop - t.start) / t.step() > MAX_STEPS:
        diags.append(Diagnostic(code="too-many-steps", obj="time", feature="dt", message=f"{(t.stop - t.start) / t.step():.3g} steps "
                                f"of {t.step():g}: use a step of at least {(t.stop - t.start) / MAX_STEPS:.3g} {model.time_unit}"))
    if not parse_errors and not any(d.code in ("duplicate-id", "bad-id") for d in diags):
        try:
            analyse(model)
        except AnalysisError as exc:
            diags.append(Diagnostic(code=exc.code, obj=exc.obj, feature=exc.feature, message=str(exc)))
        else:
            diags += check_units(model)
    return diags


def check_units(model: ContinuousModel) -> list[Diagnostic]:
    """Declared units readable; a flow is its stock's unit per time unit; each expression's
    dimension (from its symbols' units) matches the unit declared for its result."""
    diags: list[Diagnostic] = []
    try:
        if not is_time(model.time_unit):
            return [Diagnostic(code="bad-unit", feature="time_unit", message=f"time_unit '{model.time_unit}' is not a time unit: use s, minute, hour, day or year")]
    except UnitError as exc:
        return [Diagnostic(code="bad-unit", feature="time_unit", message=str(exc))]
    per_time = 1 / parse_unit(model.time_unit)
    units: dict[str, pint.Quantity | None] = {"t": parse_unit(model.time_unit)}
    for e in (*model.parameters, *model.stocks, *model.flows, *model.states, *model.auxiliaries):
        try:
            units[e.id] = parse_unit(e.unit)
        except UnitError as exc:
            units[e.id] = None
            diags.append(Diagnostic(code="bad-unit", obj=e.id, feature="unit", message=str(exc)))
    stock_unit = {s.id: units[s.id] for s in model.stocks}
    flagged: set[str] = set()
    for f in model.flows:  # the flow's declared unit against each stock it touches
        for sid in (f.from_, f.to):
            su, fu = stock_unit.get(sid or ""), units.get(f.id)
            if su is None or fu is None:
                continue
            want = su * per_time
            if not same(fu, want) and f.id not in flagged:
                flagged.add(f.id)
                diags.append(Diagnostic(code="unit-mismatch", obj=f.id, feature="unit", message=f"flow {f.id} is in "
                                        f"{show(fu)} but stock {sid} is in {show(su)}, so its flows must be in "
                                        f"{show(want)} (stock unit per {model.time_unit})"))
    names = declared(model)
    targets: list[tuple[str, str, str, pint.Quantity | None, str]] = []
    for f in model.flows:
        if f.id in flagged:
            continue
        want = units.get(f.id)
        if want is None:
            s = stock_unit.get(f.to or "") or stock_unit.get(f.from_ or "")
            want = s * per_time if s is not None else None
        targets.append((f.id, "rate", f.rate, want, "flow"))
    for a in model.auxiliaries:
        targets.append((a.id, "equation", a.equation, units.get(a.id), "auxiliary"))
    for s in model.states:
        u = units.get(s.id)
        targets.append((s.id, "der", s.der, u * per_time if u is not None else None, "derivative"))
    for obj, feat, text, want, what in targets:
        try:
            expr = parse(text, names)
            if not expr.free_symbols:  # a bare constant is read in the unit declared for its result
                continue
            got = dimension(expr, units)
        except UnitError as exc:
            diags.append(Diagnostic(code="unit-mismatch", obj=obj, feature=feat, message=f"in '{text}': {exc}"))
            continue
        if got is None or want is None:
            continue
        if got.dimensionality != want.dimensionality or not same(got, want):
            # a number written inline (0.1*volume) may carry the missing unit: warn, do not fail
            literal = any(n.is_number and abs(n) not in (0, 1, 2, sp.Rational(1, 2)) for n in expr.atoms(sp.Number))
            diags.append(Diagnostic(code="unit-mismatch", obj=obj, feature=feat, severity="warning" if literal else "error",
                                    message=f"the {what} '{text}' of {obj} comes out in {show(got)} but must be in "
                                    f"{show(want)}: check the units of the parameters it uses, or the expression"
                                    + ("; give inline numbers their own parameter with a unit" if literal else "")))
    return diags


@rule_check("sim", "description-times", "a time or rate of the description that no number of the model carries, or a rate that lost its unit")
def spec_numbers(spec: str, model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
    """Times and rates of the description that no number of the model carries (a duration or
    rate is missing or wrong), and rates that lost their unit ("30 per hour" written as 30 per minute)."""
    diags = []
    for m, per, carried in description_times(spec, model):
        x = float(m.group(1))
        if isinstance(model, ProcessModel) and per and carried:
            diags += rate_check(model, x, per)
        elif not carried:
            diags.append(Diagnostic(code="number-missing", message=f"the description says \"{m.group(0).strip()}\" but no number "
                                    f"of the model is {x:g} (or {x:g} converted to the model's time unit): a duration, rate or "
                                    "time setting is missing or wrong" + _duration_hint(spec, model, m)))
    return diags


_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent\b)(?!\s*(?:confidence|CI\b))", re.I)


@rule_check("sim", "description-shares", "a share of the description (\"30%\") that no route probability carries")
def percent_routes(spec: str, model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
    """"30% go on to the specialist": some route has p 0.3 (a share of a process description is a routing)."""
    if not isinstance(model, ProcessModel):
        return []
    ps = [r.p for e in (*model.sources, *model.activities) for r in e.next]
    diags = []
    for x in dict.fromkeys(float(m.group(1)) for m in _PERCENT.finditer(spec)):
        if 0 < x < 100 and not any(abs(p - x / 100) < 1e-6 for p in ps):
            diags.append(Diagnostic(code="probability-missing", message=f"the description says {x:g}% but no route has "
                                    f"p {x / 100:g}: where entities split, the activity before the split has \"next\": "
                                    f"[{{\"to\": \"<activity>\", \"p\": {x / 100:g}}}, {{\"to\": \"<other activity or exit>\", "
                                    f"\"p\": {1 - x / 100:g}}}]"))
    return diags


_UNIT_WORD = re.compile(r"(second|sec|minute|min|hour|hr|day|week)s?\b", re.I)


def _duration_hint(spec: str, model: ProcessModel | ContinuousModel, m: re.Match[str]) -> str:
    """A missing "4.5 minutes" and an activity that takes no time: most likely its service time."""
    if not isinstance(model, ProcessModel) or "per" in m.group(0).lower().split():
        return ""
    idle = [a for a in model.activities if a.duration.mean_value() == 0]
    unit = _UNIT_WORD.search(m.group(0))
    if not idle or not unit:
        return ""
    dist = "exponential" if re.search(r"exponential|poisson|at random", spec, re.I) else "constant"
    duration = f'{{"dist": "{dist}", "mean": {float(m.group(1)):g}, "unit": "{unit.group(1).lower()}"}}'
    a = idle[0]
    after = a.next[0].to if len(a.next) == 1 else None
    if after and after != "exit" and after not in {x.id for x in model.activities}:  # queue -> (missing) service
        return (f"; it is probably the service time of '{after}', where {a.id} sends its entities: add that activity, "
                f'{{"id": "{after}", "resource": "{a.resource or "..."}", "duration": {duration}, "next": '
                '[{"to": "exit", "p": 1}]}')
    return f"; it is probably the service time of activity {a.id}, which takes no time now: \"duration\": {duration}"


@rule_check("sim", "description-kind", "a model of the other kind than the description plainly needs")
def kind_check(spec: str, model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
    """A process model of a description with no entities, queues or servers (or the reverse)."""
    kind, sure = model.kind, sure_kind(spec)
    if sure is None or sure == kind:
        return []
    why = ("it speaks of no entities that arrive, queue and are served, but of quantities that change over time: "
           'write {"kind": "continuous", ...} with stocks and flows, or states with "der"' if sure == "continuous" else
           'it speaks of entities that arrive, wait and are served: write {"kind": "process", ...} with sources, '
           "resources and activities")
    return [Diagnostic(code="kind-mismatch", feature="kind", message=f'this is a "{kind}" model, but the description '
                       f"needs a \"{sure}\" model: {why}")]


STEP_ASKED_FOR = rules.register("sim", "description-step", "check", "Euler with the step the description gives: "
                                "a step-sensitive result is a warning, not an error", reads_description=True)


def step_asked_for(spec: str, model: ProcessModel | ContinuousModel, diags: list[Diagnostic]) -> list[Diagnostic]:
    """Euler with the step the description gives: if halving it changes the results, that is the
    description's choice, so a warning rather than an error the LLM cannot repair."""
    if not rules.is_on(STEP_ASKED_FOR.name) or not any(d.code == "step-sensitive" for d in diags):
        return diags
    if not isinstance(model, ContinuousModel) or model.time.method != "Euler" or "euler" not in spec.lower():
        return diags
    if not any(abs(float(x) - model.time.step()) < 1e-12 for x in re.findall(r"\d+(?:\.\d+)?", spec)):
        return diags
    rules.record(STEP_ASKED_FOR)
    return [d.model_copy(update={"severity": "warning", "message": d.message + " (kept: the description asks for Euler "
                                 "with this step)"}) if d.code == "step-sensitive" else d for d in diags]
