"""What every target shares around its conceptual model: the opening of ``evaluate`` (pull the
JSON out of a reply and parse it) and loading a model a caller hands in (to edit it)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..agent.protocol import InputError, Outcome
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


def load_model(value: Any, types: type | tuple[type, ...], parse: Callable[[Any], tuple[M | None, list[Diagnostic], list[str]]],
               what: str) -> M:
    """A conceptual model from a model, its JSON data, JSON text or a .json file; InputError (naming
    ``what``, e.g. "a part model") when it is none."""
    if isinstance(value, types):
        return value  # type: ignore[return-value]
    if isinstance(value, Path) or (isinstance(value, str) and value.strip().endswith(".json") and Path(value).is_file()):
        value = Path(value).read_text(encoding="utf-8")
    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise InputError(f"not {what}: the JSON does not parse ({exc})") from None
    model, diags, _ = parse(data)
    if model is None:
        raise InputError(f"not {what}: {diags[0].message if diags else 'unreadable'}")
    return model
