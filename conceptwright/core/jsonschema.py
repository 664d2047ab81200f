"""JSON-schema helpers shared by backends."""
from __future__ import annotations

import copy
from typing import Any


def to_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a schema for OpenAI strict structured outputs.

    Every object lists all its properties as required (optional ones become nullable)
    and forbids extra properties. ``const`` becomes a one-value ``enum``.
    """
    out = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "const" in node:
                node["enum"] = [node.pop("const")]
            props = node.get("properties")
            if isinstance(props, dict):
                required = set(node.get("required", []))
                for name, sub in props.items():
                    if name not in required:
                        props[name] = {"anyOf": [sub, {"type": "null"}]}
                node["required"] = list(props)
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(out)
    return out


def drop_nulls(value: Any) -> Any:
    """Remove ``None`` entries that strict outputs use for 'absent'."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value
