"""Queueing theory for process models: arrival rates at each activity (traffic equations),
resource loads, and closed forms for models that reduce to M/M/c, M/M/c/K or M/D/1."""
from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from .model import EXIT, Distribution, ProcessModel
from .units import time_factor


class ClosedForm(BaseModel):
    """Steady-state KPIs of a textbook queue, in the model's time unit."""

    label: str  # "M/M/2", "M/M/1/K=5", "M/D/1"
    kpis: dict[str, float]


def mean_time(d: Distribution, time_unit: str) -> float | None:
    """The distribution's mean in the model's time unit (None when it is undefined)."""
    m = d.mean_value()
    if m is None:
        return None
    return m * (time_factor(d.unit, time_unit) if d.unit else 1.0)


def arrival_rates(model: ProcessModel) -> dict[str, float]:
    """Long-run arrival rate at each activity: solve lambda = gamma + P^T lambda."""
    acts = [a.id for a in model.activities]
    index = {a: i for i, a in enumerate(acts)}
    n = len(acts)
    gamma = np.zeros(n)
    for s in model.sources:
        mean = mean_time(s.interarrival, model.time_unit)
        if not mean or mean <= 0:
            continue
        for r in s.next:
            if r.to in index:
                gamma[index[r.to]] += r.p / mean
    P = np.zeros((n, n))
    for a in model.activities:
        for r in a.next:
            if r.to in index:
                P[index[a.id], index[r.to]] += r.p
    try:
        lam = np.linalg.solve(np.eye(n) - P.T, gamma)
    except np.linalg.LinAlgError:
        return {}
    return {a: float(lam[i]) for a, i in index.items()}


def loads(model: ProcessModel) -> dict[str, float]:
    """Offered load per server of each resource (>= 1: the queue grows without bound)."""
    lam = arrival_rates(model)
    out: dict[str, float] = {}
    caps = {r.id: r.capacity for r in model.resources}
    for a in model.activities:
        if a.resource in caps and a.id in lam:
            s = mean_time(a.duration, model.time_unit) or 0.0
            out[a.resource] = out.get(a.resource, 0.0) + lam[a.id] * s / max(caps[a.resource], 1)
    return out


def mmc(lam: float, mu: float, c: int) -> dict[str, float] | None:
    rho = lam / (c * mu)
    if rho >= 1:
        return None
    a = lam / mu
    head = sum(a**n / math.factorial(n) for n in range(c))
    tail = a**c / (math.factorial(c) * (1 - rho))
    p0 = 1 / (head + tail)
    lq = tail * p0 * rho / (1 - rho)
    wq = lq / lam
    w = wq + 1 / mu
    return {"wait": wq, "time_in_system": w, "queue_length": lq, "number_in_system": lam * w, "utilisation": rho,
            "balked": 0.0}


def mmck(lam: float, mu: float, c: int, k: int) -> dict[str, float]:
    a = lam / mu
    weights = [a**n / math.factorial(n) if n <= c else a**c / math.factorial(c) * (a / c) ** (n - c) for n in range(k + 1)]
    total = sum(weights)
    p = [w / total for w in weights]
    lam_eff = lam * (1 - p[k])
    L = sum(n * pn for n, pn in enumerate(p))
    Lq = sum((n - c) * pn for n, pn in enumerate(p) if n > c)
    return {"wait": Lq / lam_eff, "time_in_system": L / lam_eff, "queue_length": Lq, "number_in_system": L,
            "utilisation": lam_eff / (c * mu), "balked": p[k]}


def md1(lam: float, d: float) -> dict[str, float] | None:
    rho = lam * d
    if rho >= 1:
        return None
    wq = rho * d / (2 * (1 - rho))
    return {"wait": wq, "time_in_system": wq + d, "queue_length": lam * wq, "number_in_system": lam * (wq + d),
            "utilisation": rho, "balked": 0.0}


def closed_form(model: ProcessModel) -> ClosedForm | None:
    """Closed-form KPIs when the model is one exponential source feeding one station."""
    if len(model.sources) != 1 or len(model.activities) != 1 or len(model.resources) != 1:
        return None
    src, act, res = model.sources[0], model.activities[0], model.resources[0]
    if src.limit is not None or src.interarrival.dist != "exponential" or act.resource != res.id:
        return None
    if [(r.to, r.p) for r in src.next] != [(act.id, 1.0)] or any(r.to != EXIT for r in act.next):
        return None
    ia, s = mean_time(src.interarrival, model.time_unit), mean_time(act.duration, model.time_unit)
    if not ia or not s or ia <= 0 or s <= 0:
        return None
    lam, c = 1 / ia, res.capacity
    if act.duration.dist == "exponential":
        if res.max_queue is not None:
            k = c + res.max_queue
            return ClosedForm(label=f"M/M/{c}/{k}", kpis=mmck(lam, 1 / s, c, k))
        kp = mmc(lam, 1 / s, c)
        return ClosedForm(label=f"M/M/{c}", kpis=kp) if kp else None
    if act.duration.dist == "constant" and c == 1 and res.max_queue is None:
        kp = md1(lam, s)
        return ClosedForm(label="M/D/1", kpis=kp) if kp else None
    return None
