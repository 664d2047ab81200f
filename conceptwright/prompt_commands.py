"""The command line of prompt variants: ``conceptwright calibrate`` and ``conceptwright prompts
list|show|promote|transfer`` (see evaluation/calibrate.py and evaluation/transfer.py)."""
from __future__ import annotations

import argparse
import difflib

from .agent.protocol import InputError
from .prompts import variant as V
from .prompts.template import template_for

TARGETS = ("xmi", "cad", "sim")


def add_parsers(sub: argparse._SubParsersAction, parser_class: type[argparse.ArgumentParser]) -> None:
    cal = sub.add_parser("calibrate", help="adapt a target's prompt sections to a model (GEPA), checked on held-out cases")
    cal.add_argument("--model", required=True, help="the model to calibrate for (smollm2, gguf:PATH, openai:NAME)")
    cal.add_argument("--target", required=True, choices=TARGETS)
    cal.add_argument("--cases", metavar="CASES.jsonl", help="eval cases (default: the built-in suite)")
    cal.add_argument("--limit", type=int, default=0, metavar="N", help="the first N cases only")
    cal.add_argument("--budget", type=int, default=40, metavar="N", help="LLM calls of the search, reflection included (default 40)")
    cal.add_argument("--minibatch", type=int, default=3, metavar="N", help="cases per reflection step (default 3)")
    cal.add_argument("--reflect-model", metavar="MODEL", help="the model that proposes section edits (default: --model)")
    cal.add_argument("--max-repairs", type=int, default=1, metavar="N", help="repairs per case run (default 1)")
    cal.add_argument("--out", metavar="DIR", help="run folder (default $CONCEPTWRIGHT_HOME/calibrations/TARGET/MODEL)")
    cal.add_argument("--resume", action="store_true", help="continue a killed run in --out")
    cal.add_argument("--no-progress", action="store_true")
    pr = sub.add_parser("prompts", help="prompt variants: list, show, promote, transfer")
    psub = pr.add_subparsers(dest="prompts_command", required=True, parser_class=parser_class)
    ls = psub.add_parser("list", help="the stored variants (active, candidates, shipped)")
    ls.add_argument("--target", choices=TARGETS)
    show = psub.add_parser("show", help="a variant: its JSON and its sections' differences from the defaults")
    show.add_argument("variant", metavar="VARIANT", help="a name or a JSON path")
    show.add_argument("--target", choices=TARGETS)
    promote = psub.add_parser("promote", help="copy a variant into the shipped variants (conceptwright/prompts/variants/)")
    promote.add_argument("variant", metavar="VARIANT")
    promote.add_argument("--target", choices=TARGETS)
    tr = psub.add_parser("transfer", help="a variant for a new model from other models' calibrated ones, no search")
    tr.add_argument("--from", dest="sources", required=True, metavar="MODEL_A[,MODEL_C]",
                    help="models with calibrated variants (or variant names); one model: its changes against the defaults")
    tr.add_argument("--to", required=True, metavar="MODEL_B")
    tr.add_argument("--target", required=True, choices=TARGETS)
    tr.add_argument("--from-target", choices=TARGETS, help="the sources' target, when another (only decoding carries over)")
    tr.add_argument("--cases", metavar="CASES.jsonl")
    tr.add_argument("--limit", type=int, default=0, metavar="N")
    tr.add_argument("--max-repairs", type=int, default=1, metavar="N")
    tr.add_argument("--reflect-model", metavar="MODEL", help="also summarise the rule in words with this model")
    tr.add_argument("--out", metavar="DIR")
    tr.add_argument("--resume", action="store_true")


def _scores(ev: V.Evidence | None) -> str:
    if ev is None:
        return "-"
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    return f"cal {fmt(ev.default.calibration)}->{fmt(ev.variant.calibration)}, held-out {fmt(ev.default.heldout)}->{fmt(ev.variant.heldout)}"


def calibrate_command(args: argparse.Namespace) -> int:
    from .evaluation.calibrate import calibrate

    if args.max_repairs < 0 or args.limit < 0:
        raise InputError("--max-repairs and --limit must be 0 or more")
    run = calibrate(args.model, args.target, cases=args.cases, budget=args.budget, minibatch=args.minibatch,
                    reflect_model=args.reflect_model, out=args.out, resume=args.resume, limit=args.limit,
                    max_repairs=args.max_repairs, progress=not args.no_progress)
    ev = run.evidence
    verdict = f"accepted, active for {run.variant.model}" if run.accepted else "rejected, the defaults stay"
    print(f"{run.variant.name}: {verdict}: {ev.reason}\n  {_scores(ev)}; {ev.llm_calls} task + {ev.reflection_calls} "
          f"reflection calls, {ev.tokens} tokens, {ev.minutes} min; changed: {', '.join(run.variant.sections) or 'no section'}"
          f"{'; decoding ' + str(run.variant.decoding.settings()) if run.variant.decoding.settings() else ''}\n  stored in {run.path}")
    return 0 if run.accepted else 2


def prompts_command(args: argparse.Namespace) -> int:
    if args.prompts_command == "list":
        rows = V.all_variants(args.target)
        if not rows:
            print(f"no prompt variants (user store {V.home() / 'prompts'}; shipped {V.shipped_dir()})")
        for where, path, v in rows:
            accepted = "" if v.evidence is None else (" accepted" if v.evidence.accepted else " rejected")
            print(f"{where:9} {v.target:3} {v.name:44} model={v.model} {v.source}{accepted} {_scores(v.evidence)}  {path}")
        return 0
    if args.prompts_command == "show":
        v = V.load_variant(V.locate(args.variant, args.target))
        print(V.as_json(v))
        template = template_for(v.target)
        for name, text in v.sections.items():
            default = template.sections.get(name, "") if template else ""
            print(f"\n--- section {name}: changes against the default")
            print("\n".join(difflib.unified_diff(default.splitlines(), text.splitlines(), "default", v.name, lineterm="", n=1)))
        return 0
    if args.prompts_command == "promote":
        path = V.promote(args.variant, args.target)
        print(f"promoted to {path} (shipped: used for that model where the user store has none)")
        return 0
    from .evaluation.transfer import transfer

    run = transfer([s.strip() for s in args.sources.split(",") if s.strip()], args.to, args.target,
                   from_target=args.from_target, cases=args.cases, limit=args.limit, max_repairs=args.max_repairs,
                   reflect_model=args.reflect_model, out=args.out, resume=args.resume)
    verdict = f"accepted, active for {run.variant.model}" if run.accepted else "not better, the defaults stay"
    print(f"rule: {run.rule.text}\n{run.variant.name}: {verdict}: {run.evidence.reason}\n  {_scores(run.evidence)}; "
          f"{run.evidence.llm_calls} calls, {run.evidence.tokens} tokens\n  stored in {run.path}")
    return 0 if run.accepted else 2
