"""Shared eval plumbing: locating ../shared, case selection, resumable batches, markdown tables and reports."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from conceptwright import evaluation
from conceptwright.agent.protocol import InputError
from conceptwright.core import rules

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared examples folder: $CONCEPTWRIGHT_SHARED or ../shared beside the repo."""
    try:
        return evaluation.shared_dir()
    except InputError as exc:
        raise SystemExit(str(exc)) from None


def table(headers: list[str], rows: list[list[object]]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


RUNS = ROOT / "evals" / "runs"
REPORTS = ROOT / "evals" / "reports"


def select(cases: list[dict[str, Any]], only: str | None, limit: int = 0) -> list[dict[str, Any]]:
    """The cases named by --only (comma-separated ids), then the first --limit of them."""
    if only:
        cases = [c for c in cases if c["id"] in only.split(",")]
    return cases[:limit] if limit else cases


def model_slug(name: str) -> str:
    return name.replace("gguf:", "").replace(":", "-").replace("/", "-")


def run_batch(suite: str, slug: str, cases: list[dict[str, Any]], run_one: Callable[[dict[str, Any], str | None, Path], dict],
              line: Callable[[dict[str, Any]], str], *, strategies: list[str] | None = None, results: str | None = None,
              resume: bool = False, without: str | None = None) -> list[dict[str, Any]]:
    """Run every (case, strategy) not done yet and append its row to the results JSONL as soon as
    it finishes, so a killed batch loses nothing: ``resume`` keeps the rows already there.
    ``run_one(case, strategy, trace_path)`` returns the row; traces go beside the results.
    ``without``: comma-separated rules switched off for the whole batch (``--without``)."""
    off = {r.strip() for r in (without or "").split(",") if r.strip()}
    path = Path(results) if results else RUNS / f"{suite}-{slug}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    done: dict[tuple[str, str | None], dict[str, Any]] = {}
    if resume and path.exists():
        for text in path.read_text().splitlines():
            if text.strip():
                row = json.loads(text)
                done[(row["id"], row.get("strategy"))] = row
    elif path.exists():
        path.unlink()
    rows = list(done.values())
    with path.open("a") as fh:
        for case in cases:
            for strategy in strategies or [None]:
                if (case["id"], strategy) in done:
                    continue
                with rules.disabled(off):
                    row = run_one(case, strategy, path.with_suffix(".trace.jsonl"))
                row["without"] = sorted(off)
                rows.append(row)
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(line(row), flush=True)
    ids = {c["id"] for c in cases}
    return [r for r in rows if r["id"] in ids]


def write_report(suite: str, slug: str, text: str, out: str | None = None) -> Path:
    path = Path(out) if out else REPORTS / f"{suite}-{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text)
    return path


def run_suite(suite: str | Any, args: Any, strategies: list[str] | None = None) -> int:
    """A suite through ``conceptwright eval``'s engine (the one batch engine): its folder is
    evals/runs/SUITE-MODEL/ (or --results without .jsonl), its rows go to --results too, and its
    report to --out (default evals/reports/SUITE-MODEL.md)."""
    from conceptwright.llm import resolve

    name = suite if isinstance(suite, str) else suite.NAME
    model = args.model
    label = model if model == "reference" else resolve(model).name
    slug = model_slug(label)
    results = Path(args.results) if getattr(args, "results", None) else RUNS / f"{name}-{slug}.jsonl"
    without = [r.strip() for r in (getattr(args, "without", None) or "").split(",") if r.strip()]
    run = evaluation.run_eval(suite, results.with_suffix(""), models=[model], strategies=strategies,
                              cases=getattr(args, "cases", None), max_repairs=args.max_repairs,
                              only=args.only.split(",") if getattr(args, "only", None) else None, limit=args.limit,
                              without=without, resume=getattr(args, "resume", False), title=label)
    results.write_text("".join(json.dumps(r) + "\n" for r in run.rows))
    write_report(name, slug, run.report_md.read_text(), getattr(args, "out", None))
    return 0
