"""Run the xmi suite with `conceptual` and `direct` side by side on one model."""
from __future__ import annotations

import json
import time
from pathlib import Path
from statistics import mean
from typing import Any

from conceptwright import generate
from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.llm import resolve
from conceptwright.tools.xmi.validate import read_xmi

from ..common import ROOT, model_slug, run_batch, select, shared_dir, table, write_report
from .score import prf, score

CASES = ROOT / "evals" / "xmi" / "cases.jsonl"


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_case(case: dict[str, Any], strategy: str, llm: Any, max_repairs: int, trace: Path | None) -> dict[str, Any]:
    mm = Metamodel(shared_dir() / "examples" / "metamodels" / case["metamodel"])
    start = time.perf_counter()
    try:
        res = generate("xmi", case["spec"], model=llm, strategy=strategy, metamodel=mm, max_repairs=max_repairs, trace=trace)
    except Exception as exc:  # a crash is a result too; the batch goes on
        return {"id": case["id"], "strategy": strategy, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - start, "repairs": 0, "tokens_in": 0, "tokens_out": 0,
                **score(None, case["facts"], mm)}
    xmi = res.artefacts.get("xmi")
    graph = read_xmi(xmi, mm)[0] if isinstance(xmi, str) else None
    return {
        "id": case["id"], "strategy": strategy, "ok": res.ok, "repairs": res.repairs, "stop": res.stop_reason,
        "tokens_in": res.usage.input_tokens, "rules": res.rules, "tokens_out": res.usage.output_tokens, "seconds": round(res.seconds, 2),
        "errors": [d.code for d in res.diagnostics if d.severity == "error"][:10],
        "fixes": sum(len(r.fixes) for r in res.trace),
        "pruned": any(d.code == "content-pruned" for d in res.diagnostics),
        **score(graph, case["facts"], mm),
    }


def summarize(rows: list[dict[str, Any]], strategy: str) -> list[object]:
    rs = [r for r in rows if r["strategy"] == strategy]
    if not rs:
        return [strategy] + ["-"] * 11
    ap = prf(sum(r["attr_tp"] for r in rs), sum(r["attr_pred"] for r in rs), sum(r["attr_gold"] for r in rs))
    lp = prf(sum(r["link_tp"] for r in rs), sum(r["link_pred"] for r in rs), sum(r["link_gold"] for r in rs))
    obj_r = sum(r.get("obj_tp", 0) for r in rs) / max(1, sum(r.get("obj_gold", 0) for r in rs))
    pruned = sum(bool(r.get("pruned")) for r in rs)
    return [
        strategy, f"{sum(r['ok'] for r in rs)}/{len(rs)} ({100 * mean(r['ok'] for r in rs):.0f}%)",
        obj_r, ap[0], ap[1], ap[2], lp[0], lp[1], lp[2], pruned, mean(r["repairs"] for r in rs),
        int(mean(r["tokens_in"] + r["tokens_out"] for r in rs)), mean(r["seconds"] for r in rs),
    ]


def report(rows: list[dict[str, Any]], model: str, strategies: list[str]) -> str:
    head = ["strategy", "valid", "object R", "attr P", "attr R", "attr F1", "link P", "link R", "link F1", "pruned (last resort)",
            "repairs (mean)", "tokens (mean)", "seconds (mean)"]
    parts = [
        f"# xmi eval: {model}",
        f"{len({r['id'] for r in rows})} cases, strategies run side by side in one run. "
        "Precision/recall are micro-averaged over the facts of all cases (attributes of keyed objects; links by key); "
        "object R is the share of the description's keyed objects written with their key; 'pruned' counts runs whose "
        "valid model came from the last resort (ids nobody wrote dropped, with a warning).",
        table(head, [summarize(rows, s) for s in strategies]),
        "## Per case",
        table(["case", "strategy", "valid", "repairs", "stop", "object R", "attr F1", "link F1", "seconds", "errors left"],
              [[r["id"], r["strategy"], "yes" if r["ok"] else "no", r["repairs"], r.get("stop", r.get("error", "")),
                r.get("obj_tp", 0) / max(1, r.get("obj_gold", 0)),
                prf(r["attr_tp"], r["attr_pred"], r["attr_gold"])[2], prf(r["link_tp"], r["link_pred"], r["link_gold"])[2],
                r["seconds"], " ".join(r.get("errors", [])[:4])] for r in sorted(rows, key=lambda r: (r["id"], r["strategy"]))]),
    ]
    return "\n\n".join(parts) + "\n"


def main(args: Any) -> int:
    cases = select(load_cases(Path(args.cases) if args.cases else CASES), args.only, args.limit)
    strategies = args.strategies.split(",")
    llm = resolve(args.model)
    slug = model_slug(llm.name)

    def line(row: dict[str, Any]) -> str:
        return f"{row['id']:<16} {row['strategy']:<10} ok={row['ok']!s:<5} repairs={row['repairs']} {row['seconds']:.0f}s"

    rows = run_batch("xmi", slug, cases, lambda case, strategy, trace: run_case(case, str(strategy), llm, args.max_repairs, trace),
                     line, strategies=strategies, results=args.results, resume=args.resume, without=getattr(args, "without", None))
    write_report("xmi", slug, report(rows, llm.name, strategies), args.out)
    return 0
