"""Run a compiled simulation script in the sandbox and check what it produced.

Process models: it runs; the same seed gives the same results; entities are conserved
(arrived = departed + in system + balked, every replication); Little's law holds within a
tolerance; KPIs are finite; where the model reduces to M/M/c, M/M/c/K or M/D/1 the KPIs
match the closed form. Continuous models: it runs; values are finite; declared
non-negative stocks stay so; halving the step changes the results by less than a tolerance.
"""
from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel, Field

from ...compilers.sim.model import ContinuousModel, ProcessModel
from ...compilers.sim.queueing import closed_form
from ...core.diagnostics import Diagnostic, errors
from ..sandbox import SandboxResult, run_python

RESULTS, PLOT = "RESULTS.json", "PLOT.png"
LITTLE_TOL = 0.15  # relative, on means over replications
CLOSED_FORM_TOL = 0.15
STEP_TOL = 0.01  # largest change on halving the step, relative to the variable's range


class Validation(BaseModel):
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    results: dict[str, Any] | None = None
    results_text: str | None = None
    plot: bytes | None = None
    seconds: float = 0.0


def _run(script: str, args: list[str], timeout_s: float) -> SandboxResult:
    return run_python(script, args=args, timeout_s=timeout_s, cpu_s=int(timeout_s) + 5, memory_mb=2048)


def _failed(res: SandboxResult, what: str) -> Diagnostic:
    if res.timed_out or res.killed_reason:
        return Diagnostic(code="timeout" if res.timed_out else "killed", message=f"{what} did not finish "
                          f"({res.error_summary()}): shorten the horizon or the number of replications, or use a larger step")
    return Diagnostic(code="runtime-error", message=f"{what} failed:\n{res.error_summary(800)}")


def _load(res: SandboxResult, name: str) -> tuple[dict[str, Any] | None, str | None]:
    raw = res.files.get(name)
    if raw is None:
        return None, None
    try:
        return json.loads(raw), raw.decode("utf-8")
    except ValueError:
        return None, None


def validate(model: ProcessModel | ContinuousModel, script: str, *, timeout_s: float = 90.0) -> Validation:
    """Run ``script`` (compiled from ``model``) in the sandbox and check its results."""
    first = _run(script, ["--results", RESULTS, "--plot", PLOT], timeout_s)
    out = Validation(seconds=first.seconds)
    if not first.ok:
        out.diagnostics.append(_failed(first, "the simulation"))
        return out
    out.results, out.results_text = _load(first, RESULTS)
    out.plot = first.files.get(PLOT)
    if out.results is None:
        out.diagnostics.append(Diagnostic(code="no-results", message=f"the script wrote no readable {RESULTS}"))
        return out
    if isinstance(model, ProcessModel):
        out.diagnostics += check_process_results(model, out.results)
        again = _run(script, ["--results", "AGAIN.json", "--no-plot"], timeout_s)
        out.seconds += again.seconds
        if not again.ok:
            out.diagnostics.append(_failed(again, "the second run (same seed)"))
        else:
            out.diagnostics += check_same_seed(out.results, _load(again, "AGAIN.json")[0])
    else:
        out.diagnostics += check_continuous_results(model, out.results)
        if not bool(errors(out.diagnostics)):
            half = _run(script, ["--results", "HALF.json", "--no-plot", "--step-scale", "0.5"], timeout_s)
            out.seconds += half.seconds
            if not half.ok:
                out.diagnostics.append(_failed(half, "the run with half the step"))
            else:
                out.diagnostics += check_step_halving(model, out.results, _load(half, "HALF.json")[0])
    return out


# --- process results ------------------------------------------------------------------


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_process_results(model: ProcessModel, results: dict[str, Any]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    kpis: dict[str, Any] = results.get("kpis") or {}
    runs: list[dict[str, Any]] = results.get("runs") or []
    if not kpis or not runs:
        return [Diagnostic(code="no-results", message="the results hold no KPIs or replications")]
    for name, k in kpis.items():
        m = k.get("mean")
        if m is None:
            if name in ("wait", "time_in_system"):
                diags.append(Diagnostic(code="no-departures", obj="run", feature="horizon", message="no entity left the "
                                        "system during the run, so waits are undefined: check the horizon against the "
                                        "interarrival and duration means (same time unit?)"))
            continue
        if not _finite(m) or not all(_finite(v) for v in (k.get("ci95") or [m, m])):
            diags.append(Diagnostic(code="not-finite", obj=name, message=f"KPI {name} is not a finite number ({m})"))
    for i, r in enumerate(runs):  # entity conservation, replication by replication
        c = r.get("counts") or {}
        if not all(isinstance(c.get(k), int) for k in ("arrived", "departed", "in_system", "balked")):
            diags.append(Diagnostic(code="conservation", obj=f"replication {i + 1}", message="entity counts are missing"))
            break
        if c["arrived"] != c["departed"] + c["in_system"] + c["balked"]:
            diags.append(Diagnostic(code="conservation", obj=f"replication {i + 1}", message=f"entities are not conserved: "
                                    f"arrived {c['arrived']} != departed {c['departed']} + in system {c['in_system']} + "
                                    f"balked {c['balked']}"))
            break
    diags += _little(kpis)
    diags += _closed_form(model, kpis)
    return diags


def _mean(kpis: dict[str, Any], name: str) -> float | None:
    m = (kpis.get(name) or {}).get("mean")
    return float(m) if _finite(m) else None


def _little(kpis: dict[str, Any]) -> list[Diagnostic]:
    """L = lambda * W: time-average number in system against throughput x mean time in system."""
    L, lam, W = _mean(kpis, "number_in_system"), _mean(kpis, "throughput"), _mean(kpis, "time_in_system")
    if L is None or lam is None or W is None:
        return []
    lw = lam * W
    if abs(L - lw) > LITTLE_TOL * max(L, lw) + 0.05:
        return [Diagnostic(code="littles-law", severity="warning", obj="run", message=f"Little's law is off: mean number "
                           f"in system {L:.4g} but throughput x mean time in system = {lw:.4g}; the system is far from "
                           "steady state (overloaded, or the horizon is short against the time entities spend)")]
    return []


def _closed_form(model: ProcessModel, kpis: dict[str, Any]) -> list[Diagnostic]:
    cf = closed_form(model)
    if cf is None:
        return []
    diags = []
    for name in ("wait", "time_in_system", "utilisation", "number_in_system", "balked"):
        sim, theory = _mean(kpis, name), cf.kpis.get(name)
        if sim is None or theory is None:
            continue
        ci = (kpis.get(name) or {}).get("ci95") or [sim, sim]
        half = (ci[1] - ci[0]) / 2 if all(_finite(v) for v in ci) else 0.0
        if abs(sim - theory) > max(CLOSED_FORM_TOL * abs(theory), 2 * half, 0.01):
            diags.append(Diagnostic(code="closed-form", severity="warning", obj=name, message=f"{name} is {sim:.4g} but the "
                                    f"{cf.label} closed form gives {theory:.4g} {'' if name in ('utilisation', 'balked', 'number_in_system') else model.time_unit}"
                                    ": the run may be too short to reach steady state (longer horizon, a warm-up or more "
                                    "replications)"))
    return diags


def check_same_seed(first: dict[str, Any] | None, second: dict[str, Any] | None) -> list[Diagnostic]:
    a = {k: v.get("mean") for k, v in ((first or {}).get("kpis") or {}).items()}
    b = {k: v.get("mean") for k, v in ((second or {}).get("kpis") or {}).items()}
    diff = [k for k in a if a[k] != b.get(k)] + [k for k in b if k not in a]
    if diff or not a:
        return [Diagnostic(code="not-reproducible", obj=diff[0] if diff else None, message=f"two runs with the same "
                           f"seed gave different results ({', '.join(diff[:5]) or 'no KPIs'})")]
    return []


# --- continuous results ---------------------------------------------------------------


def check_continuous_results(model: ContinuousModel, results: dict[str, Any]) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    series: dict[str, list[Any]] = results.get("series") or {}
    time = series.get("time") or []
    if len(time) < 2:
        return [Diagnostic(code="no-results", message="the results hold no time series (did an event stop the run at once?)")]
    for name, values in series.items():
        bad = next((i for i, v in enumerate(values) if not _finite(v)), None)
        if bad is not None:
            diags.append(Diagnostic(code="not-finite", obj=name, message=f"{name} becomes {values[bad]} at t={time[bad]:.4g} "
                                    f"{model.time_unit}: check its equation for division by zero, overflow or sqrt/log of "
                                    "negative values"))
    for name in model.non_negative():
        values = series.get(name) or []
        scale = max((abs(v) for v in values if _finite(v)), default=0.0)
        low = next((i for i, v in enumerate(values) if _finite(v) and v < -1e-6 * max(scale, 1e-9)), None)
        if low is not None:
            diags.append(Diagnostic(code="negative-stock", obj=name, message=f"{name} is declared non-negative but reaches "
                                    f"{values[low]:.4g} at t={time[low]:.4g} {model.time_unit}: make its outflows depend on "
                                    f"it (e.g. k*{name}) or limit them with min({name}/dt-like terms), or add an event "
                                    "that stops the run"))
    return diags


def check_step_halving(model: ContinuousModel, full: dict[str, Any], half: dict[str, Any] | None) -> list[Diagnostic]:
    if not half:
        return [Diagnostic(code="no-results", message="the run with half the step wrote no results")]
    a, b = full.get("series") or {}, half.get("series") or {}
    n = min(len(a.get("time") or []), len(b.get("time") or []))
    worst: tuple[float, str] | None = None
    for name in model.non_negative() + [s.id for s in model.state_vars() if not s.non_negative]:
        x, y = (a.get(name) or [])[:n], (b.get(name) or [])[:n]
        if not x or len(x) != len(y) or not all(_finite(v) for v in x + y):
            continue
        scale = max(max(x) - min(x), max(abs(v) for v in x), 1e-12)
        change = max(abs(p - q) for p, q in zip(x, y)) / scale
        if change > STEP_TOL and (worst is None or change > worst[0]):
            worst = (change, name)
    if worst:
        return [Diagnostic(code="step-sensitive", obj=worst[1], feature="dt", message=f"halving the step changes {worst[1]} "
                           f"by {100 * worst[0]:.2g}% of its range: the results depend on the step; use a smaller time.dt "
                           f"(now {model.time.step():g}) or method RK45")]
    return []
