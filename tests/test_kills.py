"""Killed processes (issue 17, part 5): ``kill -9`` at seeded random points loses nothing.

- ``conceptwright batch`` (a subprocess, a fake OpenAI server with a small delay, several jobs)
  is killed at seeded random points, once or twice, then rerun to the end: every job finished
  exactly once, no half-written job counts, finished ones are untouched, and the fake server's
  call count proves no job's LLM call ran twice.
- ``conceptwright chat`` (piped stdin) is killed mid-turn: the session file is intact and
  resumes with every completed turn.
- the CAD worker is killed while a job is in flight: it is replaced, the job in flight is
  retried once on a new worker, reported (a ``stopped`` diagnostic) if it dies again; the next job runs.

Seeds are fixed (``SEEDS``), so every run kills at the same points.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .fakeopenai import count, serve
from .test_loop import GOOD

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (17, 4242, 90210)
JOBS = 8
DELAY = 0.25  # seconds per LLM call


@pytest.fixture
def library(metamodels: Path) -> Path:
    return metamodels / "library.ecore"


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT), **extra}


def _jobs(path: Path, n: int, metamodel: Path) -> Path:
    path.write_text("".join(json.dumps({"id": f"job-{i:02d}", "target": "xmi", "spec": f"library number {i}",
                                        "metamodel": str(metamodel)}) + "\n" for i in range(n)))
    return path


def _finished(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "jobs").glob("*/status.json")}


def _settle(url: str, quiet: float = 3 * DELAY, limit: float = 10.0) -> int:
    """The server's count once requests in flight when a process died have all arrived."""
    deadline, last = time.monotonic() + limit, -1
    while time.monotonic() < deadline:
        now = count(url)
        if now == last:
            return now
        last = now
        time.sleep(quiet)
    return count(url)


@pytest.mark.parametrize("seed", SEEDS)
def test_batch_killed_at_seeded_random_points_finishes_every_job_exactly_once(tmp_path, library, seed):
    rng = random.Random(seed)
    server, url = serve(GOOD, delay=DELAY)
    try:
        jobs, out = _jobs(tmp_path / "jobs.jsonl", JOBS, library), tmp_path / "out"
        cmd = [sys.executable, "-m", "conceptwright", "batch", str(jobs), "--out", str(out), "--workers", "2",
               "--model", "openai:fake", "--no-progress"]
        kills = rng.randint(1, 2)
        plan: list[tuple[int, float]] = []  # (finished jobs to wait for, then seconds) of each kill
        for _ in range(kills):
            done_before = len(_finished(out)) if (out / "jobs").is_dir() else 0
            if done_before >= JOBS - 1:
                break
            # kill once this many more jobs have finished (0: while the first ones are in flight), a little later
            wait_for = done_before + rng.randint(0, max(0, JOBS - done_before - 3))
            jitter = rng.uniform(0.0, DELAY / 2)
            err = (tmp_path / f"killed-{len(plan)}.stderr").open("wb")
            proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(url), stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.monotonic() + 120
            # then kill while a job is in flight (its work folder is in .tmp), a seeded moment later
            while time.monotonic() < deadline and proc.poll() is None and not (
                    (out / ".tmp").is_dir() and len(_finished(out)) >= wait_for and any((out / ".tmp").iterdir())):
                time.sleep(0.01)
            time.sleep(jitter)
            alive = proc.poll() is None
            if alive:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            err.close()
            plan.append((wait_for, round(jitter, 3)))
            assert alive, f"the batch ended before the kill: {(tmp_path / f'killed-{len(plan) - 1}.stderr').read_text()}"
            finished = _finished(out) if (out / "jobs").is_dir() else {}
            for job in finished:  # what counts as finished is whole: its artefact and status
                status = json.loads((out / "jobs" / job / "status.json").read_text())
                assert status["ok"] and status["attempts"] == 1 and (out / "jobs" / job / "model.xmi").is_file()
            if (out / "jobs").is_dir():  # nothing half-written among the finished
                assert set(os.listdir(out / "jobs")) == set(finished)
        before = _finished(out)
        print(f"seed {seed}: {len(plan)} kill(s) at {plan}; {len(before)} of {JOBS} jobs finished before the rerun")
        assert len(before) < JOBS  # the kills really cut the batch short
        calls_before_final = _settle(url)
        rerun = subprocess.run(cmd, cwd=ROOT, env=_env(url), capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert f"{JOBS - len(before)} job(s) run" in rerun.stdout and f"{len(before)} already finished" in rerun.stdout
        done = _finished(out)
        assert len(done) == JOBS and all(done[j] == t for j, t in before.items())  # finished ones untouched
        assert count(url) - calls_before_final == JOBS - len(before)  # one LLM call per remaining job, none twice
        statuses = [json.loads(p.read_text()) for p in (out / "jobs").glob("*/status.json")]
        assert sorted(s["id"] for s in statuses) == [f"job-{i:02d}" for i in range(JOBS)]
        assert all(s["ok"] and s["attempts"] == 1 for s in statuses)
        assert not any((out / ".tmp").iterdir())  # what the kills left half-written is gone
        assert (out / "summary.csv").read_text().count("\n") == JOBS + 1
        assert count(url) <= JOBS + 2 * len(plan)  # in all: each job once, plus at most the 2 in flight per kill
    finally:
        server.shutdown()


class _Lines:
    """Lines of a child's stdout, read in a thread, waited for by content."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()

    def wait_for(self, needle: str, n: int = 1, timeout: float = 120.0) -> list[str]:
        with self._cv:
            ok = self._cv.wait_for(lambda: sum(needle in s for s in self.lines) >= n, timeout)
        assert ok, f"no {needle!r} (x{n}) in {self.lines}"
        return [s for s in self.lines if needle in s]


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_chat_killed_mid_turn_keeps_a_resumable_session_with_every_completed_turn(tmp_path, library, seed):
    rng = random.Random(seed)
    server, url = serve(GOOD, delay=4 * DELAY)
    store = tmp_path / "sessions"
    env = _env(url, CONCEPTWRIGHT_SESSIONS=str(store))
    try:
        cmd = [sys.executable, "-m", "conceptwright", "chat", "--target", "xmi", "--metamodel", str(library),
               "--model", "openai:fake"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, bufsize=1)
        out = _Lines(proc)
        completed = rng.randint(1, 2)  # turns completed before the kill
        messages = ["a library with one writer and one book", "rename the library to Town", "add a second book"]
        for i in range(completed):
            proc.stdin.write(messages[i] + "\n")
            proc.stdin.flush()
            out.wait_for("[turn ", n=i + 1)
        session_id = out.lines[0].split("session ")[1].split()[0].strip(",;:()")
        proc.stdin.write(messages[completed] + "\n")  # the turn that is killed
        proc.stdin.flush()
        out.wait_for("attempt 1 of up to", n=completed + 1)
        time.sleep(rng.uniform(0.0, 3 * DELAY))  # mid-turn: the LLM call takes 4 * DELAY
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert sum("[turn " in s for s in out.lines) == completed  # it died before the turn finished
        path = store / session_id / "session.json"
        data = json.loads(path.read_text(encoding="utf-8"))  # intact JSON, not half a file
        assert [t["message"] for t in data["turns"]] == messages[:completed] and all(t["ok"] for t in data["turns"])
        assert not [p for p in path.parent.iterdir() if p.name.startswith(".session.json.")]  # no stray temp file counts
        resumed = subprocess.run([sys.executable, "-m", "conceptwright", "chat", "--session", session_id],
                                 input=messages[completed] + "\n", cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert f"[turn {completed}] valid" in resumed.stdout
        data = json.loads(path.read_text(encoding="utf-8"))
        assert [t["message"] for t in data["turns"]] == messages[: completed + 1]
        assert [t["index"] for t in data["turns"]] == list(range(completed + 1))
    finally:
        server.shutdown()


SLOW_BOX = "import time\nimport cadquery as cq\ntime.sleep(6)\nresult = cq.Workplane().box(1, 1, 1)\n"
BOX = "import cadquery as cq\nresult = cq.Workplane().box(2, 2, 2)\n"


def test_cad_worker_killed_with_a_job_in_flight_is_replaced_and_the_job_retried_once():
    """A worker killed with a job in flight is replaced and the job runs again on the new one;
    killed a second time on the same job, the job is reported (a ``stopped`` diagnostic for the
    repair loop) and a fresh worker serves the next job."""
    from conceptwright.tools.cad.runner import CadJob, CadRunner, CodeBlock
    from conceptwright.tools.cad.validate import check_report, from_description

    rng = random.Random(SEEDS[0])
    r = CadRunner()

    def in_thread(code: str) -> tuple[threading.Thread, dict[str, object]]:
        got: dict[str, object] = {}
        t = threading.Thread(target=lambda: got.update(
            report=r.run(CadJob(blocks=[CodeBlock(name="script", code=code)], exports=[], verify=False))))
        t.start()
        return t, got

    def new_pid(old: int) -> int:
        for _ in range(400):
            if r.pid not in (None, old):
                return r.pid
            time.sleep(0.05)
        raise AssertionError("no new worker")

    try:
        warm = r.run(CadJob(blocks=[CodeBlock(name="script", code=BOX)], exports=[], verify=False))
        assert warm.result is not None and warm.result.valid
        first_pid = r.pid
        job, got = in_thread(SLOW_BOX)
        time.sleep(0.5 + rng.uniform(0.0, 1.0))  # the job is sleeping in the worker's forked child
        os.kill(first_pid, signal.SIGKILL)
        job.join(90)
        report = got["report"]
        assert report.result is not None and report.result.valid and abs(report.result.volume - 1.0) < 1e-6
        assert report.worker_pid != first_pid and r.starts == 2  # retried once, on the new worker
        second = r.pid
        job, got = in_thread(SLOW_BOX)
        time.sleep(0.5 + rng.uniform(0.0, 1.0))
        os.kill(second, signal.SIGKILL)
        third = new_pid(second)
        time.sleep(3.0)  # started, and running the same job again
        os.kill(third, signal.SIGKILL)  # the replacement too, on the same job
        job.join(90)
        report = got["report"]
        assert report.killed_reason and "died twice" in report.killed_reason and "SIGKILL" in report.killed_reason
        diags = check_report(report, from_description("a box"))
        assert [d.code for d in diags] == ["stopped"] and "died twice" in diags[0].message
        after = r.run(CadJob(blocks=[CodeBlock(name="script", code=BOX)], exports=[], verify=False))
        assert after.result is not None and after.result.valid and abs(after.result.volume - 8.0) < 1e-6
        assert r.starts == 4  # the first, the retry, the second retry, the next job's
    finally:
        r.close()
