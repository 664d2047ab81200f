"""Where the time goes: wall seconds of a suite's runs in the LLM vs in our own code (prompt
building, fixes, compile, validate, sandbox start-up), from its results and trace files.

    python -m evals.time_share evals/runs/xmi-own-after.jsonl [more results files]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def share(results: Path) -> tuple[float, float, int]:
    """(total seconds, seconds inside LLM calls, runs) of one results file and its trace."""
    rows = [json.loads(t) for t in results.read_text().splitlines() if t.strip()]
    trace = results.with_suffix(".trace.jsonl")
    llm = sum(json.loads(t).get("latency_s", 0.0) for t in trace.read_text().splitlines() if t.strip()) if trace.exists() else 0.0
    return sum(r.get("seconds", 0.0) for r in rows), llm, len(rows)


def main(paths: list[str]) -> int:
    print("| results | runs | seconds | in the LLM | outside the LLM | share outside |")
    print("|---|---|---|---|---|---|")
    for p in paths:
        total, llm, n = share(Path(p))
        print(f"| {Path(p).name} | {n} | {total:.0f} | {llm:.0f} | {total - llm:.0f} | {100 * (total - llm) / total:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
