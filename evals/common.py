"""Shared eval plumbing: locating ../shared, models, markdown tables."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared examples folder: $CONCEPTWRIGHT_SHARED or ../shared beside the repo."""
    env = os.environ.get("CONCEPTWRIGHT_SHARED")
    path = Path(env) if env else ROOT.parent / "shared"
    if not (path / "examples").is_dir():
        raise SystemExit(f"shared examples not found at {path}; set CONCEPTWRIGHT_SHARED")
    return path


def table(headers: list[str], rows: list[list[object]]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(out)
