"""``python -m evals sim-facts``: the stated-facts check against the old wording checks, no LLM.

Replays each case's reference model (a false alarm is any diagnostic on it) and seeded wrong
variants of it (a rate or time in the wrong unit, a server too many or too few, a dropped route
share, a lost queue limit, a horizon in the wrong unit, a changed parameter or initial value); a
variant is caught when the checks report something they did not report on the reference. Models
are parsed as the loop parses them; the description fixes are not applied (they would repair some
variants before any check sees them: this measures the checks).
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conceptwright.compilers.sim import parse_model
from conceptwright.compilers.sim.model import ContinuousModel, ProcessModel
from conceptwright.core.diagnostics import Diagnostic
from conceptwright.evaluation import builtin_cases, read_cases
from conceptwright.tools.sim.check import percent_routes, spec_numbers
from conceptwright.tools.sim.facts import extract, facts_carried

from .common import table, write_report

Data = dict[str, Any]
_OTHER_TIME = {"minute": "hour", "hour": "minute", "s": "minute", "second": "minute", "day": "hour", "year": "day",
               "week": "day"}


def old_checks(spec: str, model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
    """The wording checks the facts check replaces: description-times and description-shares."""
    return spec_numbers(spec, model) + percent_routes(spec, model)


def new_checks(spec: str, model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
    return facts_carried(spec, model)


# --- seeded wrong variants: each returns the changed data, or None where it does not apply ---


def _interarrival_unit(d: Data) -> Data | None:
    if d["kind"] != "process":
        return None
    ia = d["sources"][0]["interarrival"]
    if "rate" in ia and ia.get("unit"):
        ia.pop("unit")  # "30 per hour" read as 30 per minute
    else:
        ia["unit"] = _OTHER_TIME.get(ia.get("unit") or d.get("time_unit", "minute"), "hour")
    return d


def _service_unit(d: Data) -> Data | None:
    if d["kind"] != "process":
        return None
    du = d["activities"][0]["duration"]
    du["unit"] = _OTHER_TIME.get(du.get("unit") or d.get("time_unit", "minute"), "hour")
    return d


def _servers(d: Data) -> Data | None:
    if d["kind"] != "process" or not d.get("resources"):
        return None
    r = d["resources"][0]
    r["capacity"] = r.get("capacity", 1) + 1 if r.get("capacity", 1) == 1 else r["capacity"] - 1
    return d


def _dropped_share(d: Data) -> Data | None:
    if d["kind"] != "process":
        return None
    for e in (*d["sources"], *d["activities"]):
        if len(e.get("next", [])) > 1:
            keep = next(r for r in e["next"] if r["to"] != "exit")
            e["next"] = [{"to": keep["to"], "p": 1}]
            return d
    return None


def _queue_limit(d: Data) -> Data | None:
    if d["kind"] != "process":
        return None
    for r in d.get("resources", []):
        if r.get("max_queue") is not None:
            r.pop("max_queue")
            return d
    return None


def _horizon_unit(d: Data) -> Data | None:
    if d["kind"] == "process":
        d["run"]["horizon"] = d["run"]["horizon"] / 60
        d["run"]["warmup"] = d["run"].get("warmup", 0) / 60
    else:
        d["time"]["stop"] = d["time"]["stop"] * 60
        d["time"].pop("dt", None)
    return d


def _interarrival_value(d: Data) -> Data | None:
    if d["kind"] != "process":
        return None
    ia = d["sources"][0]["interarrival"]
    key = "mean" if "mean" in ia else "rate"
    ia[key] = ia[key] * 2
    return d


def _parameter_value(d: Data) -> Data | None:
    if d["kind"] != "continuous" or not d.get("parameters"):
        return None
    p = next((p for p in d["parameters"] if p["value"]), None)
    if p is None:
        return None
    p["value"] = p["value"] * 2
    return d


def _parameter_unit(d: Data) -> Data | None:
    if d["kind"] != "continuous":
        return None
    for p in d.get("parameters", []):
        unit = p.get("unit") or ""
        for word, other in _OTHER_TIME.items():
            if unit.endswith("/" + word):
                p["unit"] = unit[: -len(word)] + other
                for f in d.get("flows", []):  # keep the model's own units consistent: only the time unit is wrong
                    if f.get("unit", "").endswith("/" + word) and f.get("rate") == p["id"]:
                        f["unit"] = f["unit"][: -len(word)] + other
                return d
    return None


def _initial_value(d: Data) -> Data | None:
    if d["kind"] != "continuous":
        return None
    for s in (*d.get("stocks", []), *d.get("states", [])):
        if s.get("initial"):
            s["initial"] = s["initial"] * 2
            return d
    return None


VARIANTS: dict[str, Callable[[Data], Data | None]] = {
    "interarrival or rate in the wrong unit": _interarrival_unit,
    "service time in the wrong unit": _service_unit,
    "a server too many or too few": _servers,
    "a dropped route share": _dropped_share,
    "a lost queue limit": _queue_limit,
    "horizon in the wrong unit": _horizon_unit,
    "another interarrival value": _interarrival_value,
    "another parameter value": _parameter_value,
    "a rate constant in the wrong time unit": _parameter_unit,
    "another initial value": _initial_value,
}


def _model(data: Data) -> ProcessModel | ContinuousModel | None:
    model, _diags, _fixes = parse_model(copy.deepcopy(data))
    return model


def replay(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """False alarms on the references and catches on the variants, old checks against facts."""
    refs, rows, missed = [], {name: {"n": 0, "old": 0, "new": 0} for name in VARIANTS}, []
    for case in cases:
        spec, ref = case["spec"], _model(case["reference"])
        if ref is None:
            continue
        base_old = {d.message for d in old_checks(spec, ref)}
        base_new = {d.message for d in new_checks(spec, ref)}
        refs.append({"id": case["id"], "facts": len(extract(spec)), "old": sorted(base_old), "new": sorted(base_new)})
        for name, mutate in VARIANTS.items():
            data = mutate(copy.deepcopy(case["reference"]))
            model = _model(data) if data is not None else None
            if model is None:
                continue
            old = {d.message for d in old_checks(spec, model)} - base_old
            new = {d.message for d in new_checks(spec, model)} - base_new
            rows[name]["n"] += 1
            rows[name]["old"] += bool(old)
            rows[name]["new"] += bool(new)
            if not new:
                missed.append((case["id"], name))
    return {"references": refs, "variants": rows, "missed": missed}


def report(result: dict[str, Any]) -> str:
    refs, rows = result["references"], result["variants"]
    n = len(refs)
    fa_old = sum(bool(r["old"]) for r in refs)
    fa_new = sum(bool(r["new"]) for r in refs)
    total = {k: sum(v[k] for v in rows.values()) for k in ("n", "old", "new")}
    head = ["variant", "variants", "caught: old wording checks", "caught: facts-carried"]
    body = [[name, v["n"], f"{v['old']}/{v['n']}", f"{v['new']}/{v['n']}"] for name, v in rows.items() if v["n"]]
    body.append(["**all**", total["n"], f"**{total['old']}/{total['n']}**", f"**{total['new']}/{total['n']}**"])
    parts = [
        "# sim: stated facts against the old wording checks (replay, no LLM)",
        __doc__.split("\n\n", 1)[1].strip(),
        "Old = `sim.description-times` + `sim.description-shares`; new = `sim.facts-carried`.",
        table(["", "old wording checks", "facts-carried"],
              [["references with a false alarm", f"{fa_old}/{n}", f"{fa_new}/{n}"],
               ["variants caught", f"{total['old']}/{total['n']}", f"{total['new']}/{total['n']}"]]),
        "## Per variant", table(head, body),
        "## False alarms on the references",
        table(["case", "facts stated", "old", "facts-carried"],
              [[r["id"], r["facts"], " / ".join(r["old"]) or "-", " / ".join(r["new"]) or "-"] for r in refs]),
        "## Variants the facts check misses",
        "\n".join(f"- {cid}: {name}" for cid, name in result["missed"]) or "none",
    ]
    return "\n\n".join(parts) + "\n"


def main(args: Any) -> int:
    cases = read_cases(Path(args.cases)) if getattr(args, "cases", None) else read_cases(builtin_cases("sim"))
    result = replay(cases)
    out = getattr(args, "out", None)
    write_report("sim-facts", "replay", report(result), out or str(Path(__file__).parent / "reports" / "sim-facts.md"))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0
