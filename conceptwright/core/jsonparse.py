"""Pull one JSON value out of an LLM reply (code fences, chatter, trailing commas)."""
from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.S)


class JSONExtractError(ValueError):
    pass


def extract_json(text: str) -> Any:
    """Return the first JSON object/array in ``text``; raise JSONExtractError with a hint."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    last_error = "no JSON object found"
    for chunk in candidates:
        start = _first_open(chunk)
        if start < 0:
            continue
        decoder = json.JSONDecoder()
        body = chunk[start:]
        for attempt in (body, _strip_trailing_commas(body)):
            try:
                value, _ = decoder.raw_decode(attempt)
                return value
            except json.JSONDecodeError as exc:
                last_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if text.strip() and _first_open(text) >= 0 and not text.rstrip().endswith(("}", "]")):
        last_error += " (the reply looks cut off: write fewer or shorter objects)"
    raise JSONExtractError(f"the reply is not valid JSON: {last_error}")


def _first_open(s: str) -> int:
    idx = [i for i in (s.find("{"), s.find("[")) if i >= 0]
    return min(idx) if idx else -1


def _strip_trailing_commas(s: str) -> str:
    return re.sub(r",\s*([}\]])", r"\1", s)
