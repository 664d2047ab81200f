"""Decoding schema of the part model (llama.cpp grammars, strict structured outputs),
generated from its pydantic types (``core.jsonschema.grammar_schema``): one variant per
feature op and sketch shape, strings and lists bounded."""
from __future__ import annotations

import copy
from functools import cache
from typing import Any

from ...core.jsonschema import grammar_schema
from .model import MAX_EXPR, Part


@cache
def _schema() -> dict[str, Any]:
    return grammar_schema(Part, max_string=MAX_EXPR)


def part_schema() -> dict[str, Any]:
    """The schema of a whole part model (a fresh copy)."""
    return copy.deepcopy(_schema())
