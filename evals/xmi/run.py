"""The xmi suite: conceptual and direct side by side on one model (``conceptwright eval --target xmi``)."""
from __future__ import annotations

from typing import Any

from ..common import run_suite


def main(args: Any) -> int:
    return run_suite("xmi", args, args.strategies.split(","))
