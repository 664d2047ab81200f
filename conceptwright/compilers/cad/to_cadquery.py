"""Compile a Part into a readable parametric CadQuery script: parameters at the top (every
literal dimension becomes a named parameter), one commented block per feature, `result`
at the end and a `__main__` block that exports STEP, STL, SVG and a PNG picture.

The script is returned with its blocks, so the runner can execute it block by block and
say which feature broke the solid."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from .expr import is_through
from .expr import Num, evaluate, number, to_python
from .model import (
    Box, Cylinder, Boolean, Chamfer, Circle, Cut, Extrude, Fillet, Hole, LinearPattern, Mirror, Move, Part, Point, Polygon, Polyline,
    Profile, Rectangle, Revolve, Shell, Slot, Trapezoid, Triangle,
)

# Local axes of CadQuery workplanes, as (global axis, sign) of the plane's x and y:
# a position [a, b] is given in global coordinates of the two axes in the plane or face.
_LOCAL = {
    "XY": ((1, 1), (2, 1)), "XZ": ((1, 1), (2, 1)), "YZ": ((1, 1), (2, 1)),
    ">Z": ((1, 1), (2, 1)), "<Z": ((1, 1), (2, -1)), ">X": ((1, 1), (2, 1)), "<X": ((1, -1), (2, 1)),
    ">Y": ((1, -1), (2, 1)), "<Y": ((1, 1), (2, 1)),
}
_EDGES = {"all": ".edges()", "top": '.faces(">Z").edges()', "bottom": '.faces("<Z").edges()',
          "vertical": '.edges("|Z")', "horizontal": '.edges("#Z")'}
_AXIS_VEC = {"X": "(1, 0, 0)", "Y": "(0, 1, 0)", "Z": "(0, 0, 1)"}
_PLANE_AXIS_LOCAL = {("XY", "X"): (1, 0), ("XY", "Y"): (0, 1), ("XZ", "X"): (1, 0), ("XZ", "Z"): (0, 1),
                     ("YZ", "Y"): (1, 0), ("YZ", "Z"): (0, 1)}
_HOISTED = ("distance", "depth", "diameter", "width", "height", "length", "radius", "thickness", "angle", "base", "top", "bottom",
            "cbore_diameter", "cbore_depth", "csk_diameter", "csk_angle", "offset", "rotate_angle", "spacing")


class Block(BaseModel):
    """A slice of the script: its text, where it starts, and the body it leaves to check."""

    name: str  # feature id, or "parameters" / "result"
    op: str = ""
    code: str
    first_line: int
    var: str | None = None  # the body variable this block changed


class Script(BaseModel):
    code: str
    blocks: list[Block]
    result_var: str = "result"


def ident(text: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", text).strip("_").lower() or "f"
    return f"f_{s}" if s[0].isdigit() else s


class _Writer:
    def __init__(self, part: Part) -> None:
        self.part = part
        self.params: dict[str, str] = {p.name: number(p.value) for p in part.parameters}
        self.lists: dict[str, str] = {}
        self.values = part.values()

    def hoist(self, fid: str, field: str, value: Num) -> str:
        """A literal dimension becomes a parameter `<feature>_<field>`; expressions stay as written."""
        if isinstance(value, str):
            return to_python(value)
        base = f"{ident(fid)}_{field}"
        name, i = base, 2
        while name in self.params or name in self.lists:
            name, i = f"{base}_{i}", i + 1
        self.params[name] = number(value)
        return name

    def hoist_list(self, fid: str, field: str, text: str) -> str:
        name = f"{ident(fid)}_{field}"
        while name in self.params or name in self.lists:
            name += "_"
        self.lists[name] = text
        return name

    def value(self, fid: str, field: str, value: Num) -> str:
        return self.hoist(fid, field, value) if field in _HOISTED else to_python(value)

    def local(self, on: str, p: Point) -> tuple[str, str]:
        (_, sx), (_, sy) = _LOCAL[on]
        return _signed(p[0], sx), _signed(p[1], sy)

    def points(self, on: str, pts: list[Point]) -> str:
        return "[" + ", ".join("({}, {})".format(*self.local(on, p)) for p in pts) + "]"


def _signed(value: Num, sign: int) -> str:
    if sign > 0:
        return to_python(value)
    return number(-float(value)) if not isinstance(value, str) else to_python(f"-({value})")


def _is_zero(p: tuple[Num, ...]) -> bool:
    return all(not isinstance(v, str) and float(v) == 0 for v in p)


def _workplane(w: _Writer, fid: str, sketch: Any, body: str, on_body: bool) -> str:
    """Code of the workplane a sketch is drawn on, centred at the sketch's 'at'."""
    on = sketch.on
    if on in _LOCAL and on.startswith((">", "<")):
        code = f'{body}.faces("{on}").workplane()'
    else:
        code = f'cq.Workplane("{on}")'
        if on_body:
            code = f"{body}.copyWorkplane({code})"
    if isinstance(sketch.offset, str) or float(sketch.offset) != 0:
        offset = f"offset={w.value(fid, 'offset', sketch.offset)}"
        code = code[:-1] + offset + ")" if code.endswith("workplane()") else code + f".workplane({offset})"
    if not _is_zero(sketch.at) and not isinstance(sketch, (Polyline, Profile)):
        code += ".center({}, {})".format(*w.local(on, sketch.at))
    return code


def _shape(w: _Writer, fid: str, s: Any) -> tuple[str, str]:
    """(code that draws the sketch, words describing it)."""
    v = lambda field, val: w.value(fid, field, val)  # noqa: E731
    if isinstance(s, Rectangle):
        return f".rect({v('length', s.length)}, {v('width', s.width)})", "a rectangle"
    if isinstance(s, Circle):
        return f".circle({_half(v('diameter', s.diameter))})", "a circle"
    if isinstance(s, Polygon):
        return f".polygon({s.sides}, {v('diameter', s.diameter)})", f"a {s.sides}-sided polygon"
    if isinstance(s, (Triangle, Trapezoid)):
        name = w.hoist_list(fid, "points", w.points(s.on, _outline(w, fid, s)))
        return f".polyline({name}).close()", f"a {s.shape}"
    if isinstance(s, Slot):
        angle = "" if not isinstance(s.angle, str) and float(s.angle) == 0 else f", {v('angle', s.angle)}"
        return f".slot2D({v('length', s.length)}, {v('width', s.width)}{angle})", "a slot"
    pts = [(_add(p[0], s.at[0]), _add(p[1], s.at[1])) for p in (s.points if isinstance(s, Polyline) else [])]
    if isinstance(s, Polyline):
        name = w.hoist_list(fid, "points", w.points(s.on, pts))
        return f".polyline({name}).close()", "a closed polyline"
    assert isinstance(s, Profile)
    shift = lambda p: w.local(s.on, (_add(p[0], s.at[0]), _add(p[1], s.at[1])))  # noqa: E731
    code = ".moveTo({}, {})".format(*shift(s.start))
    for seg in s.segments:
        if seg.through is None:
            code += ".lineTo({}, {})".format(*shift(seg.to))
        else:
            code += ".threePointArc(({}, {}), ({}, {}))".format(*shift(seg.through), *shift(seg.to))
    return code + ".close()", "a profile of lines and arcs"


def _outline(w: _Writer, fid: str, s: Triangle | Trapezoid) -> list[Point]:
    """Corners of a triangle or trapezoid, relative to 'at' (the workplane is centred there)."""
    h = f"({w.value(fid, 'height', s.height)}) / 2"
    if isinstance(s, Triangle):
        b = f"({w.value(fid, 'base', s.base)}) / 2"
        apex = {"centre": "0", "left": f"-{b}", "right": b}[s.apex]
        return [(f"-{b}", f"-{h}"), (b, f"-{h}"), (apex, h)]
    b = f"({w.value(fid, 'bottom', s.bottom)}) / 2"
    t = w.value(fid, "top", s.top)
    left, right = {"centre": (f"-({t}) / 2", f"({t}) / 2"), "left": (f"-{b}", f"-{b} + {t}"),
                   "right": (f"{b} - {t}", b)}[s.align]
    return [(f"-{b}", f"-{h}"), (b, f"-{h}"), (right, h), (left, h)]


def _half(diameter: str) -> str:
    """The radius expression of a diameter expression: '2 * r' -> 'r', 'd' -> 'd / 2'."""
    m = re.fullmatch(r"2 \* \(?([A-Za-z_][A-Za-z0-9_]*)\)?", diameter.strip())
    return m.group(1) if m else to_python(f"({diameter}) / 2")


def _add(a: Num, b: Num) -> Num:
    if not isinstance(b, str) and float(b) == 0:
        return a
    if not isinstance(a, str) and not isinstance(b, str):
        return float(a) + float(b)
    return f"({a}) + ({b})"


def _feature(w: _Writer, f: Any, bodies: set[str]) -> tuple[str, str]:
    """(comment, code) of one feature."""
    fid, body = f.id, ident(f.body)
    v = lambda field, val: w.value(fid, field, val)  # noqa: E731
    exists = body in bodies
    if isinstance(f, (Box, Cylinder)):
        if isinstance(f, Box):
            solid = f'cq.Workplane("XY").box({v("length", f.length)}, {v("width", f.width)}, {v("height", f.height)})'
            text = "a box centred on {}".format("the origin" if _is_zero(f.at) else "(" + ", ".join(to_python(c) for c in f.at) + ")")
        else:
            plane = {"Z": "XY", "X": "YZ", "Y": "XZ"}[f.axis]
            radius = _half(v("diameter", f.diameter))
            solid = f'cq.Workplane("{plane}").cylinder({v("height", f.height)}, {radius})'
            text = f"a cylinder along {f.axis} centred on " + ("the origin" if _is_zero(f.at) else
                                                                "(" + ", ".join(to_python(c) for c in f.at) + ")")
        if not _is_zero(f.at):
            solid += f".translate(({', '.join(to_python(c) for c in f.at)}))"
        if not exists:
            return text, f"{body} = {solid}"
        return text + f", joined to {body}", f"{body} = {body}.union({solid})"
    if isinstance(f, (Extrude, Cut, Revolve)):
        on_face = f.sketch.on.startswith((">", "<"))
        draw, words = _shape(w, fid, f.sketch)
        where = f"on face {f.sketch.on}" if on_face else f"on plane {f.sketch.on}"
        if isinstance(f, Extrude):
            distance = v("distance", f.distance)  # CadQuery's both=True goes the full distance each way
            solid = f"{draw}.extrude({to_python(f'({distance}) / 2')}, both=True)" if f.symmetric else f"{draw}.extrude({distance})"
            text = f"extrude {words} {where}" + (" (both ways)" if f.symmetric else "")
            if not exists or on_face:
                return text, f"{body} = {_workplane(w, fid, f.sketch, body, False)}{solid}"
            return text + f", joined to {body}", f"{body} = {body}.union({_workplane(w, fid, f.sketch, body, False)}{solid})"
        if isinstance(f, Cut):
            if is_through(f.depth):
                return f"cut {words} {where} through the whole part", \
                    f"{body} = {_workplane(w, fid, f.sketch, body, True)}{draw}.cutThruAll()"
            depth = v("depth", f.depth)
            if on_face:
                return f"cut {words} {where}, {depth} deep", f"{body} = {_workplane(w, fid, f.sketch, body, False)}{draw}.cutBlind(-{depth})"
            return f"cut {words} {where}, {depth} along its normal", \
                f"{body} = {body}.cut({_workplane(w, fid, f.sketch, body, False)}{draw}.extrude({depth}))"
        dx, dy = _PLANE_AXIS_LOCAL[(f.sketch.on, f.axis)]
        if _is_zero(f.sketch.at) or isinstance(f.sketch, (Polyline, Profile)):
            axis = f"(0, 0), ({dx}, {dy})"
        else:  # .center() moved the workplane origin: the axis is given relative to it
            cx, cy = (to_python(f"-({a})") for a in w.local(f.sketch.on, f.sketch.at))
            axis = f"({cx}, {cy}), ({to_python(f'{cx} + {dx}')}, {to_python(f'{cy} + {dy}')})"
        solid = f"{draw}.revolve({v('angle', f.angle)}, {axis})"
        text = f"revolve {words} on plane {f.sketch.on} about the {f.axis} axis"
        if not exists:
            return text, f"{body} = {_workplane(w, fid, f.sketch, body, False)}{solid}"
        return text + f", joined to {body}", f"{body} = {body}.union({_workplane(w, fid, f.sketch, body, False)}{solid})"
    if isinstance(f, Hole):
        return _hole(w, f, body)
    if isinstance(f, (Fillet, Chamfer)):
        sel = _EDGES.get(f.edges.strip().lower(), f".edges({f.edges.strip()!r})")
        if isinstance(f, Fillet):
            return f"round the {f.edges} edges", f"{body} = {body}{sel}.fillet({v('radius', f.radius)})"
        return f"chamfer the {f.edges} edges", f"{body} = {body}{sel}.chamfer({v('distance', f.distance)})"
    if isinstance(f, Shell):
        t = v("thickness", f.thickness)
        if f.open_face:
            return f"hollow out, walls {t} thick, face {f.open_face} open", f'{body} = {body}.faces("{f.open_face}").shell(-{t})'
        return f"hollow out, walls {t} thick, closed", f"{body} = {body}.shell(-{t})"
    if isinstance(f, Mirror):
        return f"mirror across the {f.plane} plane and join", f'{body} = {body}.mirror("{f.plane}", union=True)'
    if isinstance(f, Boolean):
        tool = ident(f.tool)
        return f"{f.operation} body {tool} with {body}", f"{body} = {body}.{f.operation}({tool})"
    assert isinstance(f, Move)
    lines, words = [], []
    if f.rotate_axis and not (not isinstance(f.rotate_angle, str) and float(f.rotate_angle) == 0):
        lines.append(f"{body} = {body}.rotate((0, 0, 0), {_AXIS_VEC[f.rotate_axis]}, {v('rotate_angle', f.rotate_angle)})")
        words.append(f"rotate about {f.rotate_axis}")
    if not all(not isinstance(c, str) and float(c) == 0 for c in f.translate):
        lines.append(f"{body} = {body}.translate(({', '.join(to_python(c) for c in f.translate)}))")
        words.append("translate")
    return " then ".join(words) or "nothing to move", "\n".join(lines)


def _hole(w: _Writer, f: Hole, body: str) -> tuple[str, str]:
    v = lambda field, val: w.value(f.id, field, val)  # noqa: E731
    wp = f'{body}.faces("{f.face}").workplane()'
    if f.pattern is not None:
        p = f.pattern
        if not _is_zero(p.at):
            wp += ".center({}, {})".format(*w.local(f.face, p.at))
        if isinstance(p, LinearPattern):
            sx, sy = (v("spacing", s) for s in p.spacing)
            place, n = f".rarray({sx}, {sy}, {p.count[0]}, {p.count[1]})", p.count[0] * p.count[1]
            where = f"a {p.count[0]} x {p.count[1]} grid"
        else:
            place = f".polarArray({v('radius', p.radius)}, {to_python(p.start_angle)}, 360, {p.count})"
            n, where = p.count, f"a circle of {p.count}"
    elif f.positions is not None and not (len(f.positions) == 1 and _is_zero(f.positions[0])):
        place = f".pushPoints({w.hoist_list(f.id, 'positions', w.points(f.face, list(f.positions)))})"
        n, where = len(f.positions), f"{len(f.positions)} position(s)"
    else:
        place, n, where = "", 1, "the centre"
    depth = None if is_through(f.depth) else v("depth", f.depth)
    d = v("diameter", f.diameter)
    tail = "" if depth is None else f", {depth}"
    if f.kind == "counterbore":
        drill = f".cboreHole({d}, {v('cbore_diameter', f.cbore_diameter)}, {v('cbore_depth', f.cbore_depth)}{tail})"
    elif f.kind == "countersink":
        drill = f".cskHole({d}, {v('csk_diameter', f.csk_diameter)}, {v('csk_angle', f.csk_angle)}{tail})"
    else:
        drill = f".hole({d}{tail})"
    kind = "" if f.kind == "simple" else f"{f.kind} "
    how = "through" if depth is None else "blind"
    return f"{n} {how} {kind}hole(s) from face {f.face} at {where}", f"{body} = {wp}{place}{drill}"


def expected_holes(part: Part) -> list[tuple[str, float, int]]:
    """(feature id, diameter, count) of the cylindrical holes each hole feature must leave."""
    vals = part.values()
    out = []
    for f in part.features:
        if not isinstance(f, Hole):
            continue
        p = f.pattern
        n = (p.count[0] * p.count[1] if isinstance(p, LinearPattern) else p.count) if p is not None \
            else len(f.positions or [(0, 0)])
        out.append((f.id, evaluate(f.diameter, vals), n))
        if f.kind == "counterbore" and f.cbore_diameter is not None:
            out.append((f.id, evaluate(f.cbore_diameter, vals), n))
    return out


def compile_part(part: Part, *, stl_tolerance: float | None = None) -> Script:
    """The CadQuery script of a (checked) part."""
    w = _Writer(part)
    bodies: set[str] = set()
    feature_blocks: list[tuple[Any, str, str]] = []
    for f in part.features:
        comment, code = _feature(w, f, bodies)
        feature_blocks.append((f, comment, code))
        bodies.add(ident(f.body))
        if isinstance(f, Boolean):
            bodies.discard(ident(f.tool))
    title = part.name.replace("_", " ")
    head = [
        f'"""{title}: a parametric CadQuery model generated by conceptwright.',
        "",
        "Edit the parameters and run `python this_file.py` to rebuild it; it writes",
        "STEP, STL, SVG and PNG files (see --help).",
        '"""',
        "import cadquery as cq",
    ]
    if any(re.search(r"\bpi\b", text) for text in [c for _, _, c in feature_blocks] + list(w.lists.values())):
        head.append("from math import pi")
    head += ["", f"# Parameters ({part.units})"]
    head += [f"{k} = {val}" for k, val in w.params.items()]
    head += [f"{k} = {val}" for k, val in w.lists.items()]
    blocks: list[Block] = []
    line = 1

    def add(name: str, op: str, text: str, var: str | None) -> None:
        nonlocal line
        blocks.append(Block(name=name, op=op, code=text, first_line=line, var=var))
        line += text.count("\n") + 1

    add("parameters", "", "\n".join(head) + "\n", None)
    for f, comment, code in feature_blocks:
        add(f.id, f.op, f"# {f.id}: {comment}\n" + (f"{code}\n" if code else ""), ident(f.body))
    remaining = [b for b in dict.fromkeys(ident(f.body) for f in part.features) if b in bodies]
    joined = remaining[0] + "".join(f".union({b})" for b in remaining[1:])
    note = "# result: the finished part" if len(remaining) == 1 else "# result: the remaining bodies joined into one part"
    add("result", "", f"{note}\nresult = {joined}\n", "result")
    size = max((v for v in part.envelope.sizes() if v is not None), default=100.0) if part.envelope else 100.0
    tol = stl_tolerance or round(max(size * 5e-4, 1e-4), 6)
    main = MAIN_BLOCK.format(stem=ident(part.name), tol=number(tol), units=part.units)
    code = "".join(b.code + "\n" for b in blocks[:-1]) + blocks[-1].code + "\n" + main
    # keep block line numbers in step with the blank lines between blocks
    line = 1
    for b in blocks:
        b.first_line = line
        line += b.code.count("\n") + 1
    return Script(code=code, blocks=blocks)


MAIN_BLOCK = '''
if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Rebuild the part and export it.")
    parser.add_argument("--out", default="{stem}", help="file name stem of the exports")
    parser.add_argument("--stl-tolerance", type=float, default={tol}, help="STL chord tolerance ({units})")
    parser.add_argument("--stl-angular-tolerance", type=float, default=0.2, help="STL angular tolerance (radians)")
    args = parser.parse_args()
    cq.exporters.export(result, f"{{args.out}}.step")
    cq.exporters.export(result, f"{{args.out}}.stl", tolerance=args.stl_tolerance,
                        angularTolerance=args.stl_angular_tolerance)
    cq.exporters.export(result, f"{{args.out}}.svg")
    try:  # conceptwright's renderer: VTK off-screen, matplotlib when VTK cannot render
        from conceptwright.tools.cad.render import render_png
    except ImportError:
        from cadquery.vis import show

        show(result, screenshot=f"{{args.out}}.png", interact=False)
    else:
        render_png(result, f"{{args.out}}.png")
'''
