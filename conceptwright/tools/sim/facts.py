"""The description's stated facts, and one check that the model carries each of them.

A first, deterministic step reads every stated quantity of a system description: its value,
its unit (parsed with pint), the words it came from (with their span) and the noun phrase it
refers to, classified into a role (interarrival time, arrival rate, service time, server count,
queue limit, route share, horizon, warm-up, replications, seed, initial value, rate constant,
step, parameter). The check ``sim.facts-carried`` then asks, per fact, whether some number of the
model in a place of a compatible role equals it after unit conversion (10 per hour is a mean
interarrival of 6 minutes in a model counted in minutes; 30% is a route with p 0.3), and names
the words and where they belong when none does. One mechanism instead of one regex per wording.
"""
from __future__ import annotations

import math
import re
from typing import Literal

import pint
from pydantic import BaseModel

from ...compilers.sim.expressions import ExpressionError, parse
from ...compilers.sim.continuous import declared
from ...compilers.sim.model import ContinuousModel, Distribution, ProcessModel
from ...compilers.sim.units import UnitError, parse_unit, ureg
from ...core.diagnostics import Diagnostic
from ...core.rules import check as rule_check

Role = Literal["interarrival", "arrival_rate", "service", "service_rate", "rate", "servers", "queue_limit", "share",
               "horizon", "warmup", "replications", "seed", "initial", "rate_constant", "step", "parameter"]
REL_TOL = 1e-6

_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                 "fifty": 50, "sixty": 60, "hundred": 100}
_TIME_WORDS = {"s": "second", "sec": "second", "secs": "second", "second": "second", "seconds": "second",
               "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute", "h": "hour", "hr": "hour",
               "hrs": "hour", "hour": "hour", "hours": "hour", "day": "day", "days": "day", "week": "week",
               "weeks": "week", "month": "month", "months": "month", "year": "year", "years": "year"}
_NUM = re.compile(r"(?<![\w.^/*'])(\d+(?:,\d{3})*(?:\.\d+)?|\.\d+|" + "|".join(_WORD_NUMBERS) + r")(?![\w'])", re.I)
_UNIT_TOKEN = re.compile(r"\s*(%|percent\b|°\s*[CF]\b|[A-Za-zµ°][\w^*/°\-]*(?:\^-?\d)?)")
_PER = re.compile(r"\s*(?:per|an?|each|every)\s+([A-Za-z]+)\b", re.I)
_PLACES = re.compile(r"chair|seat|waiting|buffer|room|space|place|spot|slot|bench|bay|capacity", re.I)
_NOT_SERVERS = re.compile(r"^(times?|percent|queues?|lines?|steps?|ways?|kinds?|types?|classes?|minutes?|hours?)$", re.I)
_ARRIVE = re.compile(r"\b(arriv\w*|come|comes|coming|turn up|turns up|show up|enter\w*|interarrival|poisson|calls? come)", re.I)
_SERVE = re.compile(r"\b(serv\w*|handl\w*|process\w*|tak\w*|last\w*|need\w*|treat\w*|repair\w*|consult\w*|wash\w*)", re.I)
_HORIZON = re.compile(r"\b(simulat\w*|horizon|run|runs|open for|is open|over|at most|period of|lasts? for|for a total of)\b", re.I)


class Fact(BaseModel, frozen=True):
    """One stated quantity: ``value`` in ``unit`` (a pint unit string; "" dimensionless; a rate's
    unit is per its time unit), the words it came from and what it refers to."""

    text: str  # the words, e.g. "arrive every 4 minutes"
    start: int
    end: int
    value: float
    unit: str = ""
    role: Role
    refers_to: str = ""  # the noun phrase ("calls", "barber", "volume")

    def quantity(self) -> pint.Quantity:
        return ureg().Quantity(self.value, self.unit or "")

    def describe(self) -> str:
        what = {"interarrival": "interarrival", "arrival_rate": "arrival rate", "service": "service time",
                "service_rate": "service rate", "rate": "rate", "servers": "servers", "queue_limit": "waiting places",
                "share": "share", "horizon": "horizon", "warmup": "warm-up", "replications": "replications",
                "seed": "seed", "initial": "initial value", "rate_constant": "rate constant", "step": "step",
                "parameter": "parameter"}[self.role]
        unit = f" {self.unit}" if self.unit and self.role != "share" else ""
        return f"{what} {self.value:g}{unit}" if self.role != "share" else f"{what} {self.value:g}"


# --- extraction -------------------------------------------------------------------------


def _number(token: str) -> float:
    low = token.lower()
    return float(_WORD_NUMBERS[low]) if low in _WORD_NUMBERS else float(token.replace(",", ""))


def _time(word: str) -> str | None:
    return _TIME_WORDS.get(word.lower().rstrip("."))


def _pint_unit(token: str) -> str | None:
    """``token`` as a pint unit string, when pint reads it as a real unit (not a count word)."""
    token = token.strip().rstrip(".,;")
    if not token or token.lower() in ("a", "an", "at", "of", "and", "or", "per", "is", "to", "the", "in"):
        return None
    try:
        q = parse_unit(token)
    except UnitError:
        return None
    if q is None or q.dimensionless:
        return None
    return str(q.units)


def _clause(spec: str, start: int) -> str:
    """The words from the last clause break before ``start`` up to it."""
    cut = max((m.end() for m in re.finditer(r"[.;:,]\s|[;(]|\bthen\b", spec[:start])), default=0)
    return spec[cut:start]


def _sentence(spec: str, start: int, end: int) -> str:
    a = max((m.end() for m in re.finditer(r"[.;]\s", spec[:start])), default=0)
    b = re.search(r"[.;](\s|$)", spec[end:])
    return spec[a:end + (b.start() if b else len(spec) - end)]


_STOP = {"and", "or", "in", "of", "with", "at", "to", "for", "on", "each", "who", "that", "which", "are", "is"}


def _noun_after(spec: str, end: int) -> str:
    """The one or two words after a number ("waiting chairs", "agents"), up to a function word."""
    words = re.match(r"\s*([A-Za-z][\w-]*)(?:\s+([A-Za-z][\w-]*))?", spec[end:])
    if not words or words.group(1).lower() in _STOP:
        return ""
    second = words.group(2)
    plural = words.group(1).lower().endswith("s")  # "tellers serve": the noun is the first word
    return words.group(1) + (f" {second}" if second and not plural and second.lower() not in _STOP else "")


def _arrivers(spec: str) -> set[str]:
    """The nouns of what arrives ("Customers arrive", "calls arrive"): their counts are no servers."""
    found = set()
    for m in re.finditer(r"([A-Za-z]+)\s+(?:\w+\s+){0,2}?(?:arriv\w*|come in|turn up|show up)", spec, re.I):
        found.add(m.group(1).lower().rstrip("s"))
    return found


def extract(spec: str) -> list[Fact]:
    """Every stated quantity of ``spec`` with its role (each role and value once)."""
    facts: list[Fact] = []
    arrivers = _arrivers(spec)
    process = bool(_ARRIVE.search(spec)) or bool(re.search(r"\bqueue|\bserver|\breplication", spec, re.I))
    taken: set[tuple[int, int]] = set()
    matches = list(_NUM.finditer(spec))
    for i, m in enumerate(matches):
        if any(a <= m.start() < b for a, b in taken):
            continue
        fact = _read(spec, m, matches[i + 1] if i + 1 < len(matches) else None, process, arrivers)
        if fact is not None:
            taken.add((fact.start, fact.end))
            facts.append(fact)
    unique: dict[tuple[str, float, str], Fact] = {}
    for f in facts:
        unique.setdefault((f.role, round(f.value, 9), f.unit), f)
    return list(unique.values())


def _read(spec: str, m: re.Match[str], following: re.Match[str] | None, process: bool,
          arrivers: set[str]) -> Fact | None:
    """The fact one number of the description states, or None (a bare number with no role)."""
    token = m.group(1)
    word = token.lower() in _WORD_NUMBERS
    value = _number(token)
    start, end = m.start(), m.end()
    before = _clause(spec, start)
    last = before.lower().split()[-3:]
    name = re.search(r"([A-Za-z_]\w*)\s*=\s*$", spec[:start])  # "r = 0.5", "K = 1000"
    if re.search(r"\b(instead of|rather than|was|previously|no longer|not)\s*$", spec[:start], re.I) or (
            re.search(r"\bfrom\s*$", spec[:start], re.I) and re.match(r"[^.;,]{0,25}?\bto\s+\d", spec[end:])):
        return None  # an old value an edit replaces ("12 hours instead of 8", "from 2 to 3 L per minute")
    if re.search(r"\bseed\s*$", spec[:start], re.I):
        return Fact(text=spec[max(0, start - 5):end], start=start - 5, end=end, value=value, role="seed", refers_to="run")
    if word and re.match(r"\s+(every|of|at a time|by one|another|or)\b", spec[end:], re.I):
        return None  # "one every 4 minutes", "one of the", "one at a time": no count
    # "between 2 and 6 minutes", "2 to 6 minutes": the first number takes the second's unit
    pair = re.match(r"\s*(?:and|to|-|–)\s*", spec[end:])
    after = end + pair.end() if pair and following is not None and following.start() == end + pair.end() else None
    unit_at = following.end() if after is not None else end
    tok = _UNIT_TOKEN.match(spec, unit_at)
    unit_word = tok.group(1) if tok else ""
    unit_end = tok.end() if tok else unit_at
    if after is not None and not (_time(unit_word) or _pint_unit(unit_word) or unit_word in ("%",)):
        after, unit_at = None, end
        tok = _UNIT_TOKEN.match(spec, end)
        unit_word, unit_end = (tok.group(1), tok.end()) if tok else ("", end)
    context = before.lower() + " " + spec[end:unit_end + 40].lower()
    # percentages: route shares (process) or rate constants ("2% of its size per day")
    if unit_word in ("%",) or unit_word.lower() == "percent":
        if re.match(r"\s*(?:\w+\s+){0,2}?(confidence|ci|utili[sz]\w*|busy|load|of the time|faster|slower|"
                    r"more|less|discount|interest)\b", spec[unit_end:], re.I):
            return None  # a level, a target or a change, not a share of the entities
        if re.search(r"\b(utili[sz]\w*|load|busy|target|below|above|under|at least|at most|confidence)\W+(\w+\W+){0,2}$",
                     before, re.I):
            return None
        per = re.match(r"[^.;,]{0,40}?\bper\s+([A-Za-z]+)", spec[unit_end:], re.I)
        if per and _time(per.group(1)):
            stop = unit_end + per.end()
            return Fact(text=spec[start:stop].strip(), start=start, end=stop, value=value / 100,
                        unit=f"1/{_time(per.group(1))}", role="rate_constant", refers_to=_refers(spec, start, stop))
        return Fact(text=spec[start:unit_end].strip(), start=start, end=unit_end, value=value / 100, unit="",
                    role="share", refers_to=_noun_after(spec, unit_end))
    # rates: "30 calls per hour", "10 an hour", "0.1 per minute", "20 m^3 per hour", "5 L/min"
    rate = _rate(spec, end, unit_word, unit_end)
    if rate is not None:
        num_unit, per_unit, stop = rate
        unit = f"{num_unit}/{per_unit}" if num_unit else f"1/{per_unit}"
        text = spec[start:stop].strip()
        if not process:
            role: Role = "rate_constant" if not num_unit else "parameter"
            return Fact(text=text, start=start, end=stop, value=value, unit=unit, role=role,
                        refers_to=name.group(1) if name else _refers(spec, start, stop))
        sentence = _sentence(spec, start, stop)
        role = "arrival_rate" if _ARRIVE.search(before) or _ARRIVE.search(sentence) and not _SERVE.search(before) else \
            "service_rate" if _SERVE.search(before) else "rate"
        return Fact(text=text, start=start, end=stop, value=value, unit=f"1/{per_unit}", role=role,
                    refers_to=_refers(spec, start, stop))
    # times: "every 6 minutes", "takes 3 minutes", "simulate 8 hours", "a 500 minute warm-up"
    t = _time(unit_word)
    if t:
        stop = unit_end
        text = spec[start:stop].strip()
        post = spec[stop:stop + 12].lower()
        ref = _refers(spec, start, stop)
        step_at = max((x.end() for x in re.finditer(r"\bstep\b|\bdt\b|increment", before, re.I)), default=-1)
        horizon_at = max((x.end() for x in _HORIZON.finditer(before)), default=-1)
        if re.search(r"warm[\s-]?up|warming", " ".join(last) + " " + post):
            role = "warmup"
        elif step_at > horizon_at:
            role = "step"
        elif horizon_at >= 0:
            role = "horizon"
        elif process and (re.search(r"(^|\s)(one\s+)?every\s*$|interarrival|apart|between arrivals|inter-arrival",
                                    before.lower()) or re.match(r"\s*apart\b", spec[stop:])):
            role = "interarrival"
        elif process:
            role = "service"
        else:
            role = "parameter"
        if role == "interarrival":  # the words say it: "arrive every 4 minutes"
            ev = re.search(r"(?:one\s+)?every\s*$", spec[:start], re.I)
            if ev:
                verb = re.search(r"\barriv\w*\s+(?:[\w,]+\s+){0,3}$", spec[:ev.start()], re.I)
                start = verb.start() if verb else ev.start()
                text = spec[start:stop].strip()
        rs = start
        if after is not None:  # "between 2 and 6 minutes": two facts of the same role; the second comes on its own
            stop = end
        return Fact(text=text, start=rs, end=stop, value=value, unit=t, role=role, refers_to=ref)
    # other units (continuous): "holds 500 m^3", "x starts at 0.1 m", "m = 1 kg"
    pu = _pint_unit(unit_word) if unit_word and not _is_variable(spec, unit_word) else None
    if pu is not None and not process:
        role = "initial" if re.search(r"start\w*|initial\w*|holds?|contains?|begins?|at first|\bis\b|^\s*$",
                                      before.lower().split("=")[-1] if not name else spec[:start][-40:].lower()) else "parameter"
        if name and not re.search(r"start|initial|holds", spec[max(0, start - 40):start], re.I):
            role = "parameter"
        return Fact(text=spec[start:unit_end].strip(), start=start, end=unit_end, value=value, unit=pu, role=role,
                    refers_to=name.group(1) if name else _refers(spec, start, unit_end))
    # counts: "3 agents", "one teller", "3 waiting chairs", "room for 5", "10 replications"
    noun = _noun_after(spec, end)
    first = noun.split()[0].lower() if noun else ""
    if process and first.startswith("replication"):
        return Fact(text=spec[start:end + len(noun) + 1].strip(), start=start, end=end, value=value, role="replications",
                    refers_to="run")
    if process and value == int(value) and value >= 0:
        at_a_time = re.match(r"\s*[A-Za-z]+\s+at a time\b", spec[end:], re.I)
        if at_a_time:  # "serves one car at a time": the capacity of what serves
            stop = end + at_a_time.end()
            return Fact(text=spec[start:stop], start=start, end=stop, value=value, role="servers",
                        refers_to=_refers(spec, start, stop))
        room = re.search(r"\b(room|space|places?)\s+for\s*$|\b(hold|holds|up to|at most)\s*$", spec[:start], re.I)
        if room or noun and _PLACES.search(noun) and not _NOT_SERVERS.match(first):
            stop = end + len(spec[end:]) - len(spec[end:].lstrip()) + len(noun)
            begin = room.start() if room else start
            return Fact(text=spec[begin:stop].strip(), start=begin, end=stop, value=value, role="queue_limit",
                        refers_to=noun or "waiting places")
        if noun and not _NOT_SERVERS.match(first) and first.rstrip("s") not in arrivers and not re.match(
                r"\s*(of|in|at|per|times?)\b", spec[end:], re.I) and not _ARRIVE.search(noun) and (
                value <= 50) and not re.search(r"\b(limit|first|last|only)\s*$", spec[:start], re.I):
            stop = end + len(spec[end:]) - len(spec[end:].lstrip()) + len(noun)
            return Fact(text=spec[start:stop], start=start, end=stop, value=value, role="servers", refers_to=noun)
        return None
    if not process and not word:
        initial = re.search(r"(start\w*|initial\w*|holds?|contains?|begins?|is|of)\s+(at\s+)?$", spec[:start], re.I)
        if name or initial:
            role = "initial" if initial and not name else "parameter"
            if name and re.search(r"start|initial", spec[max(0, start - 40):start], re.I):
                role = "initial"
            return Fact(text=spec[start:end], start=start, end=end, value=value, role=role,
                        refers_to=name.group(1) if name else _refers(spec, start, end))
        if re.search(r"(rate|times|factor|constant)\s+(of\s+)?-?\s*$", spec[:start], re.I) or re.search(r"=\s*-\s*$", spec[:start]):
            return Fact(text=spec[start:end], start=start, end=end, value=value, role="parameter",
                        refers_to=_refers(spec, start, end))
    return None


def _is_variable(spec: str, token: str) -> bool:
    """A short token the description uses as a variable ("-0.1 N" where dN/dt): not a unit."""
    t = re.escape(token.rstrip(".,;"))
    return len(token) <= 2 and bool(re.search(rf"\bd{t}/dt|\b{t}\s*=|\b{t}\s+(starts|is|decreases|increases|grows)", spec))


def _rate(spec: str, end: int, unit_word: str, unit_end: int) -> tuple[str, str, int] | None:
    """(numerator unit, per time unit, end) of "N [word [word]] per|an|each <time>" or "N unit/time"."""
    if "/" in unit_word:
        num, _, den = unit_word.partition("/")
        t = _time(den)
        if t:
            return (_pint_unit(num) or ""), t, unit_end
    m = _PER.match(spec, end)
    if m and _time(m.group(1)) and not m.group(0).strip().lower().startswith("every"):
        return "", _time(m.group(1)) or "", m.end()  # type: ignore[return-value]
    if unit_word and not _time(unit_word):
        m = re.match(r"(?:\s+[A-Za-z]+){0,1}?\s*(?:per|an?|each)\s+([A-Za-z]+)\b", spec[unit_end:], re.I)
        if m and _time(m.group(1)):
            num = _pint_unit(unit_word) or ""
            return num, _time(m.group(1)) or "", unit_end + m.end()
    return None


def _refers(spec: str, start: int, end: int) -> str:
    """The noun phrase a quantity refers to: the subject of its clause ("Calls arrive ...": calls)."""
    before = _clause(spec, start).strip()
    words = re.findall(r"[A-Za-z][\w'-]*", before)
    skip = {"a", "an", "the", "at", "of", "on", "in", "for", "with", "and", "every", "each", "is", "are", "takes",
            "take", "average", "arrive", "arrives", "simulate", "after", "random", "rate", "constant", "one", "by"}
    nouns = [w for w in words if w.lower() not in skip]
    return nouns[0].lower() if nouns else ""


# --- what the model carries --------------------------------------------------------------


def _q(value: float, unit: str | None) -> pint.Quantity | None:
    try:
        u = parse_unit(unit) if unit else None
    except UnitError:
        return None
    return None if u is None else value * u


def _close(a: float, b: float) -> bool:
    return math.isclose(abs(a), abs(b), rel_tol=REL_TOL, abs_tol=1e-12)


def _times(d: Distribution, time_unit: str) -> list[pint.Quantity]:
    """The time values of a distribution (mean, 1/rate, bounds, mode), as quantities."""
    unit = d.unit or time_unit
    vals = [v for v in (d.mean_value(), d.mean, d.low, d.mode, d.high) if v is not None]
    if d.rate:
        vals.append(1 / d.rate)
    out = [_q(v, unit) for v in vals]
    return [q for q in out if q is not None]


def _same(a: pint.Quantity, b: pint.Quantity) -> bool:
    try:
        return a.dimensionality == b.dimensionality and _close(float(a.to_base_units().magnitude),
                                                               float(b.to_base_units().magnitude))
    except pint.errors.PintError:
        return False


class _Place(BaseModel):
    where: str
    now: str


def _process_carried(fact: Fact, model: ProcessModel) -> tuple[bool, list[_Place]]:
    """Whether ``fact`` is carried by a place of its role; the places that could carry it."""
    tu = model.time_unit
    q = fact.quantity()
    time = ureg().Quantity(1, "s").dimensionality
    if fact.role in ("arrival_rate", "service_rate", "rate") or q.dimensionality == (1 / ureg().Quantity(1, "s")).dimensionality:
        if fact.value == 0:
            return True, []
        q = 1 / q  # a rate is carried by a mean time of 1/rate
    sources = [(f"sources[{i}].interarrival", s.interarrival) for i, s in enumerate(model.sources)]
    services = [(f"activities[{i}].duration", a.duration) for i, a in enumerate(model.activities)]
    run = model.run
    if fact.role in ("interarrival", "arrival_rate"):
        places = sources
    elif fact.role in ("service", "service_rate"):
        places = services
    elif fact.role == "rate":
        places = sources + services
    elif fact.role in ("horizon", "warmup"):
        vals = [run.horizon, run.horizon - run.warmup] if fact.role == "horizon" else [run.warmup]
        ok = any(_same(q, v * parse_unit(tu)) for v in vals)
        label = "run.horizon" if fact.role == "horizon" else "run.warmup"
        return ok, [_Place(where=label, now=f"{vals[0]:g} {tu}")]
    elif fact.role == "replications":
        return run.replications == fact.value, [_Place(where="run.replications", now=f"{run.replications}")]
    elif fact.role == "seed":
        return run.seed == fact.value, [_Place(where="run.seed", now=f"{run.seed}")]
    elif fact.role == "servers":
        named = [r for r in model.resources if _alike(r.id, fact.refers_to)]
        if named:  # "one teller" and a resource teller: its capacity (or that many resources named so)
            ok = any(r.capacity == fact.value for r in named) or (fact.value > 1 and len(named) == fact.value)
        else:  # "3 agents" as one resource of 3, or "two machines" as two resources
            ok = fact.value in [r.capacity for r in model.resources] or (fact.value > 1 and len(model.resources) == fact.value)
        return ok, [_Place(where=f"resources[{i}].capacity", now=f"{r.capacity} ({r.id})") for i, r in enumerate(model.resources)]
    elif fact.role == "queue_limit":
        ok = any(r.max_queue is not None and fact.value in (r.max_queue, r.max_queue + r.capacity) for r in model.resources)
        return ok, [_Place(where=f"resources[{i}].max_queue", now=f"{r.max_queue} ({r.id})") for i, r in enumerate(model.resources)]
    elif fact.role == "share":
        ps = [(f"{e.id}.next", r.p) for e in (*model.sources, *model.activities) for r in e.next]
        ok = any(_close(p, fact.value) for _, p in ps)
        return ok, [_Place(where=w, now=f"p {p:g}") for w, p in ps]
    else:
        places = sources + services
    if q.dimensionality != time:
        return True, []  # nothing of a process model holds this kind of quantity: not checked
    ok = any(_same(q, t) for _, d in places for t in _times(d, tu))
    return ok, [_Place(where=w, now=_show(d, tu)) for w, d in places]


def _alike(element_id: str, noun: str) -> bool:
    """Whether an element's id names the noun ("tellers" ~ teller, "triage nurse" ~ nurse)."""
    words = {w.rstrip("s") for w in re.findall(r"[a-z]+", noun.lower()) if len(w) > 2}
    parts = {w.rstrip("s") for w in re.findall(r"[a-z]+", element_id.lower()) if len(w) > 2}
    return bool(words & parts)


def _show(d: Distribution, tu: str) -> str:
    parts = [f"{k} {v:g}" for k, v in (("mean", d.mean), ("rate", d.rate), ("low", d.low), ("mode", d.mode),
                                       ("high", d.high)) if v is not None]
    return f"{d.dist} {' '.join(parts)} {d.unit or tu}".strip()


def _continuous_numbers(model: ContinuousModel) -> list[tuple[str, float, str | None]]:
    """(where, value, unit or None) of every number of a continuous model but its time settings."""
    out: list[tuple[str, float, str | None]] = []
    for p in model.parameters:
        out.append((f"parameter {p.id}", p.value, p.unit))
    for s in model.state_vars():
        out.append((f"{s.id}.initial", s.initial, s.unit))
    names = declared(model)
    exprs = [(f.id, f.rate, f.unit) for f in model.flows] + [(a.id, a.equation, a.unit) for a in model.auxiliaries] + \
            [(s.id, s.der, None) for s in model.states] + [(f"events/{i}", e.when, None) for i, e in enumerate(model.events)]
    for eid, text, unit in exprs:
        try:
            expr = parse(text, names) if not eid.startswith("events/") else None
        except ExpressionError:
            expr = None
        nums = [float(n) for n in expr.atoms() if getattr(n, "is_number", False)] if expr is not None else \
            [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
        nums = [n for n in nums if abs(n) != 1]  # -(k*x)/m holds a -1 no description states
        out += [(f"{eid} '{text}'", n, unit if expr is not None and not expr.free_symbols else None) for n in nums]
    return out


def _continuous_carried(fact: Fact, model: ContinuousModel) -> tuple[bool, list[_Place]]:
    tu = model.time_unit
    q = fact.quantity()
    t = model.time
    if fact.role in ("horizon", "step"):
        vals = [t.stop, t.stop - t.start] if fact.role == "horizon" else [t.step()]
        ok = any(_same(q, v * parse_unit(tu)) for v in vals if v is not None)
        return ok, [_Place(where="time.stop" if fact.role == "horizon" else "time.dt", now=f"{vals[0]:g} {tu}")]
    nums = _continuous_numbers(model)
    wants = _in_model_units(fact, tu)
    for _, v, unit in nums:
        declared_q = _q(v, unit) if unit else None
        if declared_q is not None and not declared_q.dimensionless and declared_q.dimensionality == q.dimensionality:
            if _same(declared_q, q):
                return True, []
            continue
        if any(_close(v, w) for w in wants):
            return True, []
    kinds = ("initial",) if fact.role == "initial" else ("parameter", "initial", "'")
    places = [_Place(where=w, now=f"{v:g}" + (f" {u}" if u else "")) for w, v, u in nums if any(k in w for k in kinds)]
    return False, places


def _in_model_units(fact: Fact, time_unit: str) -> list[float]:
    """The fact's value as a bare number may stand in a model counted in ``time_unit``: as
    written, and with its time part converted (20 m^3/hour in a minute model: 1/3)."""
    out = [fact.value]
    q = fact.quantity()
    exp = q.dimensionality.get("[time]", 0)
    if exp:
        try:
            tu = parse_unit(time_unit)
            rest = q * (tu ** -exp)  # the time part in the model's unit, the rest as it was written
            out.append(float(rest.to_base_units().magnitude / (ureg().Quantity(1, _non_time(fact.unit))).to_base_units().magnitude))
        except (pint.errors.PintError, UnitError, ZeroDivisionError, ValueError):
            pass
    return out


def _non_time(unit: str) -> str:
    """The unit without its time part: "m**3/hour" -> "m**3", "1/day" -> ""."""
    q = ureg().Quantity(1, unit or "")
    keep = [f"{u}**{p}" for u, p in q.unit_items() if ureg().Quantity(1, u).dimensionality != ureg().Quantity(1, "s").dimensionality]
    return "*".join(keep)


def carried(fact: Fact, model: ProcessModel | ContinuousModel) -> tuple[bool, list[_Place]]:
    """Whether ``model`` carries ``fact`` in a place of a compatible role, and those places."""
    try:
        if isinstance(model, ProcessModel):
            return _process_carried(fact, model)
        return _continuous_carried(fact, model)
    except (pint.errors.PintError, UnitError, ZeroDivisionError):
        return True, []  # a unit the other checks report: no second diagnostic for it


_WHERE = {"interarrival": "no source", "arrival_rate": "no source", "service": "no activity", "service_rate": "no activity",
          "rate": "no source or activity", "servers": "no resource", "queue_limit": "no resource's max_queue",
          "share": "no route", "horizon": "the run", "warmup": "the run", "replications": "the run", "seed": "the run",
          "initial": "no initial value", "step": "the time settings", "rate_constant": "no parameter or expression",
          "parameter": "no parameter or expression"}


def _expected(fact: Fact, model: ProcessModel | ContinuousModel) -> str:
    """What a carrying number would look like in this model's units."""
    if isinstance(model, ProcessModel) and fact.role in ("interarrival", "arrival_rate", "service", "service_rate", "rate",
                                                         "horizon", "warmup"):
        q = fact.quantity()
        if fact.role.endswith("rate"):
            q = 1 / q
            try:
                return f" (a mean of {q.to(parse_unit(model.time_unit).units).magnitude:g} {model.time_unit}, or " \
                       f"\"rate\": {fact.value:g} with \"unit\": \"{fact.unit.split('/')[-1]}\")"
            except pint.errors.PintError:
                return ""
        try:
            return f" ({q.to(parse_unit(model.time_unit).units).magnitude:g} {model.time_unit})"
        except pint.errors.PintError:
            return ""
    if fact.role == "share":
        return f" (a route with \"p\": {fact.value:g})"
    return ""


@rule_check("sim", "facts-carried", "each quantity the description states (value, pint unit, role) is carried by a "
                                    "model number of that role after unit conversion")
def facts_carried(spec: str, model: ProcessModel | ContinuousModel, facts: list[Fact] | None = None) -> list[Diagnostic]:
    """One diagnostic per stated fact that no number of the model carries, naming the words, what
    they state and the places of their role as they are now."""
    diags = []
    for fact in extract(spec) if facts is None else facts:
        ok, places = carried(fact, model)
        if ok:
            continue
        now = "; ".join(f"{p.where} is {p.now}" for p in places[:3]) or "there is none"
        obj, _, feature = places[0].where.rpartition(".") if len(places) == 1 and "." in places[0].where else ("", "", "")
        diags.append(Diagnostic(code="fact-missing", obj=obj or None, feature=feature or None,
                                message=f"the description's \"{fact.text}\" ({fact.describe()}) is carried by "
                                        f"{_WHERE[fact.role]}{_expected(fact, model)}: {now}"))
    return diags


def agreement(spec: str, model: ProcessModel | ContinuousModel, facts: list[Fact] | None = None) -> float:
    """The share of the description's facts the model carries (1.0 when it states none)."""
    facts = extract(spec) if facts is None else facts
    if not facts:
        return 1.0
    return sum(carried(f, model)[0] for f in facts) / len(facts)
