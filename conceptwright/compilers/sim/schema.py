"""Decoding schema of the conceptual sim model, generated from its pydantic types
(``core.jsonschema.grammar_schema``): one ``anyOf`` of the two kinds, told apart by the
first property, ``kind``. ``"from": ""`` and ``"to": ""`` mean outside the model."""
from __future__ import annotations

import copy
from functools import cache
from typing import Any

from ...core.jsonschema import grammar_schema
from .model import SimModel


@cache
def _schema() -> dict[str, Any]:
    return grammar_schema(SimModel)


def sim_schema() -> dict[str, Any]:
    """The schema of a whole sim model (a fresh copy)."""
    return copy.deepcopy(_schema())
