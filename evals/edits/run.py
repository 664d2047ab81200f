"""Edit suite: a starting model, an instruction, and the facts that must hold after it.

An edit succeeds when the result is valid, every ``expect`` holds, every ``absent`` item is
gone, and everything else of the starting model is unchanged (leaves of the start model
outside ``expect``, ``absent`` and ``may_change`` keep their values). Whole-model and
JSON-Patch edits run side by side on the same model (``--modes whole,patch``).

Selectors: ``objects[id=b2].attrs.pages``, ``objects[attrs.title=Frankenstein].class``,
``features[op=fillet].radius``, ``run.horizon``, ``facts.size`` (the result's key figures).
Expected values: a value (numbers within 1 %), ``{"contains": x}``, ``{"len": n}``,
``{"minutes": n}`` (a time read with its sibling ``unit``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conceptwright import generate

from ..common import ROOT, run_suite, shared_dir, table

CASES = ROOT / "evals" / "edits" / "cases.jsonl"
_STEP = re.compile(r"([^.\[\]]+)(?:\[([^=\]]+)=([^\]]+)\])?")
_MINUTES = {"s": 1 / 60, "second": 1 / 60, "seconds": 1 / 60, "min": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60,
            "hours": 60, "day": 1440, "days": 1440}
MISSING = object()


def _get(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return MISSING
        data = data[part]
    return data


def resolve_path(data: Any, selector: str) -> tuple[Any, Any]:
    """(value, its parent) at ``selector``; MISSING when it is not there."""
    parent: Any = None
    for name, key, want in _STEP.findall(selector):
        if not isinstance(data, dict) or name not in data:
            return MISSING, parent
        parent, data = data, data[name]
        if key:
            if not isinstance(data, list):
                return MISSING, parent
            hit = next((i for i in data if isinstance(i, dict) and str(_get(i, key)) == want), MISSING)
            if hit is MISSING:
                return MISSING, parent
            parent, data = data, hit
    return data, parent


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 0.01 * max(abs(a), abs(b), 1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def holds(data: Any, selector: str, expected: Any) -> bool:
    value, parent = resolve_path(data, selector)
    if value is MISSING:
        return False
    if isinstance(expected, dict) and "contains" in expected:
        return isinstance(value, list) and expected["contains"] in value
    if isinstance(expected, dict) and "len" in expected:
        return isinstance(value, list) and len(value) == expected["len"]
    if isinstance(expected, dict) and "minutes" in expected:
        unit = (parent or {}).get("unit") or data.get("time_unit") or "minute"
        factor = _MINUTES.get(str(unit).lower())
        return factor is not None and isinstance(value, (int, float)) and _close(value * factor, expected["minutes"])
    return _close(value, expected)


def _leaves(data: Any, path: str = "") -> dict[str, Any]:
    """Selector -> scalar (or list of scalars) for every leaf; list items by id/name where they have one."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_leaves(v, f"{path}.{k}" if path else k))
    elif isinstance(data, list) and data and all(isinstance(i, dict) for i in data):
        key = next((k for k in ("id", "name") if all(isinstance(i.get(k), str) for i in data)), None)
        for n, item in enumerate(data):
            sel = f"{path}[{key}={item[key]}]" if key else f"{path}[#{n}]"
            out.update(_leaves({k: v for k, v in item.items() if k != key}, sel) or {sel: "{}"})
    else:
        out[path] = data
    return out


def kept(start: Any, after: Any, case: dict[str, Any]) -> list[str]:
    """The leaves of the start model the instruction did not touch that changed (empty: kept)."""
    touched = [*case.get("expect", {}), *case.get("absent", []), *case.get("may_change", [])]
    before, now = _leaves(start), _leaves(after)

    def free(sel: str) -> bool:
        item = sel.split("]")[0] + "]" if "]" in sel else sel
        return any(sel == t or sel.startswith(t + ".") or sel.startswith(t + "[") or t.startswith(item) for t in touched)

    return [sel for sel, v in before.items() if not free(sel) and (sel not in now or not _close(now[sel], v))]


def score(case: dict[str, Any], result_data: Any, facts: dict[str, Any]) -> dict[str, Any]:
    data = dict(result_data or {}) | {"facts": facts}
    changed = all(holds(data, s, v) for s, v in case.get("expect", {}).items())
    gone = all(resolve_path(data, s)[0] is MISSING for s in case.get("absent", []))
    lost = kept(case["start"], result_data or {}, case) if result_data is not None else ["(no model)"]
    return {"changed": changed and gone, "kept": not lost, "lost": lost[:6]}


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class _Echo:
    """A backend that answers with the start model: the start as the target writes it back (defaults
    dropped, numbers as floats), so that 'kept' compares like with like."""

    provider, name = "echo", "echo"

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, messages: Any, **_: Any) -> Any:
        from conceptwright.llm.base import Completion, Usage

        return Completion(text=self.text, usage=Usage(), latency_s=0.0, model="echo")


_NORMAL: dict[str, Any] = {}


def normal_start(case: dict[str, Any], options: dict[str, Any]) -> Any:
    if case["id"] not in _NORMAL:
        res = generate(case["target"], "keep it", edit=case["start"], model=_Echo(json.dumps(case["start"])),
                       max_repairs=0, **options)
        if not res.ok:
            raise SystemExit(f"edit case {case['id']}: the start model is not valid: "
                             + "; ".join(d.message for d in res.diagnostics if d.severity == "error"))
        _NORMAL[case["id"]] = res.conceptual
    return _NORMAL[case["id"]]


NAME = "edits"
TARGET = "edits"  # each case names its own target
STRATEGIES = ("whole", "patch")  # here: the edit modes
PRIMARY = "success"


def job_options(case: dict[str, Any], mode: str) -> dict[str, Any]:
    """An edit job: the case's instruction applied to its start model in one edit mode."""
    options: dict[str, Any] = {}
    if case.get("metamodel"):
        options["metamodel"] = str(shared_dir() / "examples" / "metamodels" / case["metamodel"])
    return options | {"target": case["target"], "strategy": "conceptual", "edit": normal_start(case, options), "edit_mode": mode}


def score_job(case: dict[str, Any], job_dir: Path, status: Any) -> dict[str, Any]:
    conceptual = job_dir / "conceptual.json"
    data = json.loads(conceptual.read_text()) if conceptual.is_file() else None
    case = case | {"start": normal_start(case, {"metamodel": str(shared_dir() / "examples" / "metamodels" / case["metamodel"])}
                                         if case.get("metamodel") else {})}
    s = score(case, data, status.facts)
    return {"target": case["target"], **s, "success": status.ok and s["changed"] and s["kept"],
            "tokens": status.input_tokens + status.output_tokens}


def primary(row: dict[str, Any]) -> float:
    return float(bool(row.get("success")))


class _Suite:
    """This module as a ``conceptwright eval`` suite (the cases name their targets)."""

    NAME, TARGET, STRATEGIES, PRIMARY = NAME, TARGET, STRATEGIES, PRIMARY

    def __init__(self, targets: list[str] | None) -> None:
        self.targets = targets

    def load_cases(self, path: Path | None) -> list[dict[str, Any]]:
        cases = load_cases(path or CASES)
        return [c | {"spec": c["instruction"]} for c in cases if not self.targets or c["target"] in self.targets]

    job_options = staticmethod(job_options)
    score = staticmethod(score_job)
    primary = staticmethod(primary)

    def report(self, rows: list[dict[str, Any]], title: str, strategies: list[str]) -> str:
        return report(rows, title, strategies)


def report(rows: list[dict[str, Any]], model: str, modes: list[str]) -> str:
    def summary(mode: str, target: str | None = None) -> list[Any]:
        rs = [r for r in rows if r["strategy"] == mode and (target is None or r["target"] == target)]
        n = len(rs) or 1
        return [mode, target or "all", f"{sum(r['success'] for r in rs)}/{len(rs)}", f"{sum(r['ok'] for r in rs)}/{len(rs)}",
                f"{sum(r['changed'] for r in rs)}/{len(rs)}", f"{sum(r['kept'] for r in rs)}/{len(rs)}",
                sum(r["repairs"] for r in rs) / n, sum(r["tokens"] for r in rs) / n, sum(r["seconds"] for r in rs) / n]

    head = ["mode", "target", "success", "valid", "has the change", "keeps the rest", "repairs", "tokens", "seconds"]
    targets = sorted({r["target"] for r in rows})
    parts = [f"# edit suite: {model}",
             "Each edit: a starting model, an instruction, the facts that must hold after it. Success = valid, has the "
             "change and keeps the rest of the start model unchanged. Modes side by side in one run on one model.",
             table(head, [summary(m) for m in modes] + [summary(m, t) for t in targets for m in modes]),
             "## Per edit",
             table(["edit", "mode", "success", "valid", "change", "kept", "repairs", "stop", "lost", "errors"],
                   [[r["id"], r["strategy"], "yes" if r["success"] else "no", "yes" if r["ok"] else "no",
                     "yes" if r["changed"] else "no", "yes" if r["kept"] else "no", r["repairs"],
                     r.get("stop", ""), " ".join(r.get("lost", []))[:80], " ".join(r.get("errors", [])[:3])]
                    for r in sorted(rows, key=lambda r: (r["id"], r["strategy"]))])]
    return "\n\n".join(parts) + "\n"


def main(args: Any) -> int:
    return run_suite(_Suite(args.target.split(",") if args.target else None), args, args.modes.split(","))
