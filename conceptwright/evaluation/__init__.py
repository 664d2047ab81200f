"""``conceptwright eval``: suites of cases with known answers, run through the batch engine.

One engine: every (model, strategy, case) becomes a job of a job file, run by
``conceptwright.jobs.run_batch`` (resumable, atomic, local processes or Ray), then each
finished job's folder is scored by its suite. A suite is a module (or any object) with the
shape of :class:`Suite`; the built-in ones are ``xmi``, ``cad`` and ``sim``, and a third party
registers one under the ``conceptwright.suites`` entry point.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from ..agent.batch import BatchStore, JobStatus
from ..agent.protocol import InputError
from ..core import rules

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = {"xmi": "conceptwright.evaluation.xmi", "cad": "conceptwright.evaluation.cad", "sim": "conceptwright.evaluation.sim"}


class Suite(Protocol):
    """What the engine needs of a suite (a module with these names is one)."""

    TARGET: str
    STRATEGIES: tuple[str, ...]  # the strategies run when none are asked for
    PRIMARY: str  # the name of the quality figure of one row, e.g. "object recall"

    def load_cases(self, path: Path | None) -> list[dict[str, Any]]: ...
    def job_options(self, case: dict[str, Any], strategy: str) -> dict[str, Any]: ...  # may override target/strategy
    def score(self, case: dict[str, Any], job_dir: Path, status: JobStatus) -> dict[str, Any]: ...
    def primary(self, row: dict[str, Any]) -> float: ...
    def report(self, rows: list[dict[str, Any]], title: str, strategies: list[str]) -> str: ...


def get_suite(name: str) -> Any:
    """The suite of a target: built-in, or from the ``conceptwright.suites`` entry point."""
    if name in BUILTIN:
        return import_module(BUILTIN[name])
    for ep in entry_points(group="conceptwright.suites"):
        if ep.name == name:
            return ep.load()
    raise InputError(f"no eval suite for '{name}' (built-in: {', '.join(BUILTIN)})")


def shared_dir() -> Path:
    """The shared examples folder: $CONCEPTWRIGHT_SHARED, or ``shared`` beside the checkout."""
    env = os.environ.get("CONCEPTWRIGHT_SHARED")
    path = Path(env) if env else ROOT.parent / "shared"
    if not (path / "examples").is_dir():
        raise InputError(f"shared examples not found at {path}; set CONCEPTWRIGHT_SHARED")
    return path


def builtin_cases(target: str, name: str = "cases.jsonl") -> Path:
    path = ROOT / "evals" / target / name
    if not path.is_file():
        raise InputError(f"the built-in {target} suite lives in the source checkout (evals/{target}/{name}); pass --cases")
    return path


def read_cases(path: Path) -> list[dict[str, Any]]:
    """The cases of a JSON Lines file; InputError naming the line of a bad one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the cases file {path}: {exc.strerror}") from None
    cases = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path} line {n}: not JSON ({exc.msg})") from None
        if not isinstance(case, dict) or not case.get("id") or not case.get("spec"):
            raise InputError(f"{path} line {n}: a case is an object with an 'id' and a 'spec'")
        cases.append(case)
    return cases


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.replace("gguf:", "").split("/")[-1]).strip("-") or "model"


@dataclass
class EvalRun:
    """What one suite's run produced: scored rows and the report files."""

    target: str
    rows: list[dict[str, Any]]
    report_md: Path
    report_json: Path
    plots: list[Path] = field(default_factory=list)
    batch: dict[str, Any] = field(default_factory=dict)


def run_eval(target: str | Any, out: str | Path, *, models: list[str], strategies: list[str] | None = None,
             cases: str | Path | None = None, max_repairs: int = 3, only: list[str] | None = None, limit: int = 0,
             without: list[str] | None = None, resume: bool = False, workers: int = 1, executor: Any = None,
             progress: bool = True, title: str | None = None, samples: list[int] | None = None) -> EvalRun:
    """Run a suite's cases for each model and strategy into ``out`` and score them.

    ``resume`` keeps the finished jobs (and their scores) of an earlier, killed run of the same
    command; otherwise ``out`` starts empty. Models are model strings (``smollm2``,
    ``gguf:PATH``, ``openai:NAME`` ...) or names the suite answers itself (sim's ``reference``).
    """
    from .. import jobs as engine
    from .report import common_sections, plots, summary_json

    suite = get_suite(target) if isinstance(target, str) else target
    case_list = load_case_sets(suite, cases)
    if only:
        case_list = [c for c in case_list if c["id"] in only]
    case_list = case_list[:limit] if limit else case_list
    if not case_list:
        raise InputError("no cases to run (check --cases, --only and --limit)")
    strategies = strategies or list(suite.STRATEGIES)
    if samples:
        if any(not 1 <= n <= 64 for n in samples):
            raise InputError("each sample count must be between 1 and 64")
        strategies = [f"{s.partition('@')[0]}@{n}" for s in strategies for n in dict.fromkeys(samples)]
    off = sorted(set(without or []))
    get_target_rules(suite.TARGET)
    unknown = [r for r in off if r not in rules.REGISTRY]
    if unknown:
        raise InputError(f"unknown rule(s) {', '.join(unknown)}: see conceptwright.core.rules.REGISTRY")
    out = Path(out)
    if not resume and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    own = getattr(suite, "backends", lambda _cases: {})(case_list)  # models the suite answers itself (no LLM)
    for name, backend in own.items():
        engine._MODELS[name] = backend
    index: dict[str, tuple[dict[str, Any], str, str]] = {}
    lines = []
    for model in models:
        for strategy in strategies:
            for case in case_list:
                job_id = slug(f"{case.get('set_prefix', '')}{case['id']}.{strategy}.{slug(model)}")
                index[job_id] = (case, strategy, model)
                lines.append({"id": job_id, "target": suite.TARGET, "spec": case["spec"], "model": model,
                              "strategy": strategy, "max_repairs": max_repairs, "without": off,  # "conceptual@4": N samples
                              **suite.job_options(case, strategy.partition("@")[0])})
    job_file = out / "jobs.jsonl"
    job_file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    if executor is None:  # one worker: in this process (models it holds stay loaded); more: one process per worker
        executor = engine.LocalExecutor(workers, processes=False if workers == 1 or own else None)
    try:
        batch = engine.run_batch(job_file, out / "batch", executor=executor, progress=progress)
    finally:
        for name in own:  # the suite's own answerers serve this run only
            engine._MODELS.pop(name, None)
    store = BatchStore(out / "batch")
    scores = out / "scores"
    scores.mkdir(exist_ok=True)
    rows = []
    for job_id, (case, strategy, model) in index.items():
        status = store.status(job_id)
        if status is None:
            continue
        cached = scores / f"{job_id}.json"
        if cached.is_file():
            rows.append(json.loads(cached.read_text(encoding="utf-8")))
            continue
        row = {"id": case["id"], "strategy": strategy, "model": model, "job": job_id, "ok": status.ok,
               "repairs": max(0, status.attempts - 1), "valid_at": status.valid_at, "stop": status.stop_reason or status.error or "",
               "tokens_in": status.input_tokens, "tokens_out": status.output_tokens, "seconds": status.seconds,
               "llm_seconds": status.llm_seconds, "rules": status.rules, "errors": status.errors[:10],
               "warnings": status.warnings[:10], "without": off,
               "samples": len((status.search or {}).get("samples") or []) or 1, "set": case.get("set", "")}
        row |= suite.score(case, store.jobs / job_id, status)
        cached.write_text(json.dumps(row), encoding="utf-8")
        rows.append(row)
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    head = title or f"{', '.join(models)}"
    text = suite.report(rows, head, strategies) + "\n" + common_sections(rows, suite, models, strategies, max_repairs)
    text += by_set(rows, suite)
    figures = plots(rows, out, models, strategies, max_repairs)
    report_md = out / "report.md"
    report_md.write_text(text + "".join(f"\n![{p.stem}]({p.name})\n" for p in figures), encoding="utf-8")
    report_json = out / "report.json"
    report_json.write_text(json.dumps(summary_json(rows, suite, models, strategies) | {"batch": batch}, indent=1),
                           encoding="utf-8")
    return EvalRun(suite.TARGET, rows, report_md, report_json, figures, batch)


def load_case_sets(suite: Any, cases: str | Path | list[str | Path] | None) -> list[dict[str, Any]]:
    """The cases of one file, or of several (comma-separated or a list) side by side, e.g. the own suite and a
    fresh held-out set: each case records its set (the file's stem); with several sets job ids are prefixed by it."""
    if cases is None:
        paths: list[Path | None] = [None]
    elif isinstance(cases, (list, tuple)):
        paths = [Path(c) for c in cases]
    else:
        paths = [Path(c) for c in str(cases).split(",") if c.strip()]
    out: list[dict[str, Any]] = []
    for path in paths:
        name = path.stem if path is not None else "cases"
        for case in suite.load_cases(path):
            case["set"] = name
            if len(paths) > 1:
                case["set_prefix"] = f"{name}."
            out.append(case)
    return out


def by_set(rows: list[dict[str, Any]], suite: Any) -> str:
    """A table of the case sets side by side (only when a run has more than one)."""
    sets = list(dict.fromkeys(r.get("set", "") for r in rows))
    if len(sets) < 2:
        return ""
    lines = ["", "## Case sets side by side", "",
             f"| set | model | strategy | cases | valid | {suite.PRIMARY} (mean) |", "|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r.get("set", ""), r["model"], r["strategy"]), []).append(r)
    for (name, model, strategy), rs in groups.items():
        valid = sum(1 for r in rs if r["ok"])
        quality = sum(suite.primary(r) for r in rs) / len(rs)
        lines.append(f"| {name} | {Path(model).name} | {strategy} | {len(rs)} | {valid}/{len(rs)} | {quality:.2f} |")
    return "\n".join(lines) + "\n"


def get_target_rules(target: str) -> None:
    """Load the target plugin so its named rules are registered (for ``--without``)."""
    from ..targets import get_target

    try:
        get_target(target)
    except (InputError, KeyError):
        pass
