"""Command line: ``conceptwright generate TARGET ...``, ``chat``, ``serve`` and ``doctor``.

Exit codes: 0 a valid artefact was written; 2 none passed, the best attempt was written
and what is wrong is printed; 1 bad arguments or unreadable input (one line, no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from .agent import InputError
from .api import generate
from .llm import DEFAULT_MODEL, LLMError
from .targets import available, get_target
from .core.diagnostics import render_all
from .core.safexml import read_text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2; our contract says 1
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="conceptwright", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("doctor", help="check this installation: versions, CPU, embedded model, Graphviz, CAD worker")
    gen = sub.add_parser("generate", help="generate an artefact from a description")
    tsub = gen.add_subparsers(dest="target", required=True, parser_class=_Parser)
    for name in sorted(available()):
        try:
            target = get_target(name)
        except Exception as exc:  # a broken third-party plugin must not break the CLI
            print(f"conceptwright: warning: target '{name}' not loaded: {exc}", file=sys.stderr)
            continue
        p = tsub.add_parser(name, help=target.help)
        spec = p.add_mutually_exclusive_group(required=True)
        spec.add_argument("--spec", help="the description, as text")
        spec.add_argument("--spec-file", metavar="F", help="file holding the description")
        target.add_arguments(p)
        p.add_argument("--model", default=DEFAULT_MODEL, help="smollm2 (default), gguf:PATH, PATH.gguf or openai:NAME")
        if len(target.strategies) > 1:
            p.add_argument("--strategy", choices=target.strategies, default=target.strategies[0])
        p.add_argument("--max-repairs", type=int, default=3, metavar="N")
        p.add_argument("--samples", type=int, default=1, metavar="N",
                       help="test-time search: draw N first answers, repair only the best (default 1)")
        p.add_argument("--trace", metavar="T.jsonl", help="append one JSON record per attempt")
        p.add_argument("--profile", help="force a prompt profile (default: chosen from the model name)")
        p.add_argument("--variant", help="a prompt variant, by name or JSON path (default: the model's calibrated one)")
    chat = sub.add_parser("chat", help="a modelling conversation: the first message creates a model, later ones edit it")
    chat.add_argument("--target", choices=sorted(available()), help="xmi, cad or sim (not needed with --session)")
    chat.add_argument("--metamodel", metavar="M.ecore", help="the Ecore metamodel (xmi)")
    chat.add_argument("--model", default=None, help="smollm2 (default), gguf:PATH, PATH.gguf or openai:NAME")
    chat.add_argument("--session", metavar="ID", help="resume a saved session")
    chat.add_argument("--out-dir", metavar="DIR", help="copy the artefacts here after every turn")
    chat.add_argument("--max-repairs", type=int, default=3, metavar="N")
    chat.add_argument("--edit-mode", choices=("whole", "patch"), default="whole",
                      help="later messages: the LLM writes the whole changed model (default) or a JSON Patch")
    batch = sub.add_parser("batch", help="run a job file (JSON Lines) into a folder; rerun to resume")
    batch.add_argument("jobs", metavar="JOBS.jsonl")
    batch.add_argument("--out", required=True, metavar="DIR")
    batch.add_argument("--workers", type=int, default=1, metavar="N")
    batch.add_argument("--executor", choices=("local", "ray"), default="local")
    batch.add_argument("--ray-address", metavar="ADDR", help="an existing Ray cluster (default $RAY_ADDRESS or a local Ray)")
    batch.add_argument("--model", default=None, help="the model of jobs that name none (default smollm2)")
    batch.add_argument("--no-progress", action="store_true")
    ev = sub.add_parser("eval", help="run eval suites (built-in or yours) through the batch engine and score them")
    ev.add_argument("--target", required=True, help="xmi, cad, sim, all, or a suite registered under conceptwright.suites")
    ev.add_argument("--model", required=True, help="comma-separated model strings, side by side (sim also: reference)")
    ev.add_argument("--strategy", help="comma-separated strategies (default: the suite's, e.g. conceptual,direct)")
    ev.add_argument("--cases", metavar="CASES.jsonl", help="your cases (default: the built-in suite); several files, comma-separated, are reported side by side (e.g. own suite and a fresh held-out set)")
    ev.add_argument("--out", required=True, metavar="DIR")
    ev.add_argument("--max-repairs", type=int, default=3, metavar="N")
    ev.add_argument("--only", help="comma-separated case ids")
    ev.add_argument("--limit", type=int, default=0, metavar="N", help="the first N cases only")
    ev.add_argument("--without", help="comma-separated named rules switched off (ablation)")
    ev.add_argument("--samples", help="comma-separated sample counts run side by side (test-time search), e.g. 1,2,4,8")
    ev.add_argument("--workers", type=int, default=1, metavar="N")
    ev.add_argument("--executor", choices=("local", "ray"), default="local")
    ev.add_argument("--ray-address", metavar="ADDR")
    ev.add_argument("--resume", action="store_true", help="keep the finished jobs of an earlier (killed) run in DIR")
    ev.add_argument("--no-progress", action="store_true")
    from .prompt_commands import add_parsers

    add_parsers(sub, _Parser)
    serve = sub.add_parser("serve", help="the web chat (Gradio), on http://HOST:PORT")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--model", default=None, help="the model the page starts with (default smollm2)")
    return parser


def _chat(args: argparse.Namespace) -> int:
    from .api import open_session, resume_session
    from .ui.terminal import run_chat

    if args.max_repairs < 0:
        raise InputError("--max-repairs must be 0 or more")
    if args.session:
        session = resume_session(args.session, model=args.model, max_repairs=args.max_repairs, edit_mode=args.edit_mode)
    else:
        if args.target is None:
            raise InputError("chat needs --target xmi|cad|sim (or --session ID)")
        options = {"metamodel": args.metamodel} if args.metamodel else {}
        if args.target == "xmi" and not args.metamodel:
            raise InputError("the xmi target needs --metamodel M.ecore")
        session = open_session(args.target, model=args.model or DEFAULT_MODEL, max_repairs=args.max_repairs,
                               edit_mode=args.edit_mode, **options)
    return run_chat(session, out_dir=args.out_dir)


def _batch(args: argparse.Namespace) -> int:
    from .jobs import LocalExecutor, RayExecutor, run_batch

    if args.workers < 1:
        raise InputError("--workers must be 1 or more")
    executor = (RayExecutor(args.workers, address=args.ray_address) if args.executor == "ray"
                else LocalExecutor(args.workers))
    out = run_batch(args.jobs, args.out, executor=executor, model=args.model, progress=not args.no_progress)
    print(f"{out['ran']} job(s) run ({out['valid']} valid), {out['skipped']} already finished, "
          f"{out['bad_lines']} bad line(s) skipped; summary in {out['summary_md']}")
    return 0 if out["bad_lines"] == 0 else 2


def _eval(args: argparse.Namespace) -> int:
    from .evaluation import BUILTIN, run_eval
    from .jobs import RayExecutor

    if args.workers < 1 or args.max_repairs < 0:
        raise InputError("--workers must be 1 or more and --max-repairs 0 or more")
    targets = list(BUILTIN) if args.target == "all" else [args.target]
    if len(targets) > 1 and args.cases:
        raise InputError("--cases needs one --target, not all")
    models = [m.strip() for m in args.model.split(",") if m.strip()]
    try:
        samples = [int(n) for n in args.samples.split(",") if n.strip()] if args.samples else None
    except ValueError:
        raise InputError(f"--samples takes whole numbers separated by commas (1,2,4,8), not '{args.samples}'") from None
    for target in targets:
        out = Path(args.out) / target if len(targets) > 1 else Path(args.out)
        run = run_eval(target, out, models=models, strategies=args.strategy.split(",") if args.strategy else None,
                       cases=args.cases, max_repairs=args.max_repairs, only=args.only.split(",") if args.only else None,
                       limit=args.limit, without=[r for r in (args.without or "").split(",") if r], resume=args.resume,
                       samples=samples,
                       workers=args.workers, progress=not args.no_progress,
                       executor=RayExecutor(args.workers, address=args.ray_address) if args.executor == "ray" else None)
        valid = sum(bool(r["ok"]) for r in run.rows)
        print(f"{target}: {len(run.rows)} run(s), {valid} valid; report {run.report_md}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (1)
        return int(exc.code or 0)
    if args.command == "doctor":
        from .doctor import main as doctor

        return doctor()
    from .prompt_commands import calibrate_command, prompts_command

    commands = {"chat": _chat, "batch": _batch, "eval": _eval, "serve": _serve, "generate": _generate,
                "calibrate": calibrate_command, "prompts": prompts_command}
    try:
        return commands[args.command](args)
    except (InputError, LLMError, ValueError) as exc:
        print(f"conceptwright: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("conceptwright: interrupted", file=sys.stderr)
        return 130


def _serve(args: argparse.Namespace) -> int:
    from .ui.web import serve

    return serve(host=args.host, port=args.port, model=args.model or DEFAULT_MODEL)


def _generate(args: argparse.Namespace) -> int:
    """One run: exit 0 valid, 2 not valid (the best attempt written); errors raise to ``main``."""
    if args.spec_file:
        spec = read_text(args.spec_file, "--spec-file")  # size cap, UTF-8, no NUL: one line each
    else:
        spec = args.spec
    if args.max_repairs < 0:
        raise InputError("--max-repairs must be 0 or more")
    target = get_target(args.target)
    result = generate(
        args.target, spec, model=args.model, strategy=getattr(args, "strategy", target.strategies[0]),
        max_repairs=args.max_repairs, trace=args.trace, profile=args.profile, samples=args.samples,
        variant=args.variant,
        **target.options_from_args(args),
    )
    written = target.write_outputs(result, target.outputs_from_args(args))
    files = ", ".join(str(p) for p in written) or "nothing"
    tokens = f"{result.usage.input_tokens}+{result.usage.output_tokens} tokens"
    if result.ok:
        print(f"valid {args.target} written to {files} ({result.attempts} attempt(s), {tokens}, {result.seconds:.1f}s)")
        return 0
    print(
        f"no valid {args.target} after {result.attempts} attempt(s) (stopped: {result.stop_reason}); "
        f"best attempt written to {files}. Problems:\n{render_all([d for d in result.diagnostics if d.severity == 'error'])}",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
