"""python -m evals xmi|cad|sim --model MODEL [...]  (and `bench-xmi` for the scale benchmark)."""
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
    s = sub.add_parser("sim", help="sim suite: generated scripts against known answers")
    s.add_argument("--model", default="smollm2", help="a model string, or 'reference' (the cases' own models, no LLM)")
    s.add_argument("--cases", help="cases JSONL (default evals/sim/cases.jsonl)")
    s.add_argument("--max-repairs", type=int, default=3)
    s.add_argument("--limit", type=int, default=0)
    s.add_argument("--only", help="comma-separated case ids")
    s.add_argument("--out", help="markdown report (default evals/reports/sim-MODEL.md)")
    s.add_argument("--results", help="per-case JSONL (default evals/runs/sim-MODEL.jsonl)")
    s.add_argument("--resume", action="store_true", help="keep finished cases of an earlier (killed) run")
    c = sub.add_parser("cad", help="cad suite: conceptual vs direct on one model (dev set + own cases)")
    c.add_argument("--model", default="smollm2")
    c.add_argument("--cases", help="own cases JSONL (default evals/cad/cases.jsonl); the dev set comes from ../shared")
    c.add_argument("--strategies", default="conceptual,direct")
    c.add_argument("--max-repairs", type=int, default=3)
    c.add_argument("--limit", type=int, default=0)
    c.add_argument("--only", help="comma-separated case ids")
    c.add_argument("--out", help="markdown report (default evals/reports/cad-MODEL.md)")
    c.add_argument("--results", help="per-case JSONL (default evals/runs/cad-MODEL.jsonl)")
    c.add_argument("--resume", action="store_true", help="keep finished cases of an earlier (killed) run")
    b = sub.add_parser("bench-xmi", help="scale benchmark: compile+validate+serialise N objects")
    b.add_argument("--sizes", default="100,1000,10000,100000")
    b.add_argument("--out", help="markdown report (default evals/reports/bench-xmi.md)")
    args = p.parse_args(argv)
    if args.suite == "xmi":
        from .xmi.run import main as run
    elif args.suite == "cad":
        from .cad.run import main as run
    elif args.suite == "sim":
        from .sim.run import main as run
    else:
        from .xmi.bench import main as run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
