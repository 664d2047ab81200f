"""python -m evals xmi --model MODEL [...]  (and `bench-xmi` for the scale benchmark)."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals")
    sub = p.add_subparsers(dest="suite", required=True)
    x = sub.add_parser("xmi", help="xmi suite: conceptual vs direct on one model")
    x.add_argument("--model", default="smollm2")
    x.add_argument("--cases", help="cases JSONL (default evals/xmi/cases.jsonl)")
    x.add_argument("--strategies", default="conceptual,direct")
    x.add_argument("--max-repairs", type=int, default=3)
    x.add_argument("--limit", type=int, default=0)
    x.add_argument("--only", help="comma-separated case ids")
    x.add_argument("--out", help="markdown report (default evals/reports/xmi-MODEL.md)")
    x.add_argument("--results", help="per-case JSONL (default evals/runs/xmi-MODEL.jsonl)")
    x.add_argument("--resume", action="store_true", help="keep finished cases of an earlier (killed) run")
    b = sub.add_parser("bench-xmi", help="scale benchmark: compile+validate+serialise N objects")
    b.add_argument("--sizes", default="100,1000,10000,100000")
    b.add_argument("--out", help="markdown report (default evals/reports/bench-xmi.md)")
    args = p.parse_args(argv)
    if args.suite == "xmi":
        from .xmi.run import main as run
    else:
        from .xmi.bench import main as run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
