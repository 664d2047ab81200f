"""Batch jobs: atomic per-job results, resume without running a finished job twice (kill -9
included), bad lines skipped with their line number, duplicate ids refused, local and Ray executors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conceptwright import InputError
from conceptwright.agent.batch import read_jobs

from .fakeopenai import count, serve
from .test_loop import GOOD

ROOT = Path(__file__).resolve().parents[1]


def _jobs(path: Path, n: int, metamodel: Path, extra: str = "") -> Path:
    lines = [json.dumps({"id": f"lib-{i:02d}", "target": "xmi", "spec": f"library number {i}", "metamodel": str(metamodel)})
             for i in range(n)]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


@pytest.fixture
def library(metamodels: Path) -> Path:
    return metamodels / "library.ecore"


@pytest.fixture
def fake():
    server, url = serve(GOOD, delay=0.0)
    yield server, url
    server.shutdown()


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT)}


def test_a_batch_writes_each_job_its_status_and_a_summary_and_reruns_nothing(tmp_path, library, fake):
    from conceptwright.jobs import LocalExecutor, run_batch

    _, url = fake
    jobs = _jobs(tmp_path / "jobs.jsonl", 4, library, extra='not json\n{"id": "x", "target": "nope", "spec": "s"}\n')
    os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="k")
    try:
        said: list[str] = []
        out = run_batch(jobs, tmp_path / "out", executor=LocalExecutor(2), model="openai:fake", progress=False, log=said.append)
        assert out["ran"] == 4 and out["valid"] == 4 and out["bad_lines"] == 2
        assert any("line 5: not JSON" in s for s in said) and any("line 6: unknown target 'nope'" in s for s in said)
        status = json.loads((tmp_path / "out/jobs/lib-00/status.json").read_text())
        assert status["ok"] and status["attempts"] == 1 and status["tokens"] == 150 and "model.xmi" in status["files"]
        assert (tmp_path / "out/jobs/lib-00/trace.jsonl").is_file() and (tmp_path / "out/jobs/lib-00/model.xmi").is_file()
        assert "| xmi | 4 | 4/4 |" in (tmp_path / "out/summary.md").read_text()
        assert (tmp_path / "out/summary.csv").read_text().count("\n") == 5
        served = count(url)
        again = run_batch(jobs, tmp_path / "out", executor=LocalExecutor(2), model="openai:fake", progress=False, log=said.append)
        assert again["ran"] == 0 and again["skipped"] == 4 and count(url) == served  # no LLM call the second time
    finally:
        del os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]


def test_duplicate_ids_are_refused_before_anything_runs(tmp_path, library):
    path = _jobs(tmp_path / "jobs.jsonl", 2, library)
    path.write_text(path.read_text() + path.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError, match=r"duplicate job ids.*'lib-00' \(lines 1 and 3\)"):
        read_jobs(path, ["xmi"])
    proc = subprocess.run([sys.executable, "-m", "conceptwright", "batch", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "duplicate job ids" in proc.stderr
    assert not (tmp_path / "o" / "jobs").exists() or not any((tmp_path / "o" / "jobs").iterdir())


def test_kill_9_halfway_loses_no_finished_job_and_the_rerun_runs_none_twice(tmp_path, library):
    """The batch is killed with SIGKILL while jobs are in flight; the rerun finishes exactly the rest."""
    server, url = serve(GOOD, delay=0.4)
    try:
        jobs = _jobs(tmp_path / "jobs.jsonl", 12, library)
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "conceptwright", "batch", str(jobs), "--out", str(out), "--workers", "2",
               "--model", "openai:fake", "--no-progress"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list((out / "jobs").glob("*/status.json"))) < 5:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = {p.parent.name: p.stat().st_mtime_ns for p in (out / "jobs").glob("*/status.json")}
        assert 5 <= len(first) < 12
        assert all((out / "jobs" / j / "model.xmi").is_file() for j in first)  # no half job counts as finished
        time.sleep(1.0)  # requests in flight when it was killed still reach the server
        calls_before = count(url)
        rerun = subprocess.run(cmd, cwd=ROOT, env=_env(url), capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert f"{12 - len(first)} job(s) run" in rerun.stdout and f"{len(first)} already finished" in rerun.stdout
        done = {p.parent.name: p.stat().st_mtime_ns for p in (out / "jobs").glob("*/status.json")}
        assert len(done) == 12 and all(done[j] == t for j, t in first.items())  # finished ones untouched
        assert count(url) - calls_before == 12 - len(first)  # one LLM call per remaining job, none twice
        assert not any((out / ".tmp").iterdir())
    finally:
        server.shutdown()


def test_the_ray_executor_resumes_a_local_run_in_the_same_layout(tmp_path, library, fake):
    from conceptwright.jobs import LocalExecutor, RayExecutor, run_batch

    _, url = fake
    jobs = _jobs(tmp_path / "jobs.jsonl", 6, library)
    half = _jobs(tmp_path / "half.jsonl", 3, library)
    os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="k")
    try:
        run_batch(half, tmp_path / "out", executor=LocalExecutor(1), model="openai:fake", progress=False, log=lambda s: None)
        served = count(url)
        out = run_batch(jobs, tmp_path / "out", executor=RayExecutor(2, num_cpus=2), model="openai:fake", progress=False,
                        log=lambda s: None)
        assert out["skipped"] == 3 and out["ran"] == 3 and out["valid"] == 3 and count(url) - served == 3
        workers = {json.loads(p.read_text())["worker"] for p in (tmp_path / "out/jobs").glob("*/status.json")}
        assert len(workers) >= 2  # the driver's jobs and at least one Ray actor's
    finally:
        del os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]


def test_an_option_naming_a_file_beside_the_job_file_is_that_file(tmp_path):
    (tmp_path / "m.ecore").write_text("x")
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"id": "a", "target": "xmi", "spec": "s", "metamodel": "m.ecore",
                                                     "colour": "red"}) + "\n")
    (job,), problems = read_jobs(tmp_path / "jobs.jsonl", ["xmi"])
    assert not problems and job.options == {"metamodel": str((tmp_path / "m.ecore").resolve()), "colour": "red"}
