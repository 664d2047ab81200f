"""python -m evals xmi|cad|sim --model MODEL [...]  (and `bench-xmi`, `bench-llama` benchmarks, `cad-facts` replay)."""
from __future__ import annotations

import argparse
import sys


def _suite_options(p: argparse.ArgumentParser, suite: str, cases_help: str, model_help: str | None = None) -> None:
    """The options every eval suite takes."""
    p.add_argument("--model", default="smollm2", help=model_help)
    p.add_argument("--cases", help=cases_help)
    p.add_argument("--max-repairs", type=int, default=3)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--only", help="comma-separated case ids")
    p.add_argument("--out", help=f"markdown report (default evals/reports/{suite}-MODEL.md)")
    p.add_argument("--results", help=f"per-case JSONL (default evals/runs/{suite}-MODEL.jsonl)")
    p.add_argument("--resume", action="store_true", help="keep finished cases of an earlier (killed) run")
    p.add_argument("--without", help="comma-separated rules switched off for the run (see conceptwright.core.rules)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals")
    sub = p.add_subparsers(dest="suite", required=True)
    x = sub.add_parser("xmi", help="xmi suite: conceptual vs direct on one model")
    _suite_options(x, "xmi", "cases JSONL (default evals/xmi/cases.jsonl)")
    x.add_argument("--strategies", default="conceptual,direct")
    s = sub.add_parser("sim", help="sim suite: generated scripts against known answers")
    _suite_options(s, "sim", "cases JSONL (default evals/sim/cases.jsonl)",
                   model_help="a model string, or 'reference' (the cases' own models, no LLM)")
    c = sub.add_parser("cad", help="cad suite: conceptual vs direct on one model (dev set + own cases)")
    _suite_options(c, "cad", "own cases JSONL (default evals/cad/cases.jsonl); the dev set comes from ../shared")
    c.add_argument("--strategies", default="conceptual,direct")
    cf = sub.add_parser("cad-facts", help="stated-facts checks vs the older description rules on ground truth and seeded "
                        "wrong variants, no LLM (report evals/reports/cad-facts.md)")
    cf.add_argument("--only", help="comma-separated case ids")
    cf.add_argument("--out", help="markdown report (default evals/reports/cad-facts.md)")
    e = sub.add_parser("edits", help="edit suite: whole-model vs JSON-Patch edits side by side")
    _suite_options(e, "edits", "cases JSONL (default evals/edits/cases.jsonl)")
    e.add_argument("--modes", default="whole,patch")
    e.add_argument("--target", help="comma-separated targets (default all)")
    bb = sub.add_parser("bench-batch", help="batch throughput, API backend: 1 vs N concurrent workers")
    bb.add_argument("--jobs", type=int, default=24)
    bb.add_argument("--workers", type=int, default=8)
    bb.add_argument("--delay", type=float, default=1.0)
    bb.add_argument("--out", help="markdown report (default evals/reports/bench-batch.md)")
    b = sub.add_parser("bench-xmi", help="scale benchmark: compile+validate+serialise N objects")
    b.add_argument("--sizes", default="100,1000,10000,100000")
    b.add_argument("--out", help="markdown report (default evals/reports/bench-xmi.md)")
    ab = sub.add_parser("ablate", help="rerun the cases each rule fired on with that rule off; table of what it is worth")
    ab.add_argument("for_suite", choices=["xmi", "sim", "cad"])
    ab.add_argument("--model", required=True)
    ab.add_argument("--base", required=True, help="results JSONL of a full run (its rows say which rules fired)")
    ab.add_argument("--rules", help="comma-separated rules (default: every rule that fired in --base)")
    ab.add_argument("--cases", help="the cases file of the base run")
    ab.add_argument("--no-rerun", action="store_true", help="only count on how many cases each rule fired")
    ab.add_argument("--all-rules", action="store_true", help="list every rule of the target, also those that never fired")
    ab.add_argument("--max-repairs", type=int, default=3)
    ab.add_argument("--out", help="markdown report (default evals/reports/rules-SUITE-MODEL.md)")
    ll = sub.add_parser("bench-llama", help="local GGUF speed with llama.cpp's extra buffer types on and off")
    ll.add_argument("--models", default="smollm2", help="comma-separated model strings (local GGUF)")
    ll.add_argument("--prompt-tokens", type=int, default=400)
    ll.add_argument("--gen-tokens", type=int, default=64)
    ll.add_argument("--repeats", type=int, default=3)
    ll.add_argument("--rounds", type=int, default=2)
    ll.add_argument("--threads", type=int, default=2)
    ll.add_argument("--call-prompt", type=int, default=1200, help="prompt tokens of the typical call (time column)")
    ll.add_argument("--call-gen", type=int, default=400, help="generated tokens of the typical call")
    ll.add_argument("--out", help="markdown report (default evals/reports/bench-llama.md)")
    bg = sub.add_parser("bench-grammar", help="constrained (gbnf, llguidance) vs free decoding, and the prefix cache")
    bg.add_argument("--models", default="smollm2", help="comma-separated model strings (local GGUF)")
    bg.add_argument("--max-tokens", type=int, default=200)
    bg.add_argument("--repeats", type=int, default=2)
    bg.add_argument("--out", help="markdown report (default evals/reports/bench-grammar.md)")
    br = sub.add_parser("bench-resume", help="embedded model: a batch killed with SIGKILL and rerun; 2 workers vs 1")
    br.add_argument("--jobs", type=int, default=20)
    br.add_argument("--ratio-jobs", type=int, default=8)
    br.add_argument("--model", default="smollm2")
    br.add_argument("--out", help="markdown report (default evals/reports/bench-resume.md)")
    from .corpus import add_arguments as corpus_arguments
    corpus_arguments(sub.add_parser("corpus", help="public Ecore metamodels through the xmi machinery, no LLM (report evals/reports/corpus.md)"))
    args = p.parse_args(argv)
    if args.suite == "xmi":
        from .xmi.run import main as run
    elif args.suite == "cad":
        from .cad.run import main as run
    elif args.suite == "cad-facts":
        from .cad.facts import main as run
    elif args.suite == "bench-batch":
        from .bench_batch import main as run
    elif args.suite == "edits":
        from .edits.run import main as run
    elif args.suite == "sim":
        from .sim.run import main as run
    elif args.suite == "corpus":
        from .corpus.run import main as run
    elif args.suite == "ablate":
        from .ablate import main as run
    elif args.suite == "bench-resume":
        from .bench_resume import main as run
    elif args.suite == "bench-grammar":
        from .llm.grammar import main as run
    elif args.suite == "bench-llama":
        from .llm.bench import main as run
    else:
        from .xmi.bench import main as run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
