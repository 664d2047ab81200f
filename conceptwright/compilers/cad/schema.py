"""JSON Schema of the part model for constrained decoding (llama.cpp grammars, strict
structured outputs): one variant per feature op and sketch shape, strings and lists bounded."""
from __future__ import annotations

from typing import Any

from .model import FACES, MAX_EXPR, MAX_FEATURES, MAX_ID, MAX_LIST, MAX_PARAMETERS, MAX_SELECTOR, PLANES

NUM: dict[str, Any] = {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": MAX_EXPR}]}
ID = {"type": "string", "maxLength": MAX_ID}
POINT = {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2}
POINTS = {"type": "array", "items": POINT, "minItems": 1, "maxItems": MAX_LIST}
AXIS = {"type": "string", "enum": ["X", "Y", "Z"]}
PLANE = {"type": "string", "enum": list(PLANES)}
FACE = {"type": "string", "enum": list(FACES)}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required),
            "additionalProperties": False}


def _sketch(shape: str, fields: dict[str, Any]) -> dict[str, Any]:
    return _obj({"on": {"type": "string", "enum": list(PLANES) + list(FACES)}, "shape": {"const": shape}, **fields},
                {"offset": NUM, "at": POINT})


SKETCH = {"anyOf": [
    _sketch("rectangle", {"length": NUM, "width": NUM}),
    _sketch("circle", {"diameter": NUM}),
    _sketch("circle", {"radius": NUM}),
    _sketch("polygon", {"sides": {"type": "integer"}, "diameter": NUM}),
    _sketch("slot", {"length": NUM, "width": NUM}),
    _sketch("polyline", {"points": {**POINTS, "minItems": 3}}),
    _sketch("profile", {"start": POINT, "segments": {"type": "array", "maxItems": MAX_LIST, "minItems": 1,
                                                     "items": _obj({"to": POINT}, {"through": POINT})}}),
]}


def _feature(op: str, fields: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return _obj({"id": ID, "op": {"const": op}, **fields}, {"body": ID, **(optional or {})})


PATTERN = {"anyOf": [
    _obj({"kind": {"const": "linear"}, "count": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
          "spacing": POINT}, {"at": POINT}),
    _obj({"kind": {"const": "polar"}, "count": {"type": "integer"}, "radius": NUM}, {"start_angle": NUM, "at": POINT}),
]}
EDGES = {"type": "string", "maxLength": MAX_SELECTOR}

POINT3 = {"type": "array", "items": NUM, "minItems": 3, "maxItems": 3}
FEATURES = [
    _feature("box", {"length": NUM, "width": NUM, "height": NUM}, {"at": POINT3}),
    _feature("cylinder", {"diameter": NUM, "height": NUM}, {"axis": AXIS, "at": POINT3}),
    _feature("cylinder", {"radius": NUM, "height": NUM}, {"axis": AXIS, "at": POINT3}),
    _feature("extrude", {"sketch": SKETCH, "distance": NUM}, {"symmetric": {"type": "boolean"}}),
    _feature("cut", {"sketch": SKETCH, "depth": NUM}),
    _feature("revolve", {"sketch": SKETCH, "axis": AXIS}, {"angle": NUM}),
    _feature("hole", {"face": FACE, "diameter": NUM}, {
        "depth": NUM, "kind": {"type": "string", "enum": ["simple", "counterbore", "countersink"]},
        "positions": POINTS, "pattern": PATTERN, "cbore_diameter": NUM, "cbore_depth": NUM, "csk_diameter": NUM,
        "csk_angle": NUM}),
    _feature("fillet", {"edges": EDGES, "radius": NUM}),
    _feature("chamfer", {"edges": EDGES, "distance": NUM}),
    _feature("shell", {"thickness": NUM}, {"open_face": FACE}),
    _feature("mirror", {"plane": PLANE}),
    _feature("boolean", {"operation": {"type": "string", "enum": ["union", "cut", "intersect"]}, "tool": ID}),
    _feature("move", {}, {"rotate_axis": AXIS, "rotate_angle": NUM, "translate": POINT3}),
]


def part_schema() -> dict[str, Any]:
    """The schema of a whole part model."""
    return _obj({
        "name": ID,
        "units": {"type": "string", "enum": ["mm", "cm", "m", "in"]},
        "parameters": {"type": "array", "maxItems": MAX_PARAMETERS, "items": _obj({"name": ID, "value": {"type": "number"}})},
        "envelope": _obj({"x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"}}),
        "features": {"type": "array", "minItems": 1, "maxItems": MAX_FEATURES, "items": {"anyOf": FEATURES}},
    })
