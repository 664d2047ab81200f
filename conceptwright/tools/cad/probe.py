"""Runs inside a sandboxed job process of the CAD worker (never in the caller): executes a
script block by block, checks the body after each feature, finds the result, measures it
(solids, OCCT validity, volume, bounding box, holes) and exports STEP/STL/SVG/PNG.
``verify_step`` re-imports a written STEP in a clean process and measures it again."""
from __future__ import annotations

import builtins
import math
import time
import traceback
from typing import Any

import cadquery as cq

EXPORT_NAMES = {"step": "part.step", "stl": "part.stl", "svg": "part.svg", "png": "part.png"}


def shape_of(obj: Any) -> Any:
    """The CadQuery Shape inside a Workplane/Assembly/Shape, or None when it holds no solid."""
    if isinstance(obj, cq.Workplane):
        solids = [s for v in obj.vals() if isinstance(v, cq.Shape) for s in v.Solids()]
        if not solids:
            return None
        return solids[0] if len(solids) == 1 else cq.Compound.makeCompound(solids)
    if isinstance(obj, cq.Assembly):
        return obj.toCompound() if obj.toCompound().Solids() else None
    if isinstance(obj, cq.Shape):
        return obj if obj.Solids() else None
    return None


def quick_stats(shape: Any) -> dict[str, Any]:
    if shape is None:
        return {"n_solids": 0, "valid": False, "volume": 0.0}
    return {"n_solids": len(shape.Solids()), "valid": bool(shape.isValid()), "volume": float(shape.Volume())}


def find_holes(shape: Any) -> list[dict[str, Any]]:
    """Concave cylindrical faces grouped by (axis line, diameter): one entry per hole or bore."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.BRepGProp import BRepGProp_Face
    from OCP.gp import gp_Pnt, gp_Vec

    scale = max(shape.BoundingBox().DiagonalLength, 1e-9)
    seen: dict[tuple, dict[str, Any]] = {}
    for face in shape.Faces():
        if face.geomType() != "CYLINDER":
            continue
        cyl = BRepAdaptor_Surface(face.wrapped).Cylinder()
        ax = cyl.Axis()
        loc = cq.Vector(ax.Location())
        d = cq.Vector(ax.Direction()).normalized()
        umin, umax, vmin, vmax = face._uvBounds()
        pnt, vec = gp_Pnt(), gp_Vec()
        BRepGProp_Face(face.wrapped).Normal((umin + umax) / 2, (vmin + vmax) / 2, pnt, vec)  # honours orientation
        n = cq.Vector(vec)
        rel = cq.Vector(pnt) - loc
        radial = rel - d * rel.dot(d)
        if n.dot(radial) >= 0:  # outward normal pointing away from the axis: a boss, not a hole
            continue
        if next((c for c in d.toTuple() if abs(c) > 1e-9), 1) < 0:
            d = -d
        foot = loc - d * loc.dot(d)
        q = 1e-4 * scale
        key = (round(cyl.Radius() / q),) + tuple(round(c, 4) for c in d.toTuple()) + tuple(round(c / q) for c in foot.toTuple())
        seen.setdefault(key, {"diameter": 2 * cyl.Radius(), "axis": [round(c, 9) + 0.0 for c in d.toTuple()],
                              "point": [round(c, 9) + 0.0 for c in foot.toTuple()]})
    return list(seen.values())


MAX_MEASURES = 200  # per list: enough for any part a description states


def measure(shape: Any) -> dict[str, Any]:
    """What stated facts are checked on: levels of the planar faces perpendicular to each axis,
    straight edge lengths (with their axis when parallel to one), circular edges and cylindrical
    faces (radius, axis, centre, concave or not)."""
    scale = max(shape.BoundingBox().DiagonalLength, 1e-9)
    q = 1e-6 * scale
    axes = ((1, 0, 0), (0, 1, 0), (0, 0, 1))

    def axis_of(v: Any) -> str | None:
        t = cq.Vector(v).normalized().toTuple()
        return next(("XYZ"[i] for i, a in enumerate(axes) if abs(abs(t[i]) - 1) < 1e-6), None)

    def r(x: float) -> float:
        return round(x, 9) + 0.0

    def k(x: float) -> int:
        return round(x / q)

    planes: dict[str, dict[int, float]] = {"X": {}, "Y": {}, "Z": {}}
    cylinders: dict[tuple, dict[str, Any]] = {}
    for face in shape.Faces():
        kind = face.geomType()
        if kind == "PLANE":
            ax = axis_of(face.normalAt())
            if ax is not None:
                level = face.Center().toTuple()["XYZ".index(ax)]
                planes[ax].setdefault(k(level), r(level))
        elif kind == "CYLINDER":
            from OCP.BRepAdaptor import BRepAdaptor_Surface

            cyl = BRepAdaptor_Surface(face.wrapped).Cylinder()
            entry = {"radius": r(cyl.Radius()), "axis": axis_of(cq.Vector(cyl.Axis().Direction()))}
            cylinders.setdefault((k(cyl.Radius()), entry["axis"]), entry)
    edges: dict[tuple, dict[str, Any]] = {}
    circles: dict[tuple, dict[str, Any]] = {}
    for edge in shape.Edges():
        kind = edge.geomType()
        if kind == "LINE":
            a, b = edge.startPoint(), edge.endPoint()
            length = (b - a).Length
            if length > q:
                e = {"length": r(length), "axis": axis_of(b - a)}
                edges.setdefault((k(length), e["axis"]), e)
        elif kind == "CIRCLE":
            c = {"radius": r(edge.radius()), "axis": axis_of(edge.normal()),
                 "centre": [r(x) for x in edge.arcCenter().toTuple()]}
            circles.setdefault((k(edge.radius()), c["axis"], *(k(x) for x in c["centre"])), c)
    return {"planes": {a: sorted(v.values())[:MAX_MEASURES] for a, v in planes.items()},
            "edges": list(edges.values())[:MAX_MEASURES], "circles": list(circles.values())[:MAX_MEASURES],
            "cylinders": list(cylinders.values())[:MAX_MEASURES]}


def stats(shape: Any) -> dict[str, Any]:
    bb = shape.BoundingBox()
    out = quick_stats(shape) | {
        "bbox": [bb.xmin, bb.ymin, bb.zmin, bb.xmax, bb.ymax, bb.zmax],
        "n_faces": len(shape.Faces()),
        "holes": find_holes(shape),
    }
    try:
        out["measures"] = measure(shape)
    except Exception as exc:  # noqa: BLE001 - the facts check then says what it could not measure
        out["measures"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return out


def _error(block: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    lines = [f.lineno for f in tb if f.filename == "script.py"]
    if isinstance(exc, SyntaxError) and exc.filename == "script.py":
        lines.append(exc.lineno or 0)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"feature": block["name"], "op": block.get("op", ""), "type": type(exc).__name__,
            "message": text[-800:], "line": lines[-1] if lines else None}


def run_job(req: dict[str, Any]) -> dict[str, Any]:
    """The whole job: run, check each block, measure the result, export."""
    report: dict[str, Any] = {"blocks": [], "error": None, "failed_feature": None, "result": None,
                              "result_from": None, "exports": {}, "renderer": None}
    shown: list[Any] = []
    ns: dict[str, Any] = {"__name__": req.get("run_name", "__main__"), "__file__": "script.py",
                          "__builtins__": builtins, "show_object": lambda obj, *a, **k: shown.append(obj)}
    with open("script.py", "w", encoding="utf-8") as fh:  # for tracebacks with source lines
        fh.write("".join(b["code"] + "\n" for b in req["blocks"]))
    for block in req["blocks"]:
        start = time.perf_counter()
        try:
            exec(compile("\n" * (block["first_line"] - 1) + block["code"], "script.py", "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and friends are script errors too
            report["error"] = _error(block, exc)
            return report
        if block.get("var"):
            q = quick_stats(shape_of(ns.get(block["var"])))
            report["blocks"].append({"feature": block["name"], "op": block.get("op", ""), "var": block["var"],
                                     "seconds": round(time.perf_counter() - start, 4)} | q)
            if q["n_solids"] == 0 or not q["valid"]:
                report["failed_feature"] = block["name"]
                return report
    found = None
    for name in req.get("result_names", ["result"]):
        if shape_of(ns.get(name)) is not None:
            found, report["result_from"] = shape_of(ns[name]), name
            break
    if found is None and shown and shape_of(shown[-1]) is not None:
        found, report["result_from"] = shape_of(shown[-1]), "show_object"
    if found is None:
        report["result_from"] = next((n for n in req.get("result_names", ["result"]) if n in ns), None)
        return report
    report["result"] = stats(found)
    _export(found, req, report)
    return report


def _export(shape: Any, req: dict[str, Any], report: dict[str, Any]) -> None:
    wanted = req.get("exports", ["step", "stl"])
    tol = req.get("stl_tolerance") or max(shape.BoundingBox().DiagonalLength * 5e-4, 1e-5)
    for kind in wanted:
        name = EXPORT_NAMES[kind]
        try:
            if kind == "png":
                from .render import render_png

                report["renderer"] = render_png(shape, name)
            elif kind == "stl":
                cq.exporters.export(shape, name, tolerance=tol, angularTolerance=0.2)
            else:
                cq.exporters.export(shape, name)
            report["exports"][kind] = name
        except Exception as exc:  # noqa: BLE001 - an export failure is reported, not fatal
            report["exports"][kind] = None
            report.setdefault("export_errors", {})[kind] = f"{type(exc).__name__}: {exc}"[:300]


def verify_step(path: str = "part.step") -> dict[str, Any]:
    """Re-import a STEP file and measure what it holds."""
    shape = shape_of(cq.importers.importStep(path))
    if shape is None:
        return {"n_solids": 0, "valid": False, "volume": 0.0, "bbox": None, "holes": []}
    return stats(shape)


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300) if math.isfinite(a) and math.isfinite(b) else math.inf
