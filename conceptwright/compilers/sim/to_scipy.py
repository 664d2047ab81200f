"""Continuous model -> a readable, standalone SciPy ``solve_ivp`` script (or a fixed-step
Euler loop where the model asks for it). ``python SIM.py`` writes the series as JSON and a
PNG; ``--step-scale 0.5`` halves the step (the validator's convergence check)."""
from __future__ import annotations

import json
from pathlib import PurePath

from .continuous import Compiled, analyse
from .expressions import to_python
from .model import ContinuousModel

MAX_OUTPUT_POINTS = 2001


def _num(x: float) -> str:
    return repr(float(x))


def _unpack(states: list[str]) -> str:
    return f"    {', '.join(states)}{',' if len(states) == 1 else ''} = y\n" if states else ""


def compile_continuous(model: ContinuousModel, *, script: str = "sim.py", results: str = "results.json",
                       plot: str = "plot.png", compiled: Compiled | None = None) -> str:
    """The SciPy script; raises AnalysisError when an expression is bad (checks run first)."""
    c = compiled or analyse(model)
    units = {e.id: e.unit for e in (*model.parameters, *model.stocks, *model.flows, *model.states, *model.auxiliaries) if e.unit}
    out = [_header(model, script, results, plot, units)]
    out.append("# --- the model " + "-" * 62 + "\n")
    if model.parameters:
        out.append("# parameters")
        out += [f"{p.id} = {_num(p.value)}" + (f"  # {p.unit}" if p.unit else "") for p in model.parameters]
        out.append("")
    out.append(f"STATES = {json.dumps(c.states)}  # the state vector: stocks, then ODE states")
    out.append(f"INITIAL = [{', '.join(_num(s.initial) for s in model.state_vars())}]")
    out.append(f"NON_NEGATIVE = {json.dumps(model.non_negative())}  # declared never to go below zero")
    out.append(f"ALGEBRAIC = {json.dumps([n for n, _ in c.algebraic])}  # flows and auxiliaries, in computing order\n\n")
    kinds = {f.id: "flow" for f in model.flows} | {a.id: "auxiliary" for a in model.auxiliaries}
    body = ['def model(t, y):\n    """Derivatives of the states and the flows and auxiliaries at time t."""\n', _unpack(c.states)]
    for name, expr in c.algebraic:
        body.append(f"    {name} = {to_python(expr)}  # {kinds[name]}\n")
    for s in model.stocks:
        ins = [f.id for f in model.flows if f.to == s.id]
        outs = [f.id for f in model.flows if f.from_ == s.id]
        body.append(f"    d_{s.id} = {to_python(c.derivatives[s.id])}  # stock: inflows {ins or '-'} minus outflows {outs or '-'}\n")
    for st in model.states:
        body.append(f"    d_{st.id} = {to_python(c.derivatives[st.id])}  # d{st.id}/dt\n")
    values = ", ".join(f"{json.dumps(n)}: {n}" for n, _ in c.algebraic)
    body.append(f"    return [{', '.join(f'd_{s}' for s in c.states)}], {{{values}}}\n")
    out.append("".join(body))
    ev_names, stops, resets = [], [], []
    for i, ((text, g, direction), sets) in enumerate(zip(c.events, c.resets)):
        ev = model.events[i]
        out.append(f'\ndef event_{i}(t, y):\n    """{text}: this becomes zero."""\n{_unpack(c.states)}'
                   f"    return {to_python(g)}\n\n\nevent_{i}.terminal = True\nevent_{i}.direction = {direction}\n")
        lines = [f"\ndef reset_{i}(t, y):\n", f'    """What happens when {text}."""\n', _unpack(c.states)]
        new = {var: to_python(expr) for var, expr in sets}
        lines.append(f"    return [{', '.join(new.get(s, s) for s in c.states)}]\n")
        out.append("".join(lines))
        ev_names.append(f"event_{i}")
        resets.append(f"reset_{i}")
        stops.append(ev.stop)
    out.append(f"\nEVENTS = [{', '.join(ev_names)}]\nRESETS = [{', '.join(resets)}]\nSTOPS = {stops!r}  # the run ends at these events\n")
    out.append(ENGINE)
    return "\n".join(out)


def _header(model: ContinuousModel, script: str, results: str, plot: str, units: dict[str, str]) -> str:
    t = model.time
    method = "fixed-step Euler" if t.method == "Euler" else f"SciPy solve_ivp ({t.method})"
    span = max(t.stop - t.start, 0.0)
    points = min(MAX_OUTPUT_POINTS, int(round(span / t.step())) + 1) if span > 0 else 2
    return f'''#!/usr/bin/env python3
"""{model.name}: a continuous simulation ({method}) compiled by conceptwright from a conceptual model.

Time runs from {t.start:g} to {t.stop:g} {model.time_unit} with step {t.step():g}.

Run:  python {PurePath(script).name}  [--step-scale 0.5] [--results PATH] [--plot PATH] [--no-plot]
Writes {{"series": {{"time": [...], "<variable>": [...]}}}} as JSON and a PNG plot.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

HERE = Path(__file__).resolve().parent
RESULTS_PATH = HERE / {json.dumps(results)}
PLOT_PATH = HERE / {json.dumps(plot)}

MODEL = {json.dumps(model.name)}
TIME_UNIT = {json.dumps(model.time_unit)}
START, STOP, DT = {_num(t.start)}, {_num(t.stop)}, {_num(t.step())}
METHOD = {json.dumps(t.method)}
OUTPUT_POINTS = {points}
UNITS = {json.dumps(units)}
'''


ENGINE = r'''
# --- the solver -------------------------------------------------------------


def derivatives(t, y):
    return model(t, y)[0]


def euler(t_out, step):
    """Fixed-step Euler; events are detected as sign changes between steps."""
    n = max(1, int(math.ceil((STOP - START) / step - 1e-9)))
    h = (STOP - START) / n
    times, states, fired = [START], [np.array(INITIAL, dtype=float)], []
    y, t = states[0], START
    for i in range(1, n + 1):
        y_new = y + h * np.array(derivatives(t, y), dtype=float)
        t_new = START + i * h
        stop = False
        for k, g in enumerate(EVENTS):
            before, after = g(t, y), g(t_new, y_new)
            if (g.direction <= 0 and before > 0 >= after) or (g.direction >= 0 and before < 0 <= after):
                fired.append({"time": t_new, "event": k})
                y_new = np.array(RESETS[k](t_new, y_new), dtype=float)
                stop = stop or STOPS[k]
        t, y = t_new, y_new
        times.append(t)
        states.append(y)
        if stop:
            break
    times, states = np.array(times), np.array(states)
    keep = t_out[t_out <= times[-1] + 1e-12]
    return keep, np.array([np.interp(keep, times, states[:, j]) for j in range(len(STATES))]).T, fired


def scipy_solve(t_out, step):
    """solve_ivp in segments between events (each event may reset states or stop the run)."""
    t0, y0, fired = START, np.array(INITIAL, dtype=float), []
    times, states = [], []
    while t0 < STOP:
        grid = t_out[(t_out >= t0) & (t_out <= STOP)]
        sol = solve_ivp(derivatives, (t0, STOP), y0, method=METHOD, t_eval=grid, events=EVENTS or None,
                        max_step=step, rtol=1e-6, atol=1e-9)
        if sol.status == -1:
            raise RuntimeError(f"the solver failed at t={sol.t[-1] if len(sol.t) else t0}: {sol.message}")
        times += list(sol.t)
        states += list(sol.y.T)
        if sol.status != 1:
            break
        k = min(range(len(EVENTS)), key=lambda j: sol.t_events[j][0] if len(sol.t_events[j]) else math.inf)
        t_event, y_event = sol.t_events[k][0], sol.y_events[k][0]
        fired.append({"time": float(t_event), "event": k})
        y0 = np.array(RESETS[k](t_event, y_event), dtype=float)
        if STOPS[k] or len(fired) > 1000:
            times.append(t_event)
            states.append(y0)
            break
        t0 = t_event + 1e-12 * max(1.0, abs(t_event))
    order = np.argsort(times, kind="stable")
    return np.array(times)[order], np.array(states).reshape(len(times), len(STATES))[order], fired


def simulate(step_scale=1.0):
    t_out = np.linspace(START, STOP, OUTPUT_POINTS)
    step = DT * step_scale
    times, states, fired = (euler if METHOD == "Euler" else scipy_solve)(t_out, step)
    series = {"time": [float(t) for t in times]}
    for j, name in enumerate(STATES):
        series[name] = [float(v) for v in states[:, j]]
    values = [model(t, y)[1] for t, y in zip(times, states)]
    for name in ALGEBRAIC:
        series[name] = [float(v[name]) for v in values]
    final = {k: v[-1] for k, v in series.items() if v}
    events = [{"time": e["time"], "event": EVENTS[e["event"]].__doc__.split(":")[0]} for e in fired]
    return {"model": MODEL, "kind": "continuous", "time_unit": TIME_UNIT, "method": METHOD, "dt": step,
            "units": UNITS, "non_negative": NON_NEGATIVE, "states": STATES, "series": series, "final": final,
            "events": events}


def plot(results, where):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = results["series"]
    groups = [("states", STATES), ("flows and auxiliaries", ALGEBRAIC)]
    groups = [(title, names) for title, names in groups if names]
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4), squeeze=False)
    for ax, (title, names) in zip(axes[0], groups):
        for name in names:
            label = f"{name} ({UNITS[name]})" if name in UNITS else name
            ax.plot(series["time"], series[name], label=label)
        ax.set(title=title, xlabel=f"time ({TIME_UNIT})")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    fig.suptitle(MODEL)
    fig.tight_layout()
    fig.savefig(where, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-scale", type=float, default=1.0, help="multiply the step (0.5 halves it)")
    parser.add_argument("--results", default=str(RESULTS_PATH))
    parser.add_argument("--plot", default=str(PLOT_PATH))
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    results = simulate(args.step_scale)
    Path(args.results).write_text(json.dumps(results))
    if not args.no_plot:
        plot(results, args.plot)
    for name, value in results["final"].items():
        print(f"{name:<24} {value:.6g}")


if __name__ == "__main__":
    main()
'''
