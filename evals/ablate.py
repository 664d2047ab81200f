"""What each rule is worth: rerun the cases a rule fired on, with that rule off, and compare.

    python -m evals ablate xmi|sim|cad --model MODEL --base RESULTS.jsonl [--rules r1,r2] [--cases FILE]

A rule changes nothing on a case it did not fire on (the run is deterministic at a fixed seed),
so only the cases where it fired are rerun. The report has one row per rule: purpose, the
cases it fired on, and validity and score (xmi: object recall; sim: pass; cad: valid solid)
with and without it on those cases.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from conceptwright.core import rules
from conceptwright.llm import resolve
from conceptwright.targets import get_target

from .common import REPORTS, RUNS, model_slug, table


def _score(suite: str, row: dict[str, Any]) -> float:
    if suite == "xmi":
        return row.get("obj_tp", 0) / max(1, row.get("obj_gold", 0))
    if suite == "sim":
        return float(bool(row.get("matches")))
    return float(bool(row.get("valid_solid")))


def _suite_args(suite: str, args: argparse.Namespace, only: list[str], rule: str, strategy: str | None) -> argparse.Namespace:
    ns = argparse.Namespace(model=args.model, cases=args.cases, max_repairs=args.max_repairs, limit=0, only=",".join(only),
                            out=str(RUNS / f"ablate-{suite}-{rule}.md"), results=str(RUNS / f"ablate-{suite}-{rule}.jsonl"),
                            resume=False, without=rule)
    if suite in ("xmi", "cad"):
        ns.strategies = strategy or "conceptual"
    return ns


def main(args: argparse.Namespace) -> int:
    suite = args.for_suite
    get_target(suite)  # registers the target's rules
    base = [json.loads(line) for line in Path(args.base).read_text().splitlines() if line.strip()]
    base = [r for r in base if r.get("strategy") in (None, "conceptual")]
    fired: dict[str, list[str]] = {}
    for row in base:
        for name in row.get("rules", []):
            fired.setdefault(name, []).append(row["id"])
    wanted = args.rules.split(",") if args.rules else sorted(fired)
    if args.all_rules:
        wanted = sorted(n for n, r in rules.REGISTRY.items() if r.target == suite)
    if suite == "xmi":
        from .xmi.run import main as run_suite
    elif suite == "sim":
        from .sim.run import main as run_suite
    else:
        from .cad.run import main as run_suite
    rows = []
    for name in wanted:
        ids = fired.get(name, [])
        if not ids or args.no_rerun:
            before = [r for r in base if r["id"] in ids]
            rows.append([name, rules.REGISTRY[name].purpose, len(ids),
                         f"{sum(bool(r['ok']) for r in before)}/{len(ids)}" if ids else "-", "-",
                         sum(_score(suite, r) for r in before) / len(ids) if ids else "-", "-"])
            continue
        ns = _suite_args(suite, args, ids, name, "conceptual")
        run_suite(ns)
        after = {r["id"]: r for r in (json.loads(x) for x in Path(ns.results).read_text().splitlines() if x.strip())}
        before = {r["id"]: r for r in base if r["id"] in ids}
        rows.append([
            name, rules.REGISTRY[name].purpose, len(ids),
            f"{sum(bool(before[i]['ok']) for i in ids)}/{len(ids)}", f"{sum(bool(after[i]['ok']) for i in ids if i in after)}/{len(ids)}",
            sum(_score(suite, before[i]) for i in ids) / len(ids),
            sum(_score(suite, after[i]) for i in ids if i in after) / len(ids),
        ])
    metric = {"xmi": "object recall", "sim": "pass", "cad": "valid solid"}[suite]
    name = args.model if args.model == "reference" else resolve(args.model).name
    text = "\n\n".join([
        f"# What each {suite} rule is worth: {name}",
        f"Base run: `{args.base}` ({len(base)} cases). "
        + ("Counts only: no case was rerun ('-' where the rule was not switched off). " if args.no_rerun else
           "Each rule's cases were rerun with only that rule off. ")
        + f"Score = {metric}, averaged over the cases the rule fired on.",
        table(["rule", "purpose", "fired on (cases)", "valid with", "valid without", f"{metric} with", f"{metric} without"], rows),
    ]) + "\n"
    out = Path(args.out) if args.out else REPORTS / f"rules-{suite}-{model_slug(name)}.md"
    out.write_text(text)
    print(text)
    return 0
