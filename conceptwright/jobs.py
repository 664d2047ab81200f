"""``conceptwright batch``: run a job file with a local or a Ray executor (see ``agent/batch.py``).

Local GGUF models are loaded once per worker process and reused for all its jobs; workers split
the cores between them (llama.cpp threads x workers <= cores). API models run jobs concurrently
in threads (the backends retry with backoff). Ray: one model per actor, the same folder layout,
so a run can be resumed with either executor.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .agent.batch import BatchStore, JobSpec, JobStatus, read_jobs, summarise
from .agent.protocol import InputError
from .core import rules
from .core.proc import die_with_parent
from .llm import DEFAULT_MODEL, LLMError, resolve

_MODELS: dict[str, Any] = {}  # this process's backends, by model string: loaded once, reused by every job
LOCAL_PREFIXES = ("smollm2", "gguf:")


def is_local(model: str) -> bool:
    return model.startswith(LOCAL_PREFIXES) or model.endswith(".gguf")


def _backend(model: str) -> Any:
    if model not in _MODELS:
        _MODELS[model] = resolve(model)
    return _MODELS[model]


def execute(job_data: dict[str, Any], out: str, default_model: str | None) -> dict[str, Any]:
    """Run one job into the store; returns its status data. Never raises for a bad job."""
    from .api import generate
    from .targets import get_target

    job = JobSpec.model_validate(job_data)
    store = BatchStore(out)
    model = job.model or default_model or DEFAULT_MODEL
    work = store.workdir(job.id)
    status = JobStatus(id=job.id, target=job.target, ok=False, model=model, strategy=job.strategy, without=job.without,
                       worker=f"{os.uname().nodename}:{os.getpid()}")
    start = time.perf_counter()
    try:
        target = get_target(job.target)
        with rules.disabled(job.without):
            res = generate(job.target, job.spec, model=_backend(model), strategy=job.strategy, max_repairs=job.max_repairs,
                           max_tokens=job.max_tokens, max_seconds=job.max_seconds, samples=job.samples, trace=work / "trace.jsonl",
                           **job.options)
        written = target.write_outputs(res, work)
        if res.conceptual is not None:
            (work / "conceptual.json").write_text(json.dumps(res.conceptual, indent=1, default=str), encoding="utf-8")
            written.append(work / "conceptual.json")
        status = status.model_copy(update={
            "ok": res.ok, "stop_reason": res.stop_reason, "attempts": res.attempts, "tokens": res.usage.total,
            "valid_at": next((r.attempt for r in res.trace if r.ok), None), "rules": res.rules,
            "prompt_variant": res.trace[0].prompt_variant if res.trace else "",
            "facts": json.loads(json.dumps(res.facts, default=str)),
            "errors": [d.code for d in res.diagnostics if d.severity == "error"][:20],
            "warnings": [d.code for d in res.diagnostics if d.severity == "warning"][:20],
            "input_tokens": res.usage.input_tokens, "output_tokens": res.usage.output_tokens,
            "llm_seconds": round(res.llm_seconds, 3),
            "search": res.search.model_dump() if res.search else None, "files": [p.name for p in written],
            "error": None if res.ok else "; ".join(d.message for d in res.diagnostics if d.severity == "error")[:500]})
    except (InputError, LLMError, ValueError, OSError) as exc:
        status.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - one broken job must not stop the batch; its status says why
        status.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        (work / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    status.seconds = round(time.perf_counter() - start, 3)
    store.commit(job.id, work, status)
    return status.model_dump()


def _init_worker(threads: int) -> None:
    die_with_parent()  # killed with the batch (kill -9 included): no orphan writes a job a rerun writes again
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    os.environ["CONCEPTWRIGHT_THREADS"] = str(threads)


class LocalExecutor:
    """Worker processes (local models: one model per process, cores split) or threads (API models)."""

    def __init__(self, workers: int = 1, *, threads_per_worker: int | None = None, processes: bool | None = None) -> None:
        self.workers = max(1, workers)
        self.threads = threads_per_worker or max(1, (os.cpu_count() or 2) // self.workers)
        self.processes = processes

    def run(self, jobs: list[JobSpec], out: Path, default_model: str | None,
            done: Callable[[JobStatus], None]) -> None:
        models = {j.model or default_model or DEFAULT_MODEL for j in jobs}
        processes = self.processes if self.processes is not None else any(is_local(m) for m in models)
        if processes:
            pool: cf.Executor = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                                       initializer=_init_worker, initargs=(self.threads,))
        else:
            pool = cf.ThreadPoolExecutor(self.workers)
        with pool:
            futures = [pool.submit(execute, j.model_dump(), str(out), default_model) for j in jobs]
            for fut in cf.as_completed(futures):
                done(JobStatus.model_validate(fut.result()))


class RayExecutor:
    """The same jobs as Ray actors (one model per actor) on ``address`` (or ``RAY_ADDRESS``, or a
    local Ray). The output folder must be one every node writes to (a shared file system)."""

    def __init__(self, workers: int = 1, *, address: str | None = None, threads_per_worker: int | None = None,
                 num_cpus: int | None = None) -> None:
        self.workers = max(1, workers)
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.threads = threads_per_worker or max(1, (os.cpu_count() or 2) // self.workers)
        self.num_cpus = num_cpus

    def run(self, jobs: list[JobSpec], out: Path, default_model: str | None,
            done: Callable[[JobStatus], None]) -> None:
        try:
            import ray
            from ray.util import ActorPool
        except ImportError:
            raise InputError('the Ray executor needs Ray: pip install "conceptwright[ray]"') from None
        started = not ray.is_initialized()
        if started:
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.address:
                kw["address"] = self.address
            else:
                kw["num_cpus"] = self.num_cpus or os.cpu_count() or 2
            root = str(Path(__file__).resolve().parents[1])
            kw["runtime_env"] = {"env_vars": {"CONCEPTWRIGHT_THREADS": str(self.threads),
                                              "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}}
            ray.init(**kw)
        try:
            worker_cls = ray.remote(num_cpus=1)(_RayWorker)
            pool = ActorPool([worker_cls.remote() for _ in range(min(self.workers, len(jobs)) or 1)])
            for data in pool.map_unordered(lambda a, j: a.run.remote(j.model_dump(), str(out), default_model), jobs):
                done(JobStatus.model_validate(data))
        finally:
            if started:
                ray.shutdown()


class _RayWorker:
    """A Ray actor: its process keeps the models it loaded for all the jobs it gets."""

    def run(self, job_data: dict[str, Any], out: str, default_model: str | None) -> dict[str, Any]:
        return execute(job_data, out, default_model)


def run_batch(job_file: str | Path, out: str | Path, *, executor: Any = None, model: str | None = None,
              progress: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every unfinished job of ``job_file`` into ``out``; returns counts and the summary paths."""
    from .targets import available

    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    jobs, problems = read_jobs(job_file, available())
    for p in problems:
        say(f"conceptwright: skipped {Path(job_file).name} {p}")
    store = BatchStore(out)
    if stale := store.clean():
        say(f"conceptwright: removed {stale} half-written job folder(s) of an earlier run")
    todo = [j for j in jobs if not store.finished(j.id)]
    skipped = len(jobs) - len(todo)
    if skipped:
        say(f"conceptwright: {skipped} job(s) already finished, {len(todo)} to run")
    executor = executor or LocalExecutor(1)
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="job", desc="batch", file=sys.stderr)
    ran: list[JobStatus] = []

    def done(status: JobStatus) -> None:
        ran.append(status)
        if bar is not None:
            bar.set_postfix_str(f"{status.id}: {'valid' if status.ok else 'not valid'}")
            bar.update(1)

    try:
        if todo:
            executor.run(todo, Path(out), model, done)
    finally:
        if bar is not None:
            bar.close()
        csv_path, md_path = summarise(out, jobs, store)
    return {"jobs": len(jobs), "skipped": skipped, "ran": len(ran), "valid": sum(s.ok for s in ran),
            "bad_lines": len(problems), "summary_csv": str(csv_path), "summary_md": str(md_path)}
