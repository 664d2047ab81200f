"""Shared eval plumbing: locating ../shared, suites through `conceptwright eval`'s engine, tables and reports."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conceptwright import evaluation
from conceptwright.agent.protocol import InputError
from conceptwright.evaluation.report import table  # noqa: F401 - the evals' tables

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared examples folder: $CONCEPTWRIGHT_SHARED or ../shared beside the repo."""
    try:
        return evaluation.shared_dir()
    except InputError as exc:
        raise SystemExit(str(exc)) from None




RUNS = ROOT / "evals" / "runs"
REPORTS = ROOT / "evals" / "reports"


def model_slug(name: str) -> str:
    return name.replace("gguf:", "").replace(":", "-").replace("/", "-")


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
