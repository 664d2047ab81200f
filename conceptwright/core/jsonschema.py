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


ASK: dict[str, Any] = {"x-ask": True}
"""``Field(json_schema_extra=ASK)`` marks a field with a default that the decoding schema
still asks for (grammars write required properties first, in order, so a small model
writes the lists it needs in their natural order)."""

_DROP = ("title", "description", "default", "discriminator", "examples")


def grammar_schema(tp: Any, *, max_string: int = 200, max_items: int = 40) -> dict[str, Any]:
    """The decoding schema of a pydantic type, in the subset llama.cpp grammars enforce.

    References are inlined, ``oneOf`` becomes ``anyOf``, ``None`` alternatives are dropped
    (absent means None), every string and array is bounded (``max_string``, ``max_items``
    unless the type says less) so a small model cannot decode one endless value, objects
    forbid extra properties, and fields marked :data:`ASK` are required.
    """
    from pydantic import TypeAdapter

    raw = TypeAdapter(tp).json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        node = {k: v for k, v in node.items() if k not in _DROP}
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        if "anyOf" in node:
            options = [visit(o) for o in node.pop("anyOf") if o != {"type": "null"}]
            if len(options) == 1:
                node = {**options[0], **{k: visit(v) for k, v in node.items()}}
                return node
            node["anyOf"] = options
        prefix = node.get("prefixItems")
        if prefix and all(p == prefix[0] for p in prefix):
            node.pop("prefixItems")
            node["items"] = prefix[0]
            node.setdefault("minItems", len(prefix))
            node.setdefault("maxItems", len(prefix))
        out = {k: visit(v) for k, v in node.items()}
        if out.get("type") == "string" and not {"enum", "const", "maxLength"} & set(out):
            out["maxLength"] = max_string
        if out.get("type") == "array" and "maxItems" not in out:
            out["maxItems"] = max_items
        props = out.get("properties")
        if isinstance(props, dict):
            asked = [name for name, sub in props.items() if sub.pop("x-ask", False)]
            required = set(out.get("required", [])) | set(asked)
            out["required"] = [name for name in props if name in required]
            out["additionalProperties"] = False
        return out

    return visit(raw)


def bounded_str(n: int) -> Any:
    """A ``str`` the decoding schema bounds to ``n`` characters (validation does not)."""
    from typing import Annotated

    from pydantic import WithJsonSchema

    return Annotated[str, WithJsonSchema({"type": "string", "maxLength": n})]
