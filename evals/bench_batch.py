"""Batch throughput against an API backend: a local OpenAI-compatible server that answers with a
fixed delay (tests/fakeopenai.py), the same xmi jobs with 1 worker and with N, side by side."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from conceptwright.jobs import LocalExecutor, run_batch

from .common import REPORTS, shared_dir, table

GOOD = json.dumps({"objects": [
    {"id": "lib", "class": "Library", "attrs": {"name": "City"}, "refs": {"writers": ["w1"], "books": ["b1"]}},
    {"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}},
    {"id": "b1", "class": "Book", "attrs": {"title": "Dune", "pages": 412}, "refs": {"author": "w1"}}]})


def main(args: Any) -> int:
    from tests.fakeopenai import serve

    server, url = serve(GOOD, delay=args.delay)
    os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="k")
    mm = shared_dir() / "examples" / "metamodels" / "library.ecore"
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            jobs = Path(tmp) / "jobs.jsonl"
            jobs.write_text("".join(json.dumps({"id": f"j{i}", "target": "xmi", "spec": f"library {i}", "metamodel": str(mm)}) + "\n"
                                    for i in range(args.jobs)))
            times = {}
            for workers in (1, args.workers):
                start = time.perf_counter()
                out = run_batch(jobs, Path(tmp) / f"out{workers}", executor=LocalExecutor(workers), model="openai:fake",
                                progress=False, log=lambda s: None)
                times[workers] = time.perf_counter() - start
                rows.append([workers, out["ran"], out["valid"], times[workers], out["ran"] / times[workers]])
    finally:
        server.shutdown()
    ratio = times[1] / times[args.workers]
    text = "\n\n".join([
        "# batch throughput: API backend (local OpenAI-compatible server, fixed delay)",
        f"{args.jobs} xmi jobs, each one LLM call answered after {args.delay} s; the same jobs with 1 and {args.workers} "
        "concurrent workers, side by side in one run on this machine.",
        table(["workers", "jobs", "valid", "seconds", "jobs/s"], rows),
        f"**{args.workers} concurrent vs 1: {ratio:.2f}x** the throughput.",
    ]) + "\n"
    path = Path(args.out) if args.out else REPORTS / "bench-batch.md"
    path.write_text(text)
    print(text)
    return 0
