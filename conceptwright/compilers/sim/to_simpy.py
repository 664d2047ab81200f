"""Process model -> a readable, standalone SimPy script.

The script holds the model as plain data and sampler functions at the top, then a small
engine (entities, resources, time-weighted statistics, replications, confidence
intervals, plot). ``python SIM.py`` writes the results JSON and a PNG.
"""
from __future__ import annotations

import json
import re
from pathlib import PurePath

from .model import EXIT, Distribution, ProcessModel
from .units import time_factor


def _ident(prefix: str, name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", f"{prefix}_{name}").lower()
    out, i = base, 2
    while out in taken:
        out, i = f"{base}_{i}", i + 1
    taken.add(out)
    return out


def _num(x: float) -> str:
    return repr(float(x))


def _sampler(fn: str, what: str, d: Distribution, time_unit: str) -> str:
    f = time_factor(d.unit, time_unit) if d.unit and d.unit != time_unit else 1.0
    scale = (lambda v: _num((v or 0.0) * f))
    mean = d.mean if d.mean is not None else (1.0 / d.rate if d.rate else None)
    own = f" (given in {d.unit})" if f != 1.0 else ""
    if d.dist == "exponential":
        doc, body = f"exponential, mean {scale(mean)} {time_unit}{own}", f"rng.expovariate(1 / {scale(mean)})"
    elif d.dist == "constant":
        doc, body = f"constant {scale(mean)} {time_unit}{own}", scale(mean)
    elif d.dist == "uniform":
        doc, body = f"uniform on [{scale(d.low)}, {scale(d.high)}] {time_unit}{own}", f"rng.uniform({scale(d.low)}, {scale(d.high)})"
    elif d.dist == "triangular":
        doc = f"triangular (low {scale(d.low)}, mode {scale(d.mode)}, high {scale(d.high)}) {time_unit}{own}"
        body = f"rng.triangular({scale(d.low)}, {scale(d.high)}, {scale(d.mode)})"
    elif d.dist == "normal":
        doc, body = f"normal, mean {scale(mean)}, sd {scale(d.sd)} {time_unit}, cut at 0{own}", f"max(0.0, rng.gauss({scale(mean)}, {scale(d.sd)}))"
    else:  # lognormal with the given mean and sd of the duration itself
        doc = f"lognormal, mean {scale(mean)}, sd {scale(d.sd)} {time_unit}{own}"
        body = (f"rng.lognormvariate(math.log({scale(mean)}) - SIGMA2 / 2, math.sqrt(SIGMA2))"
                .replace("SIGMA2", f"math.log(1 + ({scale(d.sd)} / {scale(mean)}) ** 2)"))
    return f'def {fn}(rng):\n    """{what}: {doc}."""\n    return {body}\n'


def compile_process(model: ProcessModel, *, script: str = "sim.py", results: str = "results.json",
                    plot: str = "plot.png") -> str:
    """The SimPy script. ``results``/``plot`` are paths relative to the script's folder."""
    taken: set[str] = set()
    parts = [_header(model, script, results, plot)]
    parts.append("# --- the model " + "-" * 62 + "\n")
    rows = [f"    {json.dumps(r.id)}: ({r.capacity}, {r.max_queue!r}, {json.dumps(r.discipline)}),"
            for r in model.resources]
    parts.append("RESOURCES = {  # id: (capacity, waiting places (None: unlimited), queue discipline)\n"
                 + "\n".join(rows) + "\n}\n")
    src_rows = []
    for s in model.sources:
        fn = _ident("interarrival", s.id, taken)
        parts.append(_sampler(fn, f"time between arrivals of {s.id}", s.interarrival, model.time_unit))
        src_rows.append(f"    {json.dumps(s.id)}: ({fn}, {s.limit!r}, {s.priority}),")
    parts.append("SOURCES = {  # id: (interarrival sampler, most arrivals (None: no limit), priority)\n"
                 + "\n".join(src_rows) + "\n}\n")
    act_rows = []
    for a in model.activities:
        fn = _ident("duration", a.id, taken)
        parts.append(_sampler(fn, f"duration of {a.id}", a.duration, model.time_unit))
        act_rows.append(f"    {json.dumps(a.id)}: ({json.dumps(a.resource)}, {fn}),")
    parts.append("ACTIVITIES = {  # id: (resource it holds (None: a pure delay), duration sampler)\n"
                 + "\n".join(act_rows) + "\n}\n")
    route_rows = []
    for e in (*model.sources, *model.activities):
        routes = [(r.to, r.p) for r in e.next] or [(EXIT, 1.0)]
        route_rows.append(f"    {json.dumps(e.id)}: [" + ", ".join(f"({json.dumps(t)}, {_num(p)})" for t, p in routes) + "],")
    parts.append(f"ROUTES = {{  # where an entity goes after a source or activity: [(activity or {EXIT!r}, probability)]\n"
                 + "\n".join(route_rows) + "\n}\n")
    parts.append(ENGINE)
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _header(model: ProcessModel, script: str, results: str, plot: str) -> str:
    srcs = ", ".join(s.id for s in model.sources) or "no source"
    return f'''#!/usr/bin/env python3
"""{model.name}: a discrete-event simulation (SimPy) compiled by conceptwright from a conceptual model.

Entities arrive from: {srcs}. Activities: {", ".join(a.id for a in model.activities) or "none"}.
Times are in {model.time_unit}. Each replication runs {model.run.horizon:g} {model.time_unit}; statistics count
from the end of the warm-up ({model.run.warmup:g} {model.time_unit}).

Run:  python {PurePath(script).name}  [--seed N] [--replications N] [--results PATH] [--plot PATH] [--no-plot]
Writes the KPIs, each with a 95% confidence interval across replications, as JSON and a PNG plot.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from pathlib import Path

import simpy
from scipy import stats

HERE = Path(__file__).resolve().parent
RESULTS_PATH = HERE / {json.dumps(results)}
PLOT_PATH = HERE / {json.dumps(plot)}

MODEL = {json.dumps(model.name)}
TIME_UNIT = {json.dumps(model.time_unit)}
HORIZON = {_num(model.run.horizon)}
WARMUP = {_num(model.run.warmup)}
REPLICATIONS = {model.run.replications}
SEED = {model.run.seed}
KPIS = {json.dumps(list(model.kpis))}  # reported first and plotted
'''


ENGINE = r'''
# --- the engine -------------------------------------------------------------


class TimeAverage:
    """Time-weighted mean of a piecewise-constant count (entities in system, busy servers, queue)."""

    def __init__(self, env, keep_path=False):
        self.env, self.value, self.area, self.start, self.last = env, 0, 0.0, 0.0, 0.0
        self.path = [(0.0, 0)] if keep_path else None

    def change(self, delta):
        now = self.env.now
        self.area += self.value * (now - self.last)
        self.value, self.last = self.value + delta, now
        if self.path is not None and len(self.path) < 20000:
            self.path.append((now, self.value))

    def reset(self):
        """Forget what happened before now (end of the warm-up)."""
        self.area, self.start, self.last = 0.0, self.env.now, self.env.now

    def mean(self):
        now = self.env.now
        span = now - self.start
        return (self.area + self.value * (now - self.last)) / span if span > 0 else 0.0


class Replication:
    """One independent run of the model with its own random stream."""

    def __init__(self, seed, keep_path=False):
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        self.resources = {r: simpy.PriorityResource(self.env, capacity=c) for r, (c, _, _) in RESOURCES.items()}
        self.in_system = TimeAverage(self.env, keep_path)
        self.busy = {r: TimeAverage(self.env) for r in RESOURCES}
        self.queue = {a: TimeAverage(self.env) for a in ACTIVITIES}
        self.arrived = self.departed = self.balked = 0  # whole run: arrived = departed + in system + balked
        self.counted = {"arrived": 0, "departed": 0, "balked": 0}  # entities that arrived after the warm-up
        self.waits, self.sojourns = [], []
        self.activity_waits = {a: [] for a in ACTIVITIES}

    def route(self, here):
        u, total = self.rng.random(), 0.0
        for to, p in ROUTES[here]:
            total += p
            if u < total:
                return to
        return ROUTES[here][-1][0]

    def source(self, name):
        sample, limit, priority = SOURCES[name]
        n = 0
        while limit is None or n < limit:
            yield self.env.timeout(sample(self.rng))
            n += 1
            self.env.process(self.entity(name, priority))

    def entity(self, source, priority):
        env, arrival = self.env, self.env.now
        counted = arrival >= WARMUP
        self.arrived += 1
        self.counted["arrived"] += counted
        self.in_system.change(+1)
        waited = 0.0
        place = self.route(source)
        while place != "exit":
            resource, sample = ACTIVITIES[place]
            if resource is None:
                yield env.timeout(sample(self.rng))
            else:
                res = self.resources[resource]
                _, places, discipline = RESOURCES[resource]
                if places is not None and res.count >= res.capacity and len(res.queue) >= places:
                    self.balked += 1
                    self.counted["balked"] += counted
                    self.in_system.change(-1)
                    return
                rank = priority if discipline == "priority" else (-env.now if discipline == "LIFO" else 0)
                self.queue[place].change(+1)
                start = env.now
                with res.request(priority=rank) as request:
                    yield request
                    self.queue[place].change(-1)
                    waited += env.now - start
                    if counted:
                        self.activity_waits[place].append(env.now - start)
                    self.busy[resource].change(+1)
                    yield env.timeout(sample(self.rng))
                    self.busy[resource].change(-1)
            place = self.route(place)
        self.departed += 1
        self.in_system.change(-1)
        if counted:
            self.counted["departed"] += 1
            self.waits.append(waited)
            self.sojourns.append(env.now - arrival)

    def end_warmup(self):
        yield self.env.timeout(WARMUP)
        for average in (self.in_system, *self.busy.values(), *self.queue.values()):
            average.reset()

    def run(self):
        for name in SOURCES:
            self.env.process(self.source(name))
        if WARMUP > 0:
            self.env.process(self.end_warmup())
        self.env.run(until=HORIZON)
        span = HORIZON - WARMUP

        def mean(values):
            return statistics.fmean(values) if values else None

        capacity = sum(c for c, _, _ in RESOURCES.values())
        kpis = {
            "wait": mean(self.waits),
            "time_in_system": mean(self.sojourns),
            "number_in_system": self.in_system.mean(),
            "queue_length": sum(q.mean() for q in self.queue.values()),
            "throughput": self.counted["departed"] / span,
            "balked": self.counted["balked"] / self.counted["arrived"] if self.counted["arrived"] else 0.0,
            "utilisation": (sum(b.mean() for b in self.busy.values()) / capacity) if capacity else None,
        }
        for r, (c, _, _) in RESOURCES.items():
            kpis[f"utilisation.{r}"] = self.busy[r].mean() / c
        for a in ACTIVITIES:
            kpis[f"wait.{a}"] = mean(self.activity_waits[a])
            kpis[f"queue_length.{a}"] = self.queue[a].mean()
        counts = {"arrived": self.arrived, "departed": self.departed, "in_system": self.in_system.value,
                  "balked": self.balked}
        return {"kpis": kpis, "counts": counts}


def confidence(values):
    """Mean, sample sd and Student-t 95% confidence interval across replications."""
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "ci95": None, "sd": None, "n": 0}
    m = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": m, "ci95": [m, m], "sd": 0.0, "n": len(values)}
    sd = statistics.stdev(values)
    half = float(stats.t.ppf(0.975, len(values) - 1)) * sd / math.sqrt(len(values))
    return {"mean": m, "ci95": [m - half, m + half], "sd": sd, "n": len(values)}


def simulate(seed=SEED, replications=REPLICATIONS):
    runs, path = [], None
    for i in range(replications):
        rep = Replication(seed * 100003 + i, keep_path=(i == 0))
        out = rep.run()
        out["seed"] = seed * 100003 + i
        runs.append(out)
        if i == 0:
            path = rep.in_system.path
    names = list(runs[0]["kpis"]) if runs else []
    names.sort(key=lambda k: (k.split(".")[0] not in KPIS, k))
    kpis = {k: confidence([r["kpis"][k] for r in runs]) for k in names}
    return {"model": MODEL, "kind": "process", "time_unit": TIME_UNIT, "horizon": HORIZON, "warmup": WARMUP,
            "replications": replications, "seed": seed, "kpis": kpis, "runs": runs}, path


def plot(results, path, where):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if path:
        times, values = zip(*path)
        left.step(times, values, where="post")
    left.set(title="Entities in system (replication 1)", xlabel=f"time ({TIME_UNIT})", ylabel="entities")
    shown = [k for k in results["kpis"] if k.split(".")[0] in KPIS and results["kpis"][k]["mean"] is not None]
    means = [results["kpis"][k]["mean"] for k in shown]
    errors = [[m - results["kpis"][k]["ci95"][0] for k, m in zip(shown, means)],
              [results["kpis"][k]["ci95"][1] - m for k, m in zip(shown, means)]]
    right.bar(range(len(shown)), means, yerr=errors, capsize=4)
    right.set_xticks(range(len(shown)), shown, rotation=30, ha="right")
    right.set(title=f"KPIs: mean and 95% CI over {results['replications']} replications")
    fig.suptitle(MODEL)
    fig.tight_layout()
    fig.savefig(where, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--replications", type=int, default=REPLICATIONS)
    parser.add_argument("--results", default=str(RESULTS_PATH))
    parser.add_argument("--plot", default=str(PLOT_PATH))
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    results, path = simulate(args.seed, max(1, args.replications))
    Path(args.results).write_text(json.dumps(results, indent=1))
    if not args.no_plot:
        plot(results, path, args.plot)
    for name, k in results["kpis"].items():
        if k["mean"] is not None:
            print(f"{name:<28} {k['mean']:.4g}  (95% CI {k['ci95'][0]:.4g} .. {k['ci95'][1]:.4g})")


if __name__ == "__main__":
    main()
'''
