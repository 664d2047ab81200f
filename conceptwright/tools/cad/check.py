"""Static checks of a Part before anything runs (what pydantic cannot check): parameter
names, expression values, body order, axes in planes. Each diagnostic names the feature at fault."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ...compilers.cad.expr import ExprError, Num, evaluate, identifier_problem, names
from ...compilers.cad.model import CREATES, Boolean, Hole, Move, Part, Revolve
from ...core.diagnostics import Diagnostic


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
                            "rotate_axis", "operation", "sides", "count", "apex", "align"):
                    continue
                walk(f"{prefix}.{name}" if prefix else name, getattr(obj, name))

    walk("", f)
    return out


_POSITIVE = ("diameter", "width", "height", "length", "radius", "thickness", "cbore_diameter", "cbore_depth", "csk_diameter",
             "base", "top", "bottom")


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
