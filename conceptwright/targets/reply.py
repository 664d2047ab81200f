"""The opening every target's ``evaluate`` shares: pull the JSON out of a reply and parse it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..agent.protocol import Outcome
from ..core.diagnostics import Diagnostic
from ..core.jsonparse import JSONExtractError, extract_json

M = TypeVar("M")


def parse_reply(raw: str, parse: Callable[[Any], tuple[M | None, list[Diagnostic], list[str]]]
                ) -> tuple[M, list[str]] | Outcome:
    """``(model, fixes)``, or the Outcome that says why the reply is not a model (shown back as it was)."""
    try:
        data = extract_json(raw)
    except JSONExtractError as exc:
        return Outcome(diagnostics=[Diagnostic(code="parse-error", message=str(exc))], feedback=raw)
    model, diags, fixes = parse(data)
    if model is None:
        return Outcome(diagnostics=diags, fixes=fixes, feedback=raw)
    return model, fixes
