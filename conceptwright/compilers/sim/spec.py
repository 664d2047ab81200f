"""What the description of a system says, read without an LLM: its times and rates, and the
kind of model it plainly needs. Fixes (``fixes.py``), checks (``tools/sim/check.py``) and
prompts (``prompts/sim.py``) all read it through here, so a prompt edit cannot change an error."""
from __future__ import annotations

import re

from ...core.diagnostics import Diagnostic
from .model import ContinuousModel, ProcessModel
from .units import UnitError, time_factor

_NUMBER = r"(\d+(?:\.\d+)?)"
_TIMED = re.compile(_NUMBER + r"(?:\s*-?\s*[A-Za-z]+){0,2}?\s*-?\s*(?:per\b|an?\s+(?:second|minute|hour|day|week)\b|"
                    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\b)", re.I)
_FACTORS = (1, 60, 3600, 24, 1440, 86400, 7, 168, 10080, 100)


def _numbers(value: object) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, str):
        return [float(x) for x in re.findall(_NUMBER, value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    return []


def description_times(spec: str, model: ProcessModel | ContinuousModel) -> list[tuple[re.Match[str], re.Match[str] | None, bool]]:
    """Each time or rate of the description once ("every 6 minutes", "30 calls per hour"): its match,
    its "N per unit" match if it is a rate, and whether some number of the model carries it (after
    a change of time unit or mean <-> rate)."""
    values = _numbers(model.model_dump(by_alias=True))
    if isinstance(model, ProcessModel):  # "simulate 8 hours after a 1 hour warm-up"
        values.append(model.run.horizon - model.run.warmup)
    values = [v for v in values if v != 0]
    known = {round(x, 9) for v in values for k in _FACTORS for x in (v * k, v / k, k / v, 1 / (v * k))}
    known |= {round(x, 9) for x in values}
    found, seen = [], set()
    for m in _TIMED.finditer(spec):
        x = float(m.group(1))
        if x == 0 or x in seen or m.start() > 0 and spec[m.start() - 1] in "/.":
            continue
        seen.add(x)
        found.append((m, _PER.match(spec, m.start()), any(abs(x - k) <= 1e-6 * max(1.0, abs(x)) for k in known)))
    return found


_PER = re.compile(_NUMBER + r"(?:\s+[A-Za-z]+){0,2}?\s+(?:per|an?|each)\s+(second|sec|minute|min|hour|hr|day|week)s?\b", re.I)


def rate_check(model: ProcessModel, x: float, per: re.Match[str]) -> list[Diagnostic]:
    """"30 calls per hour": some interarrival or duration has a mean of 1/30 hour (not 30 per minute)."""
    unit = per.group(2).lower()
    dists = [s.interarrival for s in model.sources] + [a.duration for a in model.activities]
    for d in dists:
        mean = d.mean_value()
        try:
            if mean is not None and abs(mean * time_factor(d.unit or model.time_unit, unit) - 1 / x) <= 1e-6 / x:
                return []
        except UnitError:
            return []  # the checks report the unit
    try:
        mean = f"{1 / x * time_factor(unit, model.time_unit):g} {model.time_unit}"
    except UnitError:
        return []
    return [Diagnostic(code="rate-mismatch", message=f"the description says \"{per.group(0).strip()}\": one every {mean} "
                       f"on average, but no interarrival or duration of the model has that mean: a rate needs its unit, "
                       f'{{"dist": "exponential", "rate": {x:g}, "unit": "{unit}"}}, or write the mean, '
                       f'{{"dist": "exponential", "mean": {mean.split()[0]}}}')]


# The grammar of a discrete-event description, not its nouns: things arrive (turn up, come in),
# wait or queue, and are served; runs are replicated and servers utilised. No list of roles or
# entities (doctor, teller, receptionist, pharmacist, mechanic, ...) can be complete.
_PROCESS_WORDS = re.compile(r"\b(arriv\w*|interarrival\w*|(?:turns?|shows?) up|comes? in|queu\w*|wait\w*|balk\w*|"
                            r"reneg\w*|serv(?:e|es|ed|ing|ice|ices|er|ers)\b|replications?|utili[sz]ation)", re.I)


def guess_kind(spec: str) -> str:
    """'process' when the description speaks of arrivals, queues and servers, else 'continuous'."""
    return "process" if len(_PROCESS_WORDS.findall(spec)) >= 2 else "continuous"


# Marks of continuous change that a queueing description does not use: a derivative, a stock,
# an ODE, a growth or decay law. A share ("10% are reworked") or "grows" alone is no such mark.
_CONTINUOUS_WORDS = re.compile(r"d\w*/dt|\w''|\bstocks?\b|differential|\bODEs?\b|logistic\w*|\bdecay\w*|euler|"
                               r"derivative|exponential growth|half-life", re.I)


def sure_kind(spec: str) -> str | None:
    """The kind when the description leaves no doubt: no word of arriving, waiting or being served
    and a mark of continuous change (dx/dt, a stock, an ODE, decay) -> "continuous"; three or more
    words of arriving, waiting and being served -> "process"; else None."""
    n = len(_PROCESS_WORDS.findall(spec))
    if n == 0 and _CONTINUOUS_WORDS.search(spec):
        return "continuous"
    return "process" if n >= 3 else None
