"""JSON data -> a conceptual sim model, with the shape fixes that are certain.

Certain fixes (recorded, no LLM call): a missing ``kind`` told by the keys present;
routing written as a bare id or a list of ids; ``end``/``sink``/``out`` read as ``exit``;
distribution and method names in another spelling; empty ``from``/``to`` of a flow;
references that match an element's id but for case; an ``exit`` route with p 1 written
beside routes that already sum to 1 (``[B: 1, exit: 1]`` means "to B, then it leaves"); an
activity that takes no time and leads to an activity on the same resource (the queue in front
of it, which forms by itself) is removed; the only activity routing to a name no element has
leads to ``exit`` (there is nowhere else to go) unless it takes no time (a queue) or a resource
other than waiting places is used by no activity (then the name is the missing service); a parameter with the id of a
flow or auxiliary is renamed (``withdrawal`` -> ``withdrawal_rate``) where expressions use it; the
rate constant of a flow ``k*stock`` declared in the flow's unit is per time.
"""
from __future__ import annotations

import keyword
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ...core.jsonschema import drop_nulls
from ...core.diagnostics import Diagnostic
from .expressions import ExpressionError, parse, rename
from .model import EXIT, ContinuousModel, ProcessModel, SimModel
from .units import UnitError, parse_unit, same, time_factor
from ...core.rules import fix

# ids of resources that are waiting places rather than servers ("waiting_chairs", "buffer")
PLACES = re.compile(r"chair|seat|wait|buffer|room|queue|space|place|spot|slot|bench", re.I)
_ADAPTER: TypeAdapter[ProcessModel | ContinuousModel] = TypeAdapter(SimModel)
_EXIT_ALIASES = {"exit", "end", "sink", "out", "leave", "leaves", "depart", "departure", "done", "system exit", "none", ""}
_OUTSIDE = {"", "none", "null", "outside", "cloud", "environment", "source", "sink"}
_DISTS = {
    "exp": "exponential", "expo": "exponential", "exponential": "exponential", "poisson": "exponential",
    "markovian": "exponential", "m": "exponential", "constant": "constant", "fixed": "constant",
    "deterministic": "constant", "d": "constant", "uniform": "uniform", "triangular": "triangular",
    "triangle": "triangular", "normal": "normal", "gaussian": "normal", "lognormal": "lognormal",
}
_METHODS = {"rk45": "RK45", "euler": "Euler", "lsoda": "LSODA", "radau": "Radau", "rk": "RK45", "runge-kutta": "RK45"}
_PROCESS_KEYS = ("sources", "resources", "activities")
_CONTINUOUS_KEYS = ("stocks", "flows", "states", "auxiliaries", "parameters")
SHAPE_HINT = {
    "process": 'A process model is {"kind": "process", "name", "time_unit", "sources": [{"id", "interarrival": '
               '{"dist", "mean"}, "next": [{"to", "p"}]}], "resources": [{"id", "capacity"}], "activities": '
               '[{"id", "resource", "duration": {"dist", "mean"}, "next": [{"to", "p"}]}], "run": {"horizon", '
               '"replications", "seed"}}.',
    "continuous": 'A continuous model is {"kind": "continuous", "name", "time_unit", "parameters": [{"id", "value", '
                  '"unit"}], "stocks": [{"id", "initial", "unit"}], "flows": [{"id", "from", "to", "rate"}], '
                  '"states": [{"id", "initial", "der"}], "auxiliaries": [{"id", "equation"}], "time": {"stop", "dt"}}.',
}


@fix("sim", "route-shape", "routes written as a name, a dict or without p are put in the list-of-routes shape")
def _routes(value: Any, where: str, fixes: list[str]) -> Any:
    if isinstance(value, str):
        fixes.append(f"{where}: read next '{value}' as [{{\"to\": \"{value}\", \"p\": 1}}]")
        value = [{"to": value, "p": 1.0}]
    if isinstance(value, dict) and "to" in value:
        value = [value]
    if not isinstance(value, list):
        return value
    out = []
    for r in value:
        if isinstance(r, str):
            fixes.append(f"{where}: read next '{r}' as {{\"to\": \"{r}\"}}")
            r = {"to": r, "p": 1.0 if len(value) == 1 else None}
            r = {k: v for k, v in r.items() if v is not None}
        if isinstance(r, dict):
            r = dict(r)
            if "p" not in r:
                for alias in ("probability", "prob"):
                    if alias in r:
                        r["p"] = r.pop(alias)
            to = r.get("to")
            if isinstance(to, str) and to.strip().lower() in _EXIT_ALIASES and to != EXIT:
                fixes.append(f"{where}: destination '{to}' -> 'exit'")
                r["to"] = EXIT
        out.append(r)
    return out


@fix("sim", "distribution-shape", "a bare number or a dict without dist becomes a distribution")
def _dist(value: Any, where: str, fixes: list[str]) -> Any:
    if isinstance(value, dict) and isinstance(value.get("dist"), str):
        name = value["dist"].strip().lower()
        if name in _DISTS and _DISTS[name] != value["dist"]:
            fixes.append(f"{where}: distribution '{value['dist']}' -> '{_DISTS[name]}'")
            value = {**value, "dist": _DISTS[name]}
    return value


def _normalize_process(d: dict[str, Any], fixes: list[str]) -> None:
    for key in ("sources", "activities"):
        items = d.get(key)
        if not isinstance(items, list):
            continue
        for i, e in enumerate(items):
            if not isinstance(e, dict):
                continue
            where = f"{key}/{e.get('id', i)}"
            if "next" not in e and "to" in e:
                e["next"] = e.pop("to")
            if "next" in e:
                e["next"] = _routes(e["next"], where, fixes)
            res = e.get("resource")
            if key == "activities" and isinstance(res, str) and res.strip().lower() in _OUTSIDE:
                del e["resource"]
                if res.strip():
                    fixes.append(f"{where}: resource '{res}' read as none (a pure delay)")
            for field in ("interarrival", "duration"):
                if field in e:
                    e[field] = _dist(e[field], f"{where}.{field}", fixes)


def _normalize_continuous(d: dict[str, Any], fixes: list[str]) -> None:
    # a parameter restating a stock's or state's initial value under the same id: drop it
    initial = {x.get("id"): x.get("initial") for key in ("stocks", "states") for x in d.get(key) or [] if isinstance(x, dict)}
    params = d.get("parameters")
    if isinstance(params, list):
        kept = []
        for p in params:
            if isinstance(p, dict) and p.get("id") in initial and _same_number(p.get("value"), initial[p.get("id")]):
                fixes.append(f"parameters/{p['id']}: dropped (it restates the initial value of '{p['id']}')")
                continue
            kept.append(p)
        d["parameters"] = kept
    for f in d.get("flows") or []:
        if not isinstance(f, dict):
            continue
        for end in ("from", "to"):
            v = f.get(end)
            if isinstance(v, str) and v.strip().lower() in _OUTSIDE:
                del f[end]
                if v.strip():
                    fixes.append(f"flows/{f.get('id')}: '{end}': '{v}' read as outside the model")
    t = d.get("time")
    if isinstance(t, dict) and isinstance(t.get("method"), str):
        m = _METHODS.get(t["method"].strip().lower())
        if m and m != t["method"]:
            fixes.append(f"time.method '{t['method']}' -> '{m}'")
            t["method"] = m


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


@fix("sim", "json-shape", "a missing kind told by the keys present, and other shapes before pydantic")
def normalize(data: Any) -> tuple[Any, list[str]]:
    """Shape fixes that are certain, before pydantic."""
    fixes: list[str] = []
    data = drop_nulls(data)
    if not isinstance(data, dict):
        return data, fixes
    data = dict(data)
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in ("process", "continuous"):
        guess = None
        low = kind.strip().lower() if isinstance(kind, str) else ""
        if low in ("discrete", "discrete-event", "des", "queue", "queueing") or any(k in data for k in _PROCESS_KEYS):
            guess = "process"
        elif low in ("ode", "system dynamics", "sd", "continuous") or any(k in data for k in _CONTINUOUS_KEYS):
            guess = "continuous"
        if guess:
            fixes.append(f"kind {kind!r} -> '{guess}'" if kind else f"set kind to '{guess}' (told by the keys present)")
            data["kind"] = guess
    for key, items in list(data.items()):  # the same element written twice (small models repeat)
        if isinstance(items, list) and len(items) > 1:
            kept = [x for i, x in enumerate(items) if x not in items[:i]]
            if len(kept) < len(items):
                data[key] = kept
                fixes.append(f"{key}: dropped {len(items) - len(kept)} exact repeat(s)")
    if data.get("kind") == "process":
        _normalize_process(data, fixes)
    elif data.get("kind") == "continuous":
        _normalize_continuous(data, fixes)
    return data, fixes


def _message(err: Any, kind: str | None) -> str:
    loc = "/".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union")))
    loc = re.sub(r"^(process|continuous)/", "", loc)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = f"'{err['loc'][-1]}' is not a field here; remove it or use one of the documented fields"
    hint = SHAPE_HINT.get(kind or "", SHAPE_HINT["process"] + " " + SHAPE_HINT["continuous"])
    return f"{msg} at {loc or 'top level'}. {hint}"


def parse_model(data: Any) -> tuple[ProcessModel | ContinuousModel | None, list[Diagnostic], list[str]]:
    """Validate JSON data as a sim model; diagnostics say what is malformed and where."""
    data, fixes = normalize(data)
    if not isinstance(data, dict):
        return None, [Diagnostic(code="schema-error", message="the reply must be one JSON object with a \"kind\" "
                                 "of \"process\" or \"continuous\"")], fixes
    if data.get("kind") not in ("process", "continuous"):
        return None, [Diagnostic(code="schema-error", feature="kind", message="\"kind\" must be \"process\" (queues, "
                                 "entities, resources) or \"continuous\" (stocks, flows, ODE states)")], fixes
    try:
        model = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        kind = data.get("kind")
        diags = [Diagnostic(code="schema-error", obj="/".join(str(p) for p in e["loc"][1:]) or None,
                            message=_message(e, kind)) for e in exc.errors()[:12]]
        return None, diags, fixes
    fixes += _fix_reference_case(model)
    if isinstance(model, ProcessModel):
        fixes += _drop_extra_exit(model)
        fixes += drop_queue_activities(model)
        fixes += _lone_activity_exits(model)
    if isinstance(model, ProcessModel) and model.run.unit:
        fixes += _convert_run_unit(model)
    if isinstance(model, ContinuousModel):
        fixes += _fix_keyword_ids(model)
        fixes += _fix_parameter_named_like_element(model)
        fixes += _fix_rate_constant_units(model)
    return model, [], fixes


@fix("sim", "extra-exit", "[B: 1, exit: 1] means to B")
def _drop_extra_exit(model: ProcessModel) -> list[str]:
    """``next: [{to: B, p: 1}, {to: exit, p: 1}]``: the routes to activities already sum to 1, so
    the exit route is where entities go after B, not a second choice: it is dropped."""
    fixes: list[str] = []
    for e in (*model.sources, *model.activities):
        onward = [r for r in e.next if r.to != EXIT]
        if onward and len(onward) < len(e.next) and abs(sum(r.p for r in onward) - 1) < 1e-9 \
                and all(r.p == 1 for r in e.next if r.to == EXIT):
            e.next = onward
            fixes.append(f"{e.id}.next: dropped the exit route (p 1) beside routes that already sum to 1")
    return fixes


@fix("sim", "queue-activity", "an activity that takes no time before another on the same resource is the queue in front of it")
def drop_queue_activities(model: ProcessModel) -> list[str]:
    """``queue`` (no time, resource R) -> ``serve`` (resource R): the queue is the wait for R that
    happens by itself before ``serve``; routes to ``queue`` go to ``serve``."""
    fixes: list[str] = []
    acts = {a.id: a for a in model.activities}
    for a in list(model.activities):
        nxt = acts.get(a.next[0].to) if len(a.next) == 1 else None
        if a.duration.mean_value() != 0 or nxt is None or nxt is a or a.resource not in (None, nxt.resource):
            continue
        for e in (*model.sources, *model.activities):
            for r in e.next:
                r.to = nxt.id if r.to == a.id else r.to
        model.activities.remove(a)
        del acts[a.id]
        fixes.append(f"activity {a.id} took no time before {nxt.id} on the same resource: it was the queue in front "
                     f"of {nxt.id}, which forms by itself; removed, its routes go to {nxt.id}")
    return fixes


@fix("sim", "lone-activity-exits", "the only activity routed to a name nothing has exits")
def _lone_activity_exits(model: ProcessModel) -> list[str]:
    """One activity, routed to a name that no source, resource or activity has: it can only exit.
    (A name like a resource's is a missing activity: the checks ask for it.)"""
    if len(model.activities) != 1:
        return []
    a = model.activities[0]
    if a.duration.mean_value() == 0 or any(r.id != a.resource and not PLACES.search(r.id) for r in model.resources):
        return []  # a queue written as an activity, or an unused server: the unknown name is the missing service
    names = {x.id.lower().rstrip("s") for x in (*model.sources, *model.resources, *model.activities)}
    fixes = []
    for r in a.next:
        if r.to != EXIT and r.to.lower().rstrip("s") not in names:
            fixes.append(f"{a.id}.next: '{r.to}' is no element and {a.id} is the only activity: read as 'exit'")
            r.to = EXIT
    return fixes


@fix("sim", "run-unit", "run settings given in another time unit are converted to the model's")
def _convert_run_unit(model: ProcessModel) -> list[str]:
    """horizon/warmup given in their own unit -> the model's time unit (left as is if unreadable)."""
    run = model.run
    if run.unit == model.time_unit:
        return []
    try:
        f = time_factor(run.unit or "", model.time_unit)
    except UnitError:
        return []  # the checks report it
    fix = f"run: horizon {run.horizon:g} {run.unit} -> {run.horizon * f:g} {model.time_unit}"
    run.horizon, run.warmup, run.unit = run.horizon * f, run.warmup * f, model.time_unit
    return [fix]


def _rename_everywhere(model: ContinuousModel, old: str, new: str) -> None:
    """Rename a name in every expression, flow end and event of a continuous model (not element ids)."""
    for f in model.flows:
        f.rate = rename(f.rate, old, new)
        f.from_ = new if f.from_ == old else f.from_
        f.to = new if f.to == old else f.to
    for a in model.auxiliaries:
        a.equation = rename(a.equation, old, new)
    for st in model.states:
        st.der = rename(st.der, old, new)
    for ev in model.events:
        ev.when = rename(ev.when, old, new)
        for a in ev.set:
            a.var = new if a.var == old else a.var
            a.value = rename(a.value, old, new)


@fix("sim", "parameter-named-like-flow", "a parameter with its flow's (or stock's) id is renamed")
def _fix_parameter_named_like_element(model: ContinuousModel) -> list[str]:
    """Parameter ``withdrawal`` (100) and flow ``withdrawal`` (rate ``withdrawal``): the expressions
    mean the parameter (a flow's rate cannot be itself), so the parameter becomes ``withdrawal_rate``."""
    fixes: list[str] = []
    others = {**{a.id: "value" for a in model.auxiliaries}, **{f.id: "rate" for f in model.flows}}
    for p in model.parameters:
        if p.id not in others:
            continue
        new = f"{p.id}_{others[p.id]}"
        if new in model.element_ids():
            continue
        old, p.id = p.id, new
        _rename_everywhere(model, old, new)
        fixes.append(f"parameter '{old}' has the id of a {'flow' if others[old] == 'rate' else 'auxiliary'}: renamed "
                     f"'{new}' where expressions use it")
    return fixes


@fix("sim", "rate-constant-unit", "a rate constant k of k*stock declared in the flow's unit becomes per time")
def _fix_rate_constant_units(model: ContinuousModel) -> list[str]:
    """Flow ``k*drug`` in mg/hour (or state ``c`` with ``der`` ``-k*c``) whose rate constant ``k`` is
    declared in the flow's (derivative's) unit, stock unit per time: ``k`` is per time, 1/hour."""
    fixes: list[str] = []
    params = {p.id: p for p in model.parameters}
    amounts = {x.id: x.unit for x in (*model.stocks, *model.states)}
    try:
        tu = parse_unit(model.time_unit)
    except UnitError:
        return fixes
    if tu is None:
        return fixes
    items = [(f"flow {f.id}", f.rate, f.unit) for f in model.flows]
    items += [(f"the derivative of {x.id}", x.der, f"({x.unit})/({model.time_unit})" if x.unit else None)
              for x in model.states]
    for where, text, unit in items:
        try:
            expr = parse(text, frozenset(model.element_ids()))
            fu = parse_unit(unit)
        except (ExpressionError, UnitError):
            continue
        if expr.could_extract_minus_sign():
            expr = -expr
        names = sorted(str(x) for x in expr.free_symbols)
        if fu is None or expr.func.__name__ != "Mul" or len(expr.args) != 2 or len(names) != 2:
            continue
        k = next((n for n in names if n in params), None)
        x = next((n for n in names if n in amounts and n != k), None)
        if k is None or x is None or params[k].unit is None:
            continue
        try:
            ku, xu = parse_unit(params[k].unit), parse_unit(amounts[x])
        except UnitError:
            continue
        if ku is None or xu is None or not same(ku, fu) or not same(fu, xu / tu) or same(xu, xu / xu):
            continue
        fixes.append(f"parameter {k} is in {params[k].unit}, the unit of {where} = {text}: {k} is a rate per "
                     f"{model.time_unit}, unit 1/{model.time_unit}")
        params[k].unit = f"1/{model.time_unit}"
    return fixes


@fix("sim", "keyword-ids", "ids that are Python keywords get a suffix")
def _fix_keyword_ids(model: ContinuousModel) -> list[str]:
    """Ids that are Python keywords (``lambda``, ``in``) get a trailing _, everywhere they are used."""
    fixes: list[str] = []
    for old in [i for i in model.element_ids() if keyword.iskeyword(i)]:
        new = old + "_"
        if new in model.element_ids():
            continue
        for e in (*model.parameters, *model.stocks, *model.flows, *model.states, *model.auxiliaries):
            if e.id == old:
                e.id = new
        _rename_everywhere(model, old, new)
        fixes.append(f"renamed '{old}' (a Python keyword) to '{new}'")
    return fixes


@fix("sim", "reference-case", "a reference that matches exactly one element id case-insensitively uses it")
def _fix_reference_case(model: ProcessModel | ContinuousModel) -> list[str]:
    """References that match an id but for case or spaces/underscores are rewritten to it."""
    fixes: list[str] = []
    ids = model.element_ids()

    def canon(name: str) -> str:
        return re.sub(r"[\s_\-]", "", name.lower())

    by = {}
    for i in ids:
        by.setdefault(canon(i), []).append(i)

    def fix(value: str | None, where: str) -> str | None:
        if value is None or value in ids or value == EXIT:
            return value
        hits = by.get(canon(value), [])
        if len(hits) == 1:
            fixes.append(f"{where}: reference '{value}' -> '{hits[0]}'")
            return hits[0]
        return value

    if isinstance(model, ProcessModel):
        for e in (*model.sources, *model.activities):
            for r in e.next:
                r.to = fix(r.to, f"{e.id}.next") or r.to
        for a in model.activities:
            a.resource = fix(a.resource, f"{a.id}.resource")
    else:
        for f in model.flows:
            f.from_ = fix(f.from_, f"{f.id}.from")
            f.to = fix(f.to, f"{f.id}.to")
    return fixes
