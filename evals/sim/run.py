"""The sim suite on one model (``conceptwright eval --target sim``); ``--model reference`` answers each
case with its stored reference model (no LLM), which checks the cases and the engine end to end."""
from __future__ import annotations

from typing import Any

from ..common import run_suite


def main(args: Any) -> int:
    return run_suite("sim", args)
