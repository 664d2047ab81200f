"""The batch promise on a real local model: a batch of mixed jobs on the embedded model, killed
with SIGKILL halfway and rerun, ends with exactly one result per job and no job run twice; and the
same jobs with 2 workers vs 1 (cores split between them), side by side in one run.

    python -m evals bench-resume [--jobs 20] [--model smollm2] [--ratio-jobs 8]

"No job run twice" is read off the files: a job finished before the kill keeps its status.json
untouched (same bytes, same mtime), the rerun says how many it ran, and the LLM calls of every
finished job (trace records) add up to the attempts its status reports.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import REPORTS, shared_dir, table

SPECS = {
    "xmi": ["The {n} family: father John, mother Jane, son Tom.", "The {n} family: mother Ann and daughters Eve and Sue."],
    "cad": ["A plate {a} x {b} x 6 mm with a {c} mm hole in the centre.", "A cylinder {c} mm in diameter and {a} mm tall."],
    "sim": ["A shop with one clerk: customers arrive every {a} minutes on average (exponential), service takes {c} minutes "
            "on average (exponential). Simulate 2000 minutes, 2 replications, seed 1. Report the mean wait."],
}
NAMES = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker"]


def job_lines(n: int, model: str) -> list[dict[str, Any]]:
    mm = str(shared_dir() / "examples" / "metamodels" / "Families.ecore")
    out = []
    for i in range(n):
        target = ("xmi", "cad", "sim", "xmi", "cad")[i % 5]
        spec = SPECS[target][i % len(SPECS[target])].format(n=NAMES[i % len(NAMES)], a=40 + 5 * i, b=30 + 2 * i,
                                                           c=4 + i % 5)
        line = {"id": f"{target}-{i:02d}", "target": target, "spec": spec, "model": model, "max_repairs": 0}
        if target == "xmi":
            line["metamodel"] = mm
        if target == "cad":
            line["pictures"] = False
        out.append(line)
    return out


def _batch(jobs: Path, out: Path, workers: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "conceptwright", "batch", str(jobs), "--out", str(out), "--workers",
                             str(workers), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finished(out: Path) -> dict[str, tuple[float, bytes]]:
    return {p.parent.name: (p.stat().st_mtime, p.read_bytes()) for p in (out / "jobs").glob("*/status.json")}


def kill_and_resume(jobs: Path, out: Path, n: int) -> dict[str, Any]:
    proc = _batch(jobs, out)
    while len(_finished(out)) < n // 2 and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _finished(out)
    half_written = len(list((out / ".tmp").glob("*"))) if (out / ".tmp").exists() else 0
    time.sleep(1.0)  # orphans would write now, if there were any
    assert _finished(out) == before, "a process of the killed batch went on writing"
    start = time.perf_counter()
    rerun = subprocess.run([sys.executable, "-m", "conceptwright", "batch", str(jobs), "--out", str(out), "--no-progress"],
                           capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = _finished(out)
    untouched = sum(after.get(k) == v for k, v in before.items())
    calls, attempts = 0, 0
    for job in (out / "jobs").iterdir():
        status = json.loads((job / "status.json").read_text())
        attempts += status["attempts"]
        trace = job / "trace.jsonl"
        calls += len(trace.read_text().splitlines()) if trace.exists() else 0
    return {"jobs": n, "finished_at_kill": len(before), "half_written_at_kill": half_written, "results": len(after),
            "untouched": untouched, "rerun_said": (rerun.stdout.strip().splitlines() or [""])[-1],
            "rerun_stderr": [l for l in rerun.stderr.splitlines() if "already finished" in l], "llm_calls": calls,
            "attempts": attempts, "rerun_seconds": seconds, "rerun_rc": rerun.returncode}


def workers_ratio(jobs: Path, tmp: Path) -> dict[int, float]:
    times = {}
    for workers in (1, 2):
        start = time.perf_counter()
        proc = _batch(jobs, tmp / f"w{workers}", workers)
        proc.communicate()
        times[workers] = time.perf_counter() - start
    return times


def main(args: Any) -> int:
    with tempfile.TemporaryDirectory(prefix="cw-resume-") as tmp:
        t = Path(tmp)
        jobs = t / "jobs.jsonl"
        lines = job_lines(args.jobs, args.model)
        jobs.write_text("".join(json.dumps(x) + "\n" for x in lines))
        k = kill_and_resume(jobs, t / "killed", args.jobs)
        few = t / "few.jsonl"
        few.write_text("".join(json.dumps(x) + "\n" for x in lines[: args.ratio_jobs]))
        times = workers_ratio(few, t)
    ok = k["results"] == args.jobs and k["untouched"] == k["finished_at_kill"] and k["llm_calls"] == k["attempts"]
    text = "\n\n".join([
        f"# batch kill and resume, and workers, on the embedded model ({args.model})",
        f"{args.jobs} mixed jobs (xmi, cad, sim; no repair), one worker, killed with SIGKILL once half had finished, "
        "then the same command again. A job finished before the kill must keep its status.json byte for byte; every "
        "finished job's trace records (LLM calls) must equal the attempts its status reports.",
        table(["jobs", "finished at the kill", "half-written at the kill", "results after rerun", "finished jobs untouched",
               "LLM calls (traces)", "attempts (status)", "rerun exit", "verdict"],
              [[k["jobs"], k["finished_at_kill"], k["half_written_at_kill"], k["results"], k["untouched"], k["llm_calls"],
                k["attempts"], k["rerun_rc"], "exactly once each" if ok else "FAILED"]]),
        f"Rerun: {'; '.join(k['rerun_stderr'])} - {k['rerun_said']}",
        f"## 2 workers vs 1\n\nThe first {args.ratio_jobs} jobs, fresh folders, one worker (llama.cpp on 2 threads) then two "
        "(one thread each), one model process per worker, side by side in one run on this 2-core machine.",
        table(["workers", "seconds", "jobs/s"], [[w, s, args.ratio_jobs / s] for w, s in times.items()]),
        f"**2 workers vs 1: {times[1] / times[2]:.2f}x** the throughput.",
    ]) + "\n"
    path = Path(args.out) if args.out else REPORTS / "bench-resume.md"
    path.write_text(text)
    print(text)
    return 0 if ok else 1
