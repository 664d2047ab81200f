"""Recorded fixes that read the description: the description's own numbers settle what the
model left open. Each applies only where the reading is unambiguous; the checks still run after."""
from __future__ import annotations

import re

from .spec import description_times, rate_check
from .model import EXIT, Activity, ContinuousModel, Distribution, ProcessModel, Resource, Route
from .parse import PLACES, drop_queue_activities
from .units import UnitError, time_factor
from ...core.rules import fix

_UNITS = {"second": "s", "sec": "s", "minute": "minute", "min": "minute", "hour": "hour", "hr": "hour", "day": "day",
          "week": "week"}
_SENTENCE_END = re.compile(r";|\.(?:\s|$)")
_UNIT_WORD = re.compile(r"(second|sec|minute|min|hour|hr|day|week)s?\b", re.I)


def _unit(word: str) -> str:
    return _UNITS.get(word.lower().rstrip("s"), word.lower())


@fix("sim", "rate-unit-from-description", "a rate written without the description's \"per hour\" gets it", reads_description=True)
def rate_units(spec: str, model: ProcessModel, fixes: list[str]) -> None:
    """"30 calls per hour" written as {"rate": 30} in a model counted in minutes: the rate keeps the
    description's unit ({"rate": 30, "unit": "hour"})."""
    for m, per, carried in description_times(spec, model):
        if not (per and carried and rate_check(model, float(m.group(1)), per)):
            continue
        unit = _unit(per.group(2))
        for d in [s.interarrival for s in model.sources] + [a.duration for a in model.activities]:
            if d.rate == float(m.group(1)) and d.unit in (None, model.time_unit) and unit != model.time_unit:
                d.unit = unit
                fixes.append(f"rate {d.rate:g} read in the description's unit: \"{per.group(0).strip()}\" -> unit {unit}")


def _dist_named(spec: str, m: re.Match[str]) -> str:
    """The distribution the description gives a duration, read from the rest of its sentence."""
    end = _SENTENCE_END.search(spec, m.end())
    text = spec[m.start():end.start() if end else len(spec)].lower()
    if re.search(r"exactly|always|constant|fixed|determin", text):
        return "constant"
    return "exponential" if re.search(r"exponential|average|mean|random", text) else "constant"


def _the_missing_time(spec: str, model: ProcessModel) -> tuple[re.Match[str], Distribution] | None:
    """The one duration of the description ("5 minutes on average") that no number of the model
    carries, as a distribution in the description's unit; None unless there is exactly one."""
    missing = _durations_no_distribution_has(spec, model)
    if len(missing) != 1:
        return None
    m, unit = missing[0]
    return m, Distribution(dist=_dist_named(spec, m), mean=float(m.group(1)), unit=unit)  # type: ignore[arg-type]


def _dists(model: ProcessModel) -> list[Distribution]:
    return [s.interarrival for s in model.sources] + [a.duration for a in model.activities]


def _is(value: float | None, of: str, x: float, unit: str) -> bool:
    """``value`` (in unit ``of``) is ``x`` in ``unit``."""
    f = _factor(of, unit)
    return value is not None and f is not None and abs(value * f - x) <= 1e-9 * max(1.0, x)


def _described_durations(spec: str, model: ProcessModel) -> list[tuple[re.Match[str], str, float]]:
    """The description's durations ("90 seconds", not rates): match, unit, number."""
    out = []
    for m, per, _carried in description_times(spec, model):
        word = _UNIT_WORD.search(m.group(0))
        if not per and word:
            out.append((m, _unit(word.group(1)), float(m.group(1))))
    return out


def _durations_no_distribution_has(spec: str, model: ProcessModel) -> list[tuple[re.Match[str], str]]:
    """The description's durations ("10 minutes", not rates) that are neither the mean of a
    distribution of the model (in its own unit) nor its horizon or warm-up: with their unit."""
    run, run_unit = model.run, model.run.unit or model.time_unit
    return [(m, unit) for m, unit, x in _described_durations(spec, model)
            if not any(_is(d.mean_value(), d.unit or model.time_unit, x, unit) for d in _dists(model))
            and not any(_is(v, run_unit, x, unit) for v in (run.horizon, run.warmup, run.horizon - run.warmup))]


def _add_service(spec: str, model: ProcessModel, target: str, resource: str, fixes: list[str], why: str) -> bool:
    """Add activity ``target`` on ``resource`` with the one missing time of the description, then exit."""
    found = _the_missing_time(spec, model)
    if found is None:
        return False
    m, duration = found
    model.activities.append(Activity(id=target, resource=resource, duration=duration, next=[Route(to=EXIT, p=1.0)]))
    fixes.append(f"{why}: added activity {target} on {resource} with the description's \"{m.group(0).strip()}\" "
                 f"({duration.dist}), then exit")
    return True


@fix("sim", "service-after-queue", "queue (no time) -> a name no activity has: that service gets the one time the description gives and no number carries", reads_description=True)
def service_after_queue(spec: str, model: ProcessModel, fixes: list[str]) -> None:
    """The small-model pattern "queue (no time, on R) -> 'agent'" where no activity has the name
    'agent': 'agent' is the service on the resource named like it, else on R (or the only resource). Its duration is the one time of
    the description no number of the model carries; it leads to exit; the queue activity goes."""
    idle = [a for a in model.activities if a.duration.mean_value() == 0]
    if len(idle) != 1 or len(idle[0].next) != 1:
        return
    a, target = idle[0], idle[0].next[0].to
    names = {x.id for x in (*model.sources, *model.activities)}
    resource = next((r.id for r in model.resources if r.id.lower().rstrip("s") == target.lower().rstrip("s")), None)
    if resource is None:  # "queue (on R) -> 'answer'": the service is on R, or on the only resource
        resource = a.resource or (model.resources[0].id if len(model.resources) == 1 else None)
    if target in names or target == EXIT or resource is None or a.resource not in (None, resource):
        return
    if _add_service(spec, model, target, resource, fixes, f"{a.id} (no time) goes to '{target}', like resource "
                    f"{resource}, which no activity is"):
        fixes += drop_queue_activities(model)


def _factor(unit: str, to: str) -> float | None:
    try:
        return time_factor(unit, to)
    except UnitError:
        return None


@fix("sim", "duration-unit-from-description", "a duration written in the model's unit that the description gives in another gets the description's unit", reads_description=True)
def duration_units(spec: str, model: ProcessModel, fixes: list[str]) -> None:
    """"takes exactly 90 seconds" written as {"mean": 90} in a model counted in minutes: the
    duration keeps the description's unit ({"mean": 90, "unit": "s"}), when no duration or
    interarrival already has 90 seconds in its own unit."""
    dists = _dists(model)
    for m, unit, x in _described_durations(spec, model):
        if _factor(unit, model.time_unit) in (None, 1.0) or any(
                _is(d.mean_value(), d.unit or model.time_unit, x, unit) for d in dists):
            continue
        for d in dists:
            if d.mean == x and d.unit in (None, model.time_unit):
                d.unit = unit
                fixes.append(f"duration {x:g} read in the description's unit: \"{m.group(0).strip()}\" -> unit {unit} "
                             f"(not {x:g} {model.time_unit})")


@fix("sim", "numbered-servers", "unused servers numbered one by one (officer1, officer2) become one resource of that capacity")
def merge_numbered_servers(model: ProcessModel) -> list[str]:
    """Resources ``officer1`` and ``officer2`` that no activity uses: one resource ``officers`` of
    capacity 2 (the servers of one station, written one by one)."""
    used = {a.resource for a in model.activities}
    groups: dict[str, list[Resource]] = {}
    for r in model.resources:
        m = re.fullmatch(r"([A-Za-z][A-Za-z_]*?)_?\d+", r.id)
        if m and r.id not in used:
            groups.setdefault(m.group(1), []).append(r)
    fixes: list[str] = []
    names = {x.id for x in (*model.sources, *model.resources, *model.activities)}
    for base, rs in groups.items():
        new = base if base.endswith("s") else base + "s"
        if len(rs) < 2 or new in names or len({(r.max_queue, r.discipline) for r in rs}) > 1:
            continue
        merged = Resource(id=new, capacity=sum(r.capacity for r in rs), max_queue=rs[0].max_queue,
                          discipline=rs[0].discipline)
        model.resources[model.resources.index(rs[0])] = merged
        for r in rs[1:]:
            model.resources.remove(r)
        fixes.append(f"resources {', '.join(r.id for r in rs)} are used by no activity: read as one resource {new} of "
                     f"capacity {merged.capacity}")
    return fixes


@fix("sim", "service-at-unknown-route", "a route to a name no element has, with exactly one unused server, becomes that service", reads_description=True)
def service_at_unknown_route(spec: str, model: ProcessModel, fixes: list[str]) -> None:
    """A route to a name no activity has, that names a resource no activity uses or, with exactly
    one such server resource, no element at all: that name is the missing activity on it. Its
    duration is the one time of the description no number of the model carries; it leads to exit."""
    fixes += merge_numbered_servers(model)
    used = {a.resource for a in model.activities}
    idle = [r.id for r in model.resources if r.id not in used and not PLACES.search(r.id)]
    names = {x.id for x in (*model.sources, *model.activities)}
    unknown = {r.to for e in (*model.sources, *model.activities) for r in e.next if r.to != EXIT and r.to not in names}
    if len(unknown) != 1:
        return
    target = next(iter(unknown))
    if target in idle:
        resource = target  # "to": "specialist", the resource: the specialist's service is missing
    elif len(idle) == 1 and target not in {r.id for r in model.resources}:
        resource = idle[0]
    else:
        return
    _add_service(spec, model, target, resource, fixes, f"'{target}' is no activity and no activity uses resource "
                 f"{resource}")


_IN_TOTAL = re.compile(r"\b(?:in total|in all|altogether|including|in the system)\b", re.I)


@fix("sim", "waiting-places", "an unused resource of waiting places is the max_queue of the one used server", reads_description=True)
def waiting_places_as_max_queue(spec: str, model: ProcessModel, fixes: list[str]) -> None:
    """Waiting chairs written as a resource no activity uses ("waiting_chairs", capacity 3) are the
    waiting places of the one resource the activities use: its max_queue. Where the description
    counts places "in total" (those in service included), the servers' places are taken off."""
    used = {a.resource for a in model.activities if a.resource}
    servers = [r for r in model.resources if r.id in used]
    places = [r for r in model.resources if r.id not in used and PLACES.search(r.id)]
    if len(servers) == 1 and len(places) == 1 and servers[0].max_queue is None:
        server, k = servers[0], places[0].capacity
        total = _IN_TOTAL.search(spec) is not None and k > server.capacity
        server.max_queue = k - server.capacity if total else k
        model.resources.remove(places[0])
        fixes.append(f"resource {places[0].id} is used by no activity: read as the {server.max_queue} waiting places "
                     f"of {server.id} (max_queue)" + (f": {k} in total, {server.capacity} in service" if total else ""))


@fix("sim", "euler-only-where-asked", "Euler is used only where the description asks for it", reads_description=True)
def euler_only_where_asked(spec: str, model: ContinuousModel, fixes: list[str]) -> None:
    """Euler only where the description asks for it; otherwise RK45."""
    if model.time.method == "Euler" and "euler" not in spec.lower():
        model.time.method = "RK45"
        fixes.append("the description does not ask for Euler: solved with RK45")


def apply(spec: str, model: ProcessModel | ContinuousModel, fixes: list[str]) -> None:
    """Every fix that reads the description, in order."""
    if isinstance(model, ProcessModel):
        waiting_places_as_max_queue(spec, model, fixes)
        rate_units(spec, model, fixes)
        duration_units(spec, model, fixes)
        service_after_queue(spec, model, fixes)
        service_at_unknown_route(spec, model, fixes)
    else:
        euler_only_where_asked(spec, model, fixes)
