"""Certain fixes of a part's JSON, applied without an LLM: wrappers, aliases, units in numbers,
radius -> diameter, feature ids named as bodies, holes along a cylinder's axis. Each fix applied
is returned as a sentence for the trace."""
from __future__ import annotations

import re
from typing import Any

from ...core.jsonschema import drop_nulls
from .expr import identifier_problem, strip_unit
from .model import CREATES, OPS, Chamfer, Cylinder, Fillet, Hole, Part
from ...core.rules import fix

_SKETCH_KEYS = {"shape", "on", "offset", "at", "width", "height", "diameter", "radius", "sides", "length", "angle", "base",
                "top", "bottom", "apex", "align",
                "points", "start", "segments"}



@fix("cad", "json-shape", "wrappers, parameters as a dict, envelope as a list and sizes of 0 are put in the schema's shape")
def normalize(data: Any) -> tuple[Any, list[str]]:
    """Fixes that cannot change the meaning: wrappers, aliases, units in numbers, radius -> diameter."""
    fixes: list[str] = []
    data = drop_nulls(data)
    if isinstance(data, list):
        data, _ = {"features": data}, fixes.append('wrapped the top-level list as {"features": [...]}')
    if not isinstance(data, dict):
        return data, fixes
    data = dict(data)
    if isinstance(data.get("parameters"), dict):
        data["parameters"] = [{"name": k, "value": v} for k, v in data["parameters"].items()]
        fixes.append('wrote "parameters" as a list of {"name", "value"}')
    env = data.get("envelope")
    if isinstance(env, list) and len(env) == 3:
        data["envelope"] = env = dict(zip("xyz", env))
        fixes.append('wrote "envelope" [x, y, z] as {"x", "y", "z"}')
    data = _strip_units(data, fixes)
    if isinstance(env := data.get("envelope"), dict):
        bad = [k for k in "xyz" if k in env and isinstance(env[k], (int, float)) and env[k] <= 0]
        if bad:
            data["envelope"] = {k: v for k, v in env.items() if k not in bad}
            fixes.append(f"left the envelope's {', '.join(bad)} unchecked (a size must be greater than 0)")
    radii = _radius_names(data.get("parameters"))
    feats = data.get("features")
    if isinstance(feats, list):
        data["features"] = [_fix_feature(f, i, fixes, radii) if isinstance(f, dict) else f for i, f in enumerate(feats)]
        _feature_ids_as_bodies(data["features"], fixes)
    return data, fixes


@fix("cad", "feature-id-as-body", "a body named after an earlier feature's id means the body that feature made")
def _feature_ids_as_bodies(feats: list[Any], fixes: list[str]) -> None:
    """A feature that works on "the body" named after an earlier feature's id ("body": "base_plate")
    means the body that feature made or changed."""
    bodies: set[str] = set()
    owner: dict[str, str] = {}  # feature id -> its body
    by_id: dict[str, dict[str, Any]] = {}
    first: set[str] = set()  # ids of the features that created a body
    for f in feats:
        if not isinstance(f, dict):
            continue
        body = f.get("body", "main")
        if isinstance(body, str) and body not in bodies and body in owner and f.get("op") not in CREATES:
            fixes.append(f"{f.get('id')}: body '{body}' is a feature id: used its body '{owner[body]}'")
            f["body"] = body = owner[body]
        tool = f.get("tool")
        if f.get("op") == "boolean" and isinstance(tool, str) and tool not in bodies and tool in owner:
            made = by_id[tool]
            if owner[tool] == body and made.get("op") in CREATES and tool not in first and identifier_problem(tool) is None:
                made["body"] = owner[tool] = tool  # the shape it combines was joined to its own body: keep it apart
                bodies.add(tool)
                fixes.append(f"{tool}: made a body of its own, '{tool}', which {f.get('id')} combines with {body}")
            else:
                f["tool"] = owner[tool]
                fixes.append(f"{f.get('id')}: tool '{tool}' is a feature id: used its body '{owner[tool]}'")
        body = f.get("body", "main")
        if isinstance(body, str) and isinstance(f.get("id"), str):
            if body not in bodies:
                first.add(f["id"])
            bodies.add(body)
            owner[f["id"]], by_id[f["id"]] = body, f


def _radius_names(params: Any) -> set[str]:
    """Parameters whose name says they are radii ("radius", "hole_r", "outer_radius")."""
    if not isinstance(params, list):
        return set()
    names_ = {p.get("name") for p in params if isinstance(p, dict) and isinstance(p.get("name"), str)}
    return {n for n in names_ if re.search(r"(^|_)(radius|rad|r)$|^radius_|^r_", n.lower())}


@fix("cad", "feature-aliases", "sketch keys beside the feature move into its sketch; aliases of ops and fields are renamed")
def _fix_feature(f: dict[str, Any], i: int, fixes: list[str], radii: set[str] = frozenset()) -> dict[str, Any]:
    f = dict(f)
    if "op" not in f and isinstance(f.get("type"), str) and f["type"] in OPS:
        f["op"] = f.pop("type")
        fixes.append(f'feature {i + 1}: read "type" as "op"')
    if not f.get("id"):
        f["id"] = f"f{i + 1}"
    fid = f["id"]
    if f.get("op") in ("extrude", "cut", "revolve") and "sketch" not in f and "shape" in f:
        f["sketch"] = {k: f.pop(k) for k in list(f) if k in _SKETCH_KEYS and k != "angle"}
        fixes.append(f"{fid}: moved the shape fields into \"sketch\"")
    if isinstance(f.get("sketch"), dict):
        f["sketch"] = _radius_to_diameter(dict(f["sketch"]), fid, fixes, radii)
        sk = f["sketch"]
        if sk.get("shape") == "rectangle" and "height" in sk and "length" not in sk:  # the older width x height form
            sk["length"], sk["width"] = sk.pop("width", None), sk.pop("height")
            if sk["length"] is None:
                del sk["length"]
    if f.get("op") in ("hole", "cylinder"):
        f = _radius_to_diameter(f, fid, fixes, radii)
    return f


@fix("cad", "radius-as-diameter", "a radius given where a diameter is asked (or a parameter named radius used as one) is doubled")
def _radius_to_diameter(d: dict[str, Any], fid: str, fixes: list[str], radii: set[str] = frozenset()) -> dict[str, Any]:
    if "radius" in d and "diameter" not in d and d.get("kind") != "polar":
        r = d.pop("radius")
        d["diameter"] = 2 * r if isinstance(r, (int, float)) else f"2 * ({r})"
        fixes.append(f"{fid}: wrote radius {r} as diameter")
    elif isinstance(d.get("diameter"), str) and d["diameter"].strip() in radii:
        r = d["diameter"].strip()
        d["diameter"] = f"2 * {r}"
        fixes.append(f"{fid}: the diameter was the radius parameter '{r}': wrote 2 * {r}")
    return d


@fix("cad", "units-in-numbers", "numbers written with their unit (\"10 mm\") lose the unit")
def _strip_units(value: Any, fixes: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip_units(v, fixes) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_units(v, fixes) for v in value]
    if isinstance(value, str) and (bare := strip_unit(value)) is not None:
        fixes.append(f"read '{value}' as {bare}")
        return float(bare)
    return value


@fix("cad", "hole-along-cylinder-axis", "a centre hole drilled from the curved side of a cylinder is drilled from its end face")
def holes_along_cylinders(part: Part, fixes: list[str]) -> None:
    """A centre hole drilled from the curved side of a body that is a cylinder ("face": ">Z" on a
    cylinder along X) is meant along the cylinder's axis: drill it from the end face."""
    axis: dict[str, str | None] = {}  # body -> axis of the cylinder that made it (None: not a plain cylinder)
    for f in part.features:
        if f.body not in axis:
            axis[f.body] = f.axis if isinstance(f, Cylinder) else None
        elif isinstance(f, Hole) and (a := axis[f.body]) is not None and f.face[1] != a \
                and f.positions is None and f.pattern is None:
            face = f.face[0] + a
            fixes.append(f"{f.id}: face {f.face} is the curved side of the cylinder along {a}: drilled from {face} along its axis")
            f.face = face  # type: ignore[assignment]
        elif not isinstance(f, (Hole, Fillet, Chamfer)):
            axis[f.body] = None  # other features change the shape: no guess
