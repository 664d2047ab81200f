"""The xmi suite: instance models scored against each case's facts (objects by key, attributes, links)."""
from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any

from ..agent.batch import JobStatus
from ..agent.protocol import InputError
from ..compilers.xmi.metamodel import Metamodel
from ..tools.xmi.validate import read_xmi
from . import builtin_cases, read_cases, shared_dir
from .report import table
from .xmi_score import prf, score as score_facts

TARGET = "xmi"
STRATEGIES = ("conceptual", "direct")
PRIMARY = "object R"
_MM: dict[str, Metamodel] = {}


def load_cases(path: Path | None) -> list[dict[str, Any]]:
    path = path or builtin_cases("xmi")
    cases = read_cases(path)
    for case in cases:
        case["metamodel"] = str(metamodel_path(case, path.parent))
    return cases


def metamodel_path(case: dict[str, Any], here: Path) -> Path:
    """A case's metamodel: a path, a file beside the cases file, or one of the shared examples."""
    name = case.get("metamodel")
    if not name:
        raise InputError(f"xmi case {case['id']}: no 'metamodel'")
    for path in (Path(name), here / name):
        if path.is_file():
            return path.resolve()
    path = shared_dir() / "examples" / "metamodels" / name
    if path.is_file():
        return path
    raise InputError(f"xmi case {case['id']}: metamodel {name} not found beside the cases or in the shared examples")


def job_options(case: dict[str, Any], strategy: str) -> dict[str, Any]:
    return {"metamodel": case["metamodel"]}


def _mm(path: str) -> Metamodel:
    if path not in _MM:
        _MM[path] = Metamodel(path)
    return _MM[path]


def score(case: dict[str, Any], job_dir: Path, status: JobStatus) -> dict[str, Any]:
    mm = _mm(case["metamodel"])
    xmi = job_dir / "model.xmi"
    graph = read_xmi(xmi.read_text(encoding="utf-8"), mm)[0] if xmi.is_file() else None
    return {"pruned": "content-pruned" in status.warnings + status.errors,
            **score_facts(graph, case.get("facts", {}), mm)}


def primary(row: dict[str, Any]) -> float:
    return row.get("obj_tp", 0) / max(1, row.get("obj_gold", 0))


def summarize(rows: list[dict[str, Any]], strategy: str) -> list[object]:
    rs = [r for r in rows if r["strategy"] == strategy]
    if not rs:
        return [strategy] + ["-"] * 12
    ap = prf(sum(r["attr_tp"] for r in rs), sum(r["attr_pred"] for r in rs), sum(r["attr_gold"] for r in rs))
    lp = prf(sum(r["link_tp"] for r in rs), sum(r["link_pred"] for r in rs), sum(r["link_gold"] for r in rs))
    obj_r = sum(r.get("obj_tp", 0) for r in rs) / max(1, sum(r.get("obj_gold", 0) for r in rs))
    return [
        strategy, f"{sum(r['ok'] for r in rs)}/{len(rs)} ({100 * mean(r['ok'] for r in rs):.0f}%)",
        obj_r, ap[0], ap[1], ap[2], lp[0], lp[1], lp[2], sum(bool(r.get("pruned")) for r in rs), mean(r["repairs"] for r in rs),
        int(mean(r["tokens_in"] + r["tokens_out"] for r in rs)), mean(r["seconds"] for r in rs),
    ]


def report(rows: list[dict[str, Any]], title: str, strategies: list[str]) -> str:
    head = ["strategy", "valid", "object R", "attr P", "attr R", "attr F1", "link P", "link R", "link F1", "pruned (last resort)",
            "repairs (mean)", "tokens (mean)", "seconds (mean)"]
    models = sorted({r["model"] for r in rows})
    parts = [
        f"# xmi eval: {title}",
        f"{len({r['id'] for r in rows})} cases, strategies run side by side in one run. "
        "Precision/recall are micro-averaged over the facts of all cases (attributes of keyed objects; links by key); "
        "object R is the share of the description's keyed objects written with their key; 'pruned' counts runs whose "
        "valid model came from the last resort (ids nobody wrote dropped, with a warning).",
    ]
    for m in models:
        sub = [r for r in rows if r["model"] == m]
        parts += ([f"## {m}"] if len(models) > 1 else []) + [table(head, [summarize(sub, s) for s in strategies])]
    parts += [
        "## Per case",
        table(["case", "model", "strategy", "valid", "repairs", "stop", "object R", "attr F1", "link F1", "seconds", "errors left"],
              [[r["id"], r["model"], r["strategy"], "yes" if r["ok"] else "no", r["repairs"], r.get("stop", ""), primary(r),
                prf(r["attr_tp"], r["attr_pred"], r["attr_gold"])[2], prf(r["link_tp"], r["link_pred"], r["link_gold"])[2],
                r["seconds"], " ".join(r.get("errors", [])[:4])] for r in sorted(rows, key=lambda r: (r["id"], r["model"], r["strategy"]))]),
    ]
    return "\n\n".join(parts) + "\n"
