"""Prompts of the sim target: rules for both model kinds and a worked example of each."""
from __future__ import annotations

import json

from ..compilers.sim.spec import guess_kind, sure_kind  # noqa: F401  (prompts name the kind)
from ..compilers.sim.example import ODE, ODE_SPEC, PROCESS, PROCESS_SPEC, STOCK, STOCK_SPEC
from ..llm.base import Message
from .profiles import Profile
from .edit import WHOLE_TAIL
from .template import Template, register

SYSTEM = "You turn descriptions of systems into simulation models written as JSON. Answer with the JSON only."

RULES = """Write one JSON object. Its "kind" is:
- "process" for discrete entities that arrive, wait and are served (customers, patients, parts, calls, cars);
- "continuous" for quantities that change continuously (water levels, populations, money, positions).

"process" models:
- "time_unit": one time unit for all numbers, e.g. "minute"; convert the description's times to it, or give a distribution its own "unit".
- "sources": [{"id", "interarrival": distribution, "next": [{"to": "<first activity id>", "p": 1}]}].
  "arrive every 6 minutes on average" -> {"dist": "exponential", "mean": 6}; "10 per hour" -> {"dist": "exponential", "rate": 10, "unit": "hour"}.
- "resources": [{"id", "capacity": number of servers}]; add "max_queue": waiting places, only when the description limits the queue or the system (at most K in the system with c servers: max_queue = K - c). Waiting chairs or a waiting room are the "max_queue" of the resource, not a resource of their own.
- "activities": [{"id", "resource", "duration": distribution, "next": routes}]: the service itself, its duration the service time. Queues form by themselves in front of a busy resource: a queue is never an activity. Routes say where entities go next, with probabilities that sum to 1; "exit" means they leave.
- distributions: exponential (mean or rate), constant (mean), uniform (low, high), triangular (low, mode, high), normal (mean, sd).
- "run": {"unit": time unit of horizon and warmup, "horizon": simulated time, "warmup", "replications", "seed"}; "kpis": some of wait, time_in_system, number_in_system, queue_length, utilisation, throughput, balked.

"continuous" models:
- "parameters": [{"id", "value", "unit"}] for every constant. Percentages as fractions: "2% a day" -> 0.02 with unit "1/day".
- system dynamics: "stocks": [{"id", "initial", "unit"}] and "flows": [{"id", "from": stock id, "to": stock id, "rate": expression, "unit"}]. "from": "" for an inflow from outside, "to": "" for an outflow to outside. A flow's unit is its stock's unit per time_unit.
- ODEs: "states": [{"id", "initial", "der": expression for the derivative d(id)/dt, "unit"}]. "y starts at 5; dy/dt = -k*y" -> {"id": "y", "initial": 5, "der": "-k*y"}: a state is the quantity itself ("y"), never its derivative ("dy"), and not also a parameter. A second-order equation needs two states (position and velocity).
- "auxiliaries": [{"id", "equation"}] for named intermediate values; "events": [{"when": "h < 0", "stop": true}] to end the run when a condition is met.
- unused lists stay empty: [].
- expressions use the ids, t (time), numbers, + - * / ** ( ) and exp log sqrt sin cos min max abs.
- "time": {"start", "stop", "dt": step, "method": "RK45", or "Euler" when the description asks for Euler}.

ids are short lower-case words joined by _. Use the description's numbers exactly."""

RULES_COMPACT = """One JSON object, "kind" "process" (entities queue for resources) or "continuous" (stocks/flows or ODE states).
process: sources (interarrival, next), resources (capacity), activities (resource, duration, next), run (unit, horizon, warmup, replications, seed). next: [{"to": id or "exit", "p"}], p sum to 1. dist: exponential (mean), constant (mean), uniform (low, high).
continuous: parameters (id, value, unit), stocks (id, initial, unit), flows (id, from, to, rate), states (id, initial, der), time (start, stop, dt, method). Expressions use ids and t."""

def _example(spec: str, data: dict) -> str:
    return f"Description: {spec}\nJSON:\n{json.dumps(data)}"


TEMPLATE = register(Template(
    target="sim", version="1",
    sections={
        "role": SYSTEM,
        "task": RULES,
        "task_compact": RULES_COMPACT,
        "examples": "Examples:\n" + "\n\n".join(_example(s, d) for s, d in
                                                  ((PROCESS_SPEC, PROCESS), (STOCK_SPEC, STOCK), (ODE_SPEC, ODE))),
        "example_process": "Example:\n" + _example(PROCESS_SPEC, PROCESS),
        "example_continuous": "Example:\n" + _example(STOCK_SPEC, STOCK),
        "kind": 'This description needs a "{kind}" model.',
        "request": "Description: {spec}\nJSON:",
        "repair": "The validator found these problems in your JSON:\n{diagnostics}\n{again}\n"
                  "Fix them and write the complete corrected JSON again, keeping what was right.",
        "repair_again": "\nThe system to model (not an example): {spec}",
        "current": "The current model:\n{current}",
        "edit": "Change the model as asked: {instruction}\nKeep everything the change does not touch (same ids and numbers). ",
    },
    placeholders=frozenset({"spec", "kind", "diagnostics", "again", "current", "instruction"}),
    tunable=("role", "task", "repair"),
    forms={"task": lambda p: "task_compact" if p.compact else "task"},
))
T = TEMPLATE


def _kind_line(spec: str, profile: Profile | None = None) -> str | None:
    kind = sure_kind(spec)
    return T.text("kind", profile, kind=kind) if kind else None


def first_messages(spec: str, profile: Profile) -> list[Message]:
    parts = [T.text("task", profile, spec=spec)]
    if profile.example:
        if profile.compact:  # one example, of the kind the description most likely needs
            kind = guess_kind(spec)
            parts.append(T.text("example_process" if kind == "process" else "example_continuous", profile, spec=spec))
        else:
            parts.append(T.text("examples", profile, spec=spec))
    parts += [line for line in (_kind_line(spec, profile),) if line]
    parts.append(T.text("request", profile, spec=spec))
    return [Message(role="system", content=T.text("role", profile, spec=spec)), Message(role="user", content="\n\n".join(parts))]


def repair_message(diagnostics: str, spec: str | None = None, profile: Profile | None = None) -> Message:
    """The repair turn; it repeats the description, so a small model does not fall back on an example."""
    again = T.text("repair_again", profile, spec=spec) if spec else ""
    kind = _kind_line(spec, profile) if spec else None
    again += f"\n{kind}" if kind else ""
    return Message(role="user", content=T.text("repair", profile, diagnostics=diagnostics, again=again))


def edit_messages(current: str, instruction: str, profile: Profile) -> list[Message]:
    """Change an existing simulation model as instructed (the whole changed model comes back)."""
    ctx = {"current": current, "instruction": instruction}
    parts = [T.text("task", profile, **ctx), T.text("current", profile, **ctx), T.text("edit", profile, **ctx) + WHOLE_TAIL]
    return [Message(role="system", content=T.text("role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]
