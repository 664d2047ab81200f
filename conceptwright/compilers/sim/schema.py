"""JSON Schema of the conceptual sim model, for constrained decoding (llama.cpp grammars:
no ``not``/``if``; strings bounded by maxLength and arrays by maxItems so a small model
cannot decode one endless value). Grammars put required properties first, so the lists
a model needs in a natural order are required (empty when unused); ``"from": ""`` and
``"to": ""`` mean outside the model."""
from __future__ import annotations

from typing import Any, get_args

from .model import KPI, DistName

MAX_ID, MAX_TEXT, MAX_EXPR, MAX_UNIT = 40, 60, 200, 30
MAX_ELEMENTS, MAX_ROUTES = 20, 8


def _s(n: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": n}


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def _list(item: dict[str, Any], n: int = MAX_ELEMENTS) -> dict[str, Any]:
    return {"type": "array", "items": item, "maxItems": n}


NUM: dict[str, Any] = {"type": "number"}
INT: dict[str, Any] = {"type": "integer"}
DIST = _obj({"dist": {"type": "string", "enum": list(get_args(DistName))}, "mean": NUM, "rate": NUM, "low": NUM,
             "mode": NUM, "high": NUM, "sd": NUM, "unit": _s(MAX_UNIT)}, ["dist"])
ROUTES = _list(_obj({"to": _s(MAX_ID), "p": NUM}, ["to", "p"]), MAX_ROUTES)

PROCESS = _obj({
    "kind": {"type": "string", "const": "process"},
    "name": _s(MAX_TEXT),
    "time_unit": _s(MAX_UNIT),
    "sources": {**_list(_obj({"id": _s(MAX_ID), "interarrival": DIST, "next": ROUTES, "limit": INT, "priority": INT},
                             ["id", "interarrival", "next"])), "minItems": 1},
    "resources": _list(_obj({"id": _s(MAX_ID), "capacity": INT, "max_queue": INT,
                             "discipline": {"type": "string", "enum": ["FIFO", "LIFO", "priority"]}}, ["id", "capacity"])),
    "activities": {**_list(_obj({"id": _s(MAX_ID), "resource": _s(MAX_ID), "duration": DIST, "next": ROUTES},
                                ["id", "resource", "duration", "next"])), "minItems": 1},
    "run": _obj({"unit": _s(MAX_UNIT), "horizon": NUM, "warmup": NUM, "replications": INT, "seed": INT},
                ["unit", "horizon", "warmup", "replications", "seed"]),
    "kpis": _list({"type": "string", "enum": list(get_args(KPI))}, 7),
}, ["kind", "name", "time_unit", "sources", "resources", "activities", "run", "kpis"])

CONTINUOUS = _obj({
    "kind": {"type": "string", "const": "continuous"},
    "name": _s(MAX_TEXT),
    "time_unit": _s(MAX_UNIT),
    "parameters": _list(_obj({"id": _s(MAX_ID), "value": NUM, "unit": _s(MAX_UNIT)}, ["id", "value", "unit"])),
    "stocks": _list(_obj({"id": _s(MAX_ID), "initial": NUM, "unit": _s(MAX_UNIT), "non_negative": {"type": "boolean"}},
                         ["id", "initial", "unit"])),
    "flows": _list(_obj({"id": _s(MAX_ID), "from": _s(MAX_ID), "to": _s(MAX_ID), "rate": _s(MAX_EXPR), "unit": _s(MAX_UNIT)},
                        ["id", "from", "to", "rate", "unit"])),
    "states": _list(_obj({"id": _s(MAX_ID), "initial": NUM, "der": _s(MAX_EXPR), "unit": _s(MAX_UNIT)},
                         ["id", "initial", "der", "unit"])),
    "auxiliaries": _list(_obj({"id": _s(MAX_ID), "equation": _s(MAX_EXPR), "unit": _s(MAX_UNIT)}, ["id", "equation"])),
    "events": _list(_obj({"when": _s(MAX_EXPR), "stop": {"type": "boolean"},
                          "set": _list(_obj({"var": _s(MAX_ID), "value": _s(MAX_EXPR)}, ["var", "value"]), 5)},
                         ["when"]), 5),
    "time": _obj({"start": NUM, "stop": NUM, "dt": NUM, "method": {"type": "string", "enum": ["RK45", "Euler", "LSODA", "Radau"]}},
                 ["start", "stop", "dt", "method"]),
}, ["kind", "name", "time_unit", "parameters", "stocks", "flows", "states", "auxiliaries", "events", "time"])


def sim_schema() -> dict[str, Any]:
    """One schema for both kinds: anyOf, told apart by the first property, ``kind``."""
    return {"anyOf": [PROCESS, CONTINUOUS]}
