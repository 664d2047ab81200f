"""Attribute values: JSON or XMI text in, Python values out, one rule set for all."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .metamodel import Feature, parse_date

_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


# what XML 1.0 cannot hold (lxml refuses it when the XMI is written): C0 controls but tab and
# newlines, lone surrogates (JSON may escape them), U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def coerce(f: Feature, value: Any) -> Any:
    """Return the Python value for one attribute value, or raise ValueError (message for the LLM)."""
    kind = f.kind
    if kind == "string" or kind == "other":
        if isinstance(value, (str, int, float, bool)):
            text = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
            bad = _NOT_XML.search(text)
            if bad:
                raise ValueError(f"the text holds the character U+{ord(bad.group()):04X}, which XML cannot hold; remove it")
            return text
        raise ValueError(f"expected a string, got {value!r}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip().replace("_", ""))
            except ValueError:
                pass
        raise ValueError(f"expected an integer, got {value!r}")
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected a number, got {value!r}")
    if kind == "date":
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            return parse_date(value)
        raise ValueError(f"expected a date written YYYY-MM-DD, got {value!r}")
    if kind == "enum":
        if isinstance(value, str) and value in f.literals:
            return value
        raise ValueError(f"'{value}' is not a literal of {f.type_name}; use one of: {', '.join(f.literals)}")
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
