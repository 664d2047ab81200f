"""The cad suite: parts scored against each case's ground-truth CadQuery solid (Chamfer, IoU,
bounding box, volume). Ground truth and metrics run in the same sandboxed CAD worker as the
generated code. The built-in suite is the shared dev set (CADPrompt cases) plus our own cases."""
from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import mean, median
from typing import Any

from ..agent.batch import JobStatus
from ..tools.cad.runner import CadJob, CodeBlock, shared_runner
from . import builtin_cases, read_cases, shared_dir
from .report import table

TARGET = "cad"
STRATEGIES = ("conceptual", "direct")
PRIMARY = "IoU"
METRICS = (Path(__file__).parent / "cad_metrics.py").read_text(encoding="utf-8")
_TRUTH: dict[str, bytes | None] = {}


def load_cases(path: Path | None) -> list[dict[str, Any]]:
    """A cases file; the built-in suite is the dev set (from the shared folder, never copied here), then our own."""
    if path is not None:
        return [c | {"set": c.get("set", path.stem)} for c in read_cases(path)]
    dev = shared_dir() / "examples" / "cad" / "dev_cases.jsonl"
    return [c | {"set": "dev"} for c in read_cases(dev)] + [c | {"set": "own"} for c in read_cases(builtin_cases("cad"))]


def job_options(case: dict[str, Any], strategy: str) -> dict[str, Any]:
    return {"pictures": False}


def ground_truth(case: dict[str, Any]) -> bytes | None:
    """STEP of the case's ground-truth solid (its code run in the sandbox), once per case."""
    if case["id"] not in _TRUTH:
        job = CadJob(blocks=[CodeBlock(name="ground_truth", code=case["gt_code"])], result_names=["result", "part"],
                     exports=["step"], verify=False, timeout_s=120)
        _TRUTH[case["id"]] = shared_runner().run(job).files.get("part.step")
    return _TRUTH[case["id"]]


def metrics(gen: bytes | None, gt: bytes | None) -> dict[str, Any]:
    if gen is None or gt is None:
        return {"valid_solid": False, "metrics_error": "no STEP" if gen is None else "no ground truth"}
    job = CadJob(blocks=[CodeBlock(name="metrics", code=METRICS)], files={"gen.step": gen, "gt.step": gt},
                 result_names=[], exports=[], verify=False, timeout_s=300, memory_mb=4096)
    report = shared_runner().run(job)
    lines = report.stdout.strip().splitlines()
    if not lines:
        return {"valid_solid": False,
                "metrics_error": report.killed_reason or (report.error.message if report.error else "no output")}
    return json.loads(lines[-1])


def score(case: dict[str, Any], job_dir: Path, status: JobStatus) -> dict[str, Any]:
    step = job_dir / "part.step"
    gt = ground_truth(case) if "gt_code" in case else None
    return {"set": case.get("set", ""), **metrics(step.read_bytes() if step.is_file() else None, gt)}


def primary(row: dict[str, Any]) -> float:
    return float(row.get("iou", 0.0)) if row.get("valid_solid") else 0.0


def _median(values: list[float]) -> float | str:
    return median(values) if values else "-"


def summarize(rows: list[dict[str, Any]], strategy: str) -> list[object]:
    rs = [r for r in rows if r["strategy"] == strategy]
    if not rs:
        return [strategy] + ["-"] * 10
    solids = [r for r in rs if r.get("valid_solid")]
    cd_all = [r["chamfer"] if r.get("valid_solid") and "chamfer" in r else math.inf for r in rs]
    return [
        strategy,
        f"{sum(r['ok'] for r in rs)}/{len(rs)} ({100 * mean(r['ok'] for r in rs):.0f}%)",
        f"{len(solids)}/{len(rs)} ({100 * len(solids) / len(rs):.0f}%)",
        _median([r["chamfer"] for r in solids if "chamfer" in r]),
        median(cd_all) if cd_all else "-",
        mean(primary(r) for r in rs),
        _median([r["bbox_error"] for r in solids if "bbox_error" in r]),
        _median([r["volume_error"] for r in solids if "volume_error" in r]),
        mean(r["repairs"] for r in rs),
        int(mean(r["tokens_in"] + r["tokens_out"] for r in rs)),
        mean(r["seconds"] for r in rs),
    ]


def _fmt(v: Any) -> str:
    return "-" if v is None else "inf" if isinstance(v, float) and math.isinf(v) else f"{v:.3f}" if isinstance(v, float) else str(v)


def report(rows: list[dict[str, Any]], title: str, strategies: list[str]) -> str:
    head = ["strategy", "passes all checks", "valid solid", "Chamfer median (solids)", "Chamfer median (all, failure=inf)",
            "IoU mean (failure=0)", "bbox err median", "volume err median", "repairs (mean)", "tokens (mean)", "seconds (mean)"]
    sets = sorted({r.get("set", "") for r in rows})
    counts = ", ".join(f"{s}: {len({r['id'] for r in rows if r.get('set') == s})}" for s in sets)
    parts = [
        f"# cad eval: {title}",
        f"{len({r['id'] for r in rows})} cases ({counts}), "
        "strategies run side by side in one run. Metrics against the ground-truth CadQuery solid: both normalised "
        "(centroid to origin, largest bounding-box side = 1); Chamfer = (mean squared NN distance both ways) x 1000 over "
        "10,000 surface samples; IoU from exact OCCT boolean volumes; bbox and volume errors relative, before normalising.",
        table(head, [summarize(rows, s) for s in strategies]),
    ]
    if len(sets) > 1:
        for s in sets:
            sub = [r for r in rows if r.get("set") == s]
            parts += [f"## {s} cases", table(head, [summarize(sub, st) for st in strategies])]
    parts += [
        "## Per case",
        table(["case", "model", "strategy", "checks", "solid", "repairs", "stop", "Chamfer", "IoU", "bbox err", "vol err", "seconds",
               "errors left"],
              [[r["id"], r["model"], r["strategy"], "yes" if r["ok"] else "no", "yes" if r.get("valid_solid") else "no", r["repairs"],
                r.get("stop", ""), _fmt(r.get("chamfer")), _fmt(r.get("iou")), _fmt(r.get("bbox_error")),
                _fmt(r.get("volume_error")), r["seconds"], " ".join(r.get("errors", [])[:4])]
               for r in sorted(rows, key=lambda r: (r.get("set", ""), r["id"], r["model"], r["strategy"]))]),
    ]
    return "\n\n".join(parts) + "\n"
