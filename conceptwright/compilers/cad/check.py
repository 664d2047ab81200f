"""Parse LLM JSON into a Part (with certain shape fixes first) and check what pydantic
cannot: parameter names, expression values, body order, axes in planes."""
from __future__ import annotations

import keyword
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from ...llm.schema import drop_nulls
from ...tools.diagnostics import Diagnostic
from .expr import ExprError, Num, evaluate, names, strip_unit
from .model import CREATES, OPS, Boolean, Chamfer, Cylinder, Fillet, Hole, Move, Part, Revolve

_SKETCH_KEYS = {"shape", "on", "offset", "at", "width", "height", "diameter", "radius", "sides", "length", "angle",
                "points", "start", "segments"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = {"cq", "result", "math", "pi", "argparse", "args", "parser", "main_args"}


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


def _strip_units(value: Any, fixes: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip_units(v, fixes) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_units(v, fixes) for v in value]
    if isinstance(value, str) and (bare := strip_unit(value)) is not None:
        fixes.append(f"read '{value}' as {bare}")
        return float(bare)
    return value


def parse_part(data: Any) -> tuple[Part | None, list[Diagnostic], list[str]]:
    """JSON data -> Part, or None with one diagnostic per schema problem."""
    data, fixes = normalize(data)
    try:
        part = Part.model_validate(data)
    except ValidationError as exc:
        return None, [_schema_diag(e, data) for e in exc.errors()[:15]], fixes
    _holes_along_cylinders(part, fixes)
    return part, [], fixes


def _holes_along_cylinders(part: Part, fixes: list[str]) -> None:
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


def _schema_diag(err: Any, data: Any) -> Diagnostic:
    loc = list(err["loc"])
    obj = None
    if len(loc) >= 2 and loc[0] == "features" and isinstance(loc[1], int):
        try:
            obj = str(data["features"][loc[1]].get("id"))
        except (KeyError, IndexError, TypeError, AttributeError):
            obj = None
    # drop pydantic's union tags ('extrude', 'rectangle') from the path shown to the LLM
    where = ".".join(str(p) for p in loc if not (isinstance(p, str) and (p in OPS or p in _SHAPES or p in ("linear", "polar"))))
    return Diagnostic(code="schema-error", message=f"{where}: {err['msg']}", obj=obj)


_SHAPES = ("rectangle", "circle", "polygon", "slot", "polyline", "profile")


def identifier_problem(name: str) -> str | None:
    if not _IDENT.match(name) or keyword.iskeyword(name):
        return "must be a Python-style name (letters, digits, underscore; not starting with a digit)"
    if name in RESERVED:
        return f"'{name}' is reserved in the generated script"
    return None


def check_part(part: Part) -> list[Diagnostic]:
    """Semantic checks before anything runs; each diagnostic names the feature at fault."""
    diags: list[Diagnostic] = []
    params = part.values()
    for p in part.parameters:
        if (why := identifier_problem(p.name)) is not None:
            diags.append(Diagnostic(code="bad-name", message=f"parameter '{p.name}' {why}", obj=p.name))
    if len(params) != len(part.parameters):
        diags.append(Diagnostic(code="duplicate-parameter", message="two parameters have the same name"))
    seen: set[str] = set()
    bodies: set[str] = set()
    for f in part.features:
        if f.id in seen:
            diags.append(Diagnostic(code="duplicate-id", message=f"two features are called '{f.id}': give each a unique id", obj=f.id))
        seen.add(f.id)
        for name in (f.body, getattr(f, "tool", None)):
            if name is not None and (why := identifier_problem(name)) is not None:
                diags.append(Diagnostic(code="bad-name", message=f"body '{name}' {why}", obj=f.id, feature="body"))
            elif name in params:
                diags.append(Diagnostic(code="bad-name", message=f"body '{name}' has the name of a parameter", obj=f.id, feature="body"))
        diags += _check_values(f, params)
        if f.body not in bodies and f.op not in CREATES:
            what = f"the body '{f.body}' does not exist yet" if bodies else "there is no body yet"
            diags.append(Diagnostic(code="unknown-body", message=f"{f.op} needs a solid but {what}: start with an extrude or revolve",
                                    obj=f.id, cls=f.op, feature="body"))
        sketch = getattr(f, "sketch", None)
        if sketch is not None and sketch.on not in ("XY", "XZ", "YZ") and f.body not in bodies:
            diags.append(Diagnostic(code="unknown-body", message=f"the sketch is on face {sketch.on} of body '{f.body}', which does not "
                                    "exist yet: sketch the first feature on a plane (XY, XZ or YZ)", obj=f.id, cls=f.op, feature="sketch.on"))
        if isinstance(f, Revolve) and f.sketch.on not in _PLANE_AXES:
            diags.append(Diagnostic(code="revolve-on-face", message="sketch a revolve profile on a plane (XY, XZ or YZ), not on a face",
                                    obj=f.id, cls=f.op, feature="sketch.on"))
        elif isinstance(f, Revolve) and f.axis not in _PLANE_AXES[f.sketch.on]:
            diags.append(Diagnostic(code="axis-not-in-plane", message=f"revolve axis {f.axis} does not lie in the sketch plane "
                                    f"{f.sketch.on}: use an axis of that plane ({' or '.join(_PLANE_AXES[f.sketch.on])})",
                                    obj=f.id, cls=f.op, feature="axis"))
        if isinstance(f, Boolean):
            if f.tool == f.body:
                diags.append(Diagnostic(code="bad-tool", message="a body cannot be combined with itself", obj=f.id, cls=f.op, feature="tool"))
            elif f.tool not in bodies:
                diags.append(Diagnostic(code="unknown-body", message=f"tool body '{f.tool}' does not exist (or was used up already)",
                                        obj=f.id, cls=f.op, feature="tool"))
            bodies.discard(f.tool)
        if isinstance(f, Hole) and f.positions is not None and f.pattern is not None:
            diags.append(Diagnostic(code="hole-placement", message="give either positions or a pattern, not both", obj=f.id, cls=f.op))
        if isinstance(f, Hole) and f.kind == "counterbore" and (f.cbore_diameter is None or f.cbore_depth is None):
            diags.append(Diagnostic(code="missing-value", message="a counterbore hole needs cbore_diameter and cbore_depth", obj=f.id, cls=f.op))
        if isinstance(f, Hole) and f.kind == "countersink" and f.csk_diameter is None:
            diags.append(Diagnostic(code="missing-value", message="a countersink hole needs csk_diameter", obj=f.id, cls=f.op))
        if isinstance(f, Move) and f.rotate_axis is None and not (not isinstance(f.rotate_angle, str) and float(f.rotate_angle) == 0):
            diags.append(Diagnostic(code="missing-value", message="rotate_angle needs rotate_axis (X, Y or Z)", obj=f.id, cls=f.op))
        bodies.add(f.body)
    return diags


_PLANE_AXES = {"XY": "XY", "XZ": "XZ", "YZ": "YZ"}


def _values(f: Any) -> list[tuple[str, Num]]:
    """(field path, value) of every numeric field of a feature, sketch and pattern included."""
    out: list[tuple[str, Num]] = []

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, (int, float, str)) and not isinstance(obj, bool):
            out.append((prefix, obj))
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                if name in ("id", "body", "op", "tool", "shape", "kind", "on", "face", "edges", "open_face", "plane", "axis",
                            "rotate_axis", "operation", "sides", "count"):
                    continue
                walk(f"{prefix}.{name}" if prefix else name, getattr(obj, name))

    walk("", f)
    return out


_POSITIVE = ("diameter", "width", "height", "length", "radius", "thickness", "cbore_diameter", "cbore_depth", "csk_diameter")


def _check_values(f: Any, params: dict[str, float]) -> list[Diagnostic]:
    diags = []
    for path, value in _values(f):
        if isinstance(value, str) and value.strip().lower() in ("through", "thru", "all") and path.endswith("depth"):
            continue
        try:
            names(value)
            v = evaluate(value, params)
        except ExprError as exc:
            diags.append(Diagnostic(code="bad-value", message=f"{path}: {exc}", obj=f.id, cls=f.op, feature=path))
            continue
        leaf = path.rsplit(".", 1)[-1]
        if (leaf in _POSITIVE or (leaf == "depth" and f.op == "hole") or (leaf == "distance" and f.op == "chamfer")) and v <= 0:
            diags.append(Diagnostic(code="bad-value", message=f"{path} must be greater than 0 (it is {v:g})", obj=f.id, cls=f.op, feature=path))
        if leaf in ("distance", "depth") and f.op in ("extrude", "cut") and v == 0:
            diags.append(Diagnostic(code="bad-value", message=f"{path} must not be 0", obj=f.id, cls=f.op, feature=path))
    return diags


def is_through(value: Num) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("through", "thru", "all")
