"""Batch generation: many jobs, each written atomically, resumable, on any executor.

A job file is JSON Lines, one job per line::

    {"id": "fam-1", "target": "xmi", "spec": "...", "metamodel": "Families.ecore"}
    {"id": "plate-3", "target": "cad", "spec_file": "specs/plate3.txt", "model": "gguf:/m/qwen.gguf", "max_repairs": 2}

Per job, ``DIR/jobs/<id>/`` holds its artefacts, ``trace.jsonl`` and ``status.json``. A job is
written in ``DIR/.tmp/`` and renamed into place when complete, so it counts as finished only
then: a batch killed at any point (``kill -9`` included) loses no finished job and leaves no
half-written one that counts; rerunning the same command skips the finished jobs. Bad lines
(malformed JSON, a missing spec file, an unknown target) are reported with their line number
and skipped; duplicate ids are refused before anything runs.

This module knows no target: the executor runs each job through a function it is given
(``conceptwright.jobs.execute``), in processes, threads or Ray actors.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .protocol import InputError
from ..core.safexml import read_text

RESERVED = ("id", "target", "spec", "spec_file", "model", "strategy", "max_repairs", "max_tokens", "max_seconds", "without", "samples")


class JobSpec(BaseModel):
    """One line of a job file; keys beyond these are the target's options (``metamodel``, ...)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._-]+$")
    target: str
    spec: str
    model: str | None = None
    strategy: str = "conceptual"
    max_repairs: int = Field(3, ge=0)
    max_tokens: int | None = None
    max_seconds: float | None = None
    without: list[str] = Field(default_factory=list)  # named rules switched off for this job (ablations)
    samples: int = Field(1, ge=1, le=64)  # test-time search: first answers drawn (a strategy "conceptual@4" says the same)
    options: dict[str, Any] = Field(default_factory=dict)
    line: int = 0


class JobStatus(BaseModel):
    """``status.json`` of a finished job."""

    id: str
    target: str
    ok: bool
    strategy: str = "conceptual"
    stop_reason: str = ""
    attempts: int = 0
    valid_at: int | None = None  # the first attempt (0 = first try) whose artefact passed every check
    tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    llm_seconds: float = 0.0
    cost_usd: float | None = None
    model: str = ""
    prompt_variant: str = ""  # the prompt profile/variant the job's prompts were rendered with
    error: str | None = None
    files: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)  # named rules that fired
    facts: dict[str, Any] = Field(default_factory=dict)  # key figures of the artefact (the target's Result.facts)
    errors: list[str] = Field(default_factory=list)  # codes of the errors left
    warnings: list[str] = Field(default_factory=list)  # codes of the warnings left
    without: list[str] = Field(default_factory=list)
    worker: str = ""
    search: dict[str, Any] | None = None  # test-time search: samples drawn (tokens each), chosen and why


def read_jobs(path: str | Path, known_targets: Iterable[str]) -> tuple[list[JobSpec], list[str]]:
    """The jobs of a job file and one line per bad line (``line N: why``); InputError on duplicate ids."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the job file {path}: {exc.strerror}") from None
    known = set(known_targets)
    jobs: list[JobSpec] = []
    problems: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(raw)
        except ValueError as exc:
            problems.append(f"line {n}: not JSON ({exc.msg})")
            continue
        if not isinstance(data, dict):
            problems.append(f"line {n}: a job is a JSON object")
            continue
        if "spec_file" in data:
            spec_path = Path(data.pop("spec_file"))
            spec_path = spec_path if spec_path.is_absolute() else path.parent / spec_path
            try:
                data["spec"] = read_text(spec_path, "spec_file")  # size cap, UTF-8, no NUL
            except InputError as exc:
                problems.append(f"line {n}: {exc}")
                continue
        options = {k: data.pop(k) for k in list(data) if k not in RESERVED}
        for k, v in options.items():  # an option naming a file beside the job file is that file
            if isinstance(v, str) and v and not Path(v).is_absolute() and (path.parent / v).is_file():
                options[k] = str((path.parent / v).resolve())
        try:
            job = JobSpec.model_validate({**data, "options": options, "line": n})
        except ValidationError as exc:
            err = exc.errors()[0]
            problems.append(f"line {n}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
            continue
        if job.target not in known:
            problems.append(f"line {n}: unknown target '{job.target}' ({', '.join(sorted(known))})")
            continue
        jobs.append(job)
    seen: dict[str, int] = {}
    dupes = []
    for job in jobs:
        if job.id in seen:
            dupes.append(f"'{job.id}' (lines {seen[job.id]} and {job.line})")
        seen.setdefault(job.id, job.line)
    if dupes:
        raise InputError(f"duplicate job ids in {path}: {', '.join(dupes)}")
    return jobs, problems


class BatchStore:
    """The output folder: finished jobs under ``jobs/``, work in progress under ``.tmp/``."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.jobs = self.out / "jobs"
        self.tmp = self.out / ".tmp"
        self.jobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def finished(self, job_id: str) -> bool:
        return (self.jobs / job_id / "status.json").is_file()

    def status(self, job_id: str) -> JobStatus | None:
        path = self.jobs / job_id / "status.json"
        try:
            return JobStatus.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError):
            return None

    def clean(self) -> int:
        """Remove what killed runs left half-written; returns how many."""
        stale = list(self.tmp.iterdir())
        for p in stale:
            shutil.rmtree(p, ignore_errors=True)
        return len(stale)

    def workdir(self, job_id: str) -> Path:
        path = self.tmp / f"{job_id}.{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def commit(self, job_id: str, work: Path, status: JobStatus) -> Path:
        """Write status.json last, then move the folder into place in one rename."""
        (work / "status.json").write_text(status.model_dump_json(indent=1), encoding="utf-8")
        final = self.jobs / job_id
        if final.exists():  # a finished copy is never replaced by a second one
            shutil.rmtree(work, ignore_errors=True)
            return final
        os.replace(work, final)
        return final


Runner = Callable[[dict[str, Any], str, str | None], dict[str, Any]]
"""``run(job_data, out_dir, default_model) -> status data``: runs one job into the store."""


class Executor(Protocol):
    """Runs jobs and reports each finished status (in any order)."""

    def run(self, jobs: list[JobSpec], out: Path, default_model: str | None,
            done: Callable[[JobStatus], None]) -> None: ...


def summarise(out: str | Path, jobs: list[JobSpec], store: BatchStore | None = None) -> tuple[Path, Path]:
    """``summary.csv`` and ``summary.md`` over the jobs of this file that have finished."""
    store = store or BatchStore(out)
    rows = [s for j in jobs if (s := store.status(j.id)) is not None]
    fields = ["id", "target", "ok", "stop_reason", "attempts", "tokens", "seconds", "llm_seconds", "cost_usd", "model", "error"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for s in rows:
        writer.writerow(s.model_dump())
    csv_path = Path(out) / "summary.csv"
    csv_path.write_text(buf.getvalue(), encoding="utf-8")
    costs = [s.cost_usd for s in rows if s.cost_usd is not None]
    lines = [f"# batch summary: {len(rows)} of {len(jobs)} jobs finished", "",
             "| target | jobs | valid | repairs (mean) | tokens (mean) | seconds (mean) | cost (USD) |", "|---|---|---|---|---|---|---|"]
    for target in sorted({s.target for s in rows}) + ["all"]:
        rs = [s for s in rows if target in ("all", s.target)]
        m = len(rs) or 1
        cost = sum(s.cost_usd or 0 for s in rs) if costs else None
        lines.append(f"| {target} | {len(rs)} | {sum(s.ok for s in rs)}/{len(rs)} | {sum(max(s.attempts - 1, 0) for s in rs) / m:.2f} "
                     f"| {sum(s.tokens for s in rs) / m:.0f} | {sum(s.seconds for s in rs) / m:.1f} | "
                     f"{'-' if cost is None else f'{cost:.4f}'} |")
    failed = [s for s in rows if not s.ok]
    if failed:
        lines += ["", "## Not valid", ""] + [f"- {s.id}: {s.error or s.stop_reason}" for s in failed]
    md_path = Path(out) / "summary.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path
