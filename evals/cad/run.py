"""Run the cad suite with `conceptual` and `direct` side by side on one model: the dev set
(../shared/examples/cad/dev_cases.jsonl, CADPrompt cases with ground-truth CadQuery code)
plus our own cases (evals/cad/cases.jsonl). Ground truth and metrics run in the same
sandboxed CAD worker as the generated code."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from statistics import mean, median
from typing import Any

from conceptwright import generate
from conceptwright.llm import resolve
from conceptwright.tools.cad.runner import CadJob, CadRunner, CodeBlock, shared_runner

from ..common import ROOT, model_slug, run_batch, select, shared_dir, table, write_report

CASES = ROOT / "evals" / "cad" / "cases.jsonl"
METRICS = (Path(__file__).parent / "metrics.py").read_text()


def load_cases(extra: Path = CASES, dev: Path | None = None) -> list[dict[str, Any]]:
    """Dev set first (from ../shared, never copied here), then our own cases."""
    dev = dev or shared_dir() / "examples" / "cad" / "dev_cases.jsonl"
    rows = []
    for path, source in ((dev, "dev"), (extra, "own")):
        rows += [json.loads(line) | {"set": source} for line in path.read_text().splitlines() if line.strip()]
    return rows


def ground_truth(case: dict[str, Any], runner: CadRunner) -> bytes | None:
    """STEP of the case's ground-truth solid (its code run in the sandbox)."""
    job = CadJob(blocks=[CodeBlock(name="ground_truth", code=case["gt_code"])], result_names=["result", "part"],
                 exports=["step"], verify=False, timeout_s=120)
    return runner.run(job).files.get("part.step")


def metrics(gen: bytes | None, gt: bytes | None, runner: CadRunner) -> dict[str, Any]:
    if gen is None or gt is None:
        return {"valid_solid": False, "error": "no STEP" if gen is None else "no ground truth"}
    job = CadJob(blocks=[CodeBlock(name="metrics", code=METRICS)], files={"gen.step": gen, "gt.step": gt},
                 result_names=[], exports=[], verify=False, timeout_s=300, memory_mb=4096)
    report = runner.run(job)
    lines = report.stdout.strip().splitlines()
    if not lines:
        return {"valid_solid": False, "error": report.killed_reason or (report.error.message if report.error else "no output")}
    return json.loads(lines[-1])


def run_case(case: dict[str, Any], strategy: str, llm: Any, max_repairs: int, trace: Path | None,
             gt: bytes | None, runner: CadRunner) -> dict[str, Any]:
    start = time.perf_counter()
    row: dict[str, Any] = {"id": case["id"], "set": case["set"], "strategy": strategy}
    try:
        res = generate("cad", case["spec"], model=llm, strategy=strategy, max_repairs=max_repairs, trace=trace,
                       runner=runner, pictures=False)
    except Exception as exc:  # a crash is a result too; the batch goes on
        return row | {"ok": False, "error": f"{type(exc).__name__}: {exc}", "seconds": round(time.perf_counter() - start, 2),
                      "repairs": 0, "tokens_in": 0, "tokens_out": 0, "valid_solid": False}
    step = res.artefacts.get("step")
    row |= {"ok": res.ok, "repairs": res.repairs, "stop": res.stop_reason, "tokens_in": res.usage.input_tokens, "rules": res.rules,
            "tokens_out": res.usage.output_tokens, "seconds": round(res.seconds, 2),
            "errors": [d.code for d in res.diagnostics if d.severity == "error"][:10]}
    return row | metrics(step if isinstance(step, bytes) else None, gt, runner)


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
        mean(r.get("iou", 0.0) if r.get("valid_solid") else 0.0 for r in rs),
        _median([r["bbox_error"] for r in solids if "bbox_error" in r]),
        _median([r["volume_error"] for r in solids if "volume_error" in r]),
        mean(r["repairs"] for r in rs),
        int(mean(r["tokens_in"] + r["tokens_out"] for r in rs)),
        mean(r["seconds"] for r in rs),
    ]


def _fmt(v: Any) -> str:
    return "-" if v is None else "inf" if isinstance(v, float) and math.isinf(v) else f"{v:.3f}" if isinstance(v, float) else str(v)


def report(rows: list[dict[str, Any]], model: str, strategies: list[str]) -> str:
    head = ["strategy", "passes all checks", "valid solid", "Chamfer median (solids)", "Chamfer median (all, failure=inf)",
            "IoU mean (failure=0)", "bbox err median", "volume err median", "repairs (mean)", "tokens (mean)", "seconds (mean)"]
    sets = sorted({r["set"] for r in rows})
    counts = ", ".join(f"{s}: {len({r['id'] for r in rows if r['set'] == s})}" for s in sets)
    parts = [
        f"# cad eval: {model}",
        f"{len({r['id'] for r in rows})} cases ({counts}), "
        "strategies run side by side in one run. Metrics against the ground-truth CadQuery solid: both normalised "
        "(centroid to origin, largest bounding-box side = 1); Chamfer = (mean squared NN distance both ways) x 1000 over "
        "10,000 surface samples; IoU from exact OCCT boolean volumes; bbox and volume errors relative, before normalising.",
        table(head, [summarize(rows, s) for s in strategies]),
    ]
    for s in sets:
        sub = [r for r in rows if r["set"] == s]
        parts += [f"## {s} cases", table(head, [summarize(sub, st) for st in strategies])]
    parts += [
        "## Per case",
        table(["case", "strategy", "checks", "solid", "repairs", "stop", "Chamfer", "IoU", "bbox err", "vol err", "seconds", "errors left"],
              [[r["id"], r["strategy"], "yes" if r["ok"] else "no", "yes" if r.get("valid_solid") else "no", r["repairs"],
                r.get("stop", r.get("error", "")), _fmt(r.get("chamfer")), _fmt(r.get("iou")), _fmt(r.get("bbox_error")),
                _fmt(r.get("volume_error")), r["seconds"], " ".join(r.get("errors", [])[:4])]
               for r in sorted(rows, key=lambda r: (r["set"], r["id"], r["strategy"]))]),
    ]
    return "\n\n".join(parts) + "\n"


def main(args: Any) -> int:
    cases = select(load_cases(Path(args.cases) if getattr(args, "cases", None) else CASES), args.only, args.limit)
    strategies = args.strategies.split(",")
    llm = resolve(args.model)
    slug = model_slug(llm.name)
    runner = shared_runner()
    truths: dict[str, bytes | None] = {}

    def run_one(case: dict[str, Any], strategy: str | None, trace: Path) -> dict[str, Any]:
        if case["id"] not in truths:
            truths[case["id"]] = ground_truth(case, runner)
        return run_case(case, str(strategy), llm, args.max_repairs, trace, truths[case["id"]], runner)

    def line(row: dict[str, Any]) -> str:
        return (f"{row['id']:<24} {row['strategy']:<10} ok={row['ok']!s:<5} solid={row.get('valid_solid')!s:<5} "
                f"chamfer={_fmt(row.get('chamfer'))} repairs={row['repairs']} {row['seconds']:.0f}s")

    rows = run_batch("cad", slug, cases, run_one, line, strategies=strategies, results=getattr(args, "results", None),
                     resume=args.resume, without=getattr(args, "without", None))
    write_report("cad", slug, report(rows, llm.name, strategies), args.out)
    return 0
