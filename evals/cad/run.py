"""The cad suite (dev set + own cases): conceptual and direct side by side on one model (``conceptwright eval --target cad``)."""
from __future__ import annotations

from typing import Any

from ..common import run_suite


def main(args: Any) -> int:
    return run_suite("cad", args, args.strategies.split(","))
