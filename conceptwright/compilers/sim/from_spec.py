"""Recorded fixes that read the description: the description's own numbers settle what the
model left open. Each applies only where the reading is unambiguous; the checks still run after."""
from __future__ import annotations

import re

from ...tools.sim_check import description_times, rate_check
from .model import EXIT, Activity, Distribution, ProcessModel, Route
from .parse import drop_queue_activities

_UNITS = {"second": "s", "sec": "s", "minute": "minute", "min": "minute", "hour": "hour", "hr": "hour", "day": "day",
          "week": "week"}
_SENTENCE_END = re.compile(r";|\.(?:\s|$)")


def _unit(word: str) -> str:
    return _UNITS.get(word.lower().rstrip("s"), word.lower())


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


def service_after_queue(spec: str, model: ProcessModel, fixes: list[str]) -> None:
    """The small-model pattern "queue (no time, on R) -> 'agent'" where 'agent' is like resource R
    and no activity has that name: 'agent' is the service on R. Its duration is the one time of
    the description no number of the model carries; it leads to exit; the queue activity goes."""
    idle = [a for a in model.activities if a.duration.mean_value() == 0]
    if len(idle) != 1 or len(idle[0].next) != 1:
        return
    a, target = idle[0], idle[0].next[0].to
    names = {x.id for x in (*model.sources, *model.activities)}
    resource = next((r.id for r in model.resources if r.id.lower().rstrip("s") == target.lower().rstrip("s")), None)
    if target in names or target == EXIT or resource is None or a.resource not in (None, resource):
        return
    missing = [m for m, per, carried in description_times(spec, model) if not carried and not per]
    if len(missing) != 1:
        return
    m = missing[0]
    unit = re.search(r"(second|sec|minute|min|hour|hr|day|week)s?\b", m.group(0), re.I)
    if not unit:
        return
    duration = Distribution(dist=_dist_named(spec, m), mean=float(m.group(1)), unit=_unit(unit.group(1)))  # type: ignore[arg-type]
    model.activities.append(Activity(id=target, resource=resource, duration=duration, next=[Route(to=EXIT, p=1.0)]))
    fixes.append(f"{a.id} (no time) goes to '{target}', like resource {resource}, which no activity is: added activity "
                 f"{target} on {resource} with the description's \"{m.group(0).strip()}\" ({duration.dist}), then exit")
    fixes += drop_queue_activities(model)
