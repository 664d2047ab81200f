"""Prompts of the cad target: conceptual (JSON part model), direct (CadQuery code), edit."""
from __future__ import annotations

from ..llm.base import Message
from .profiles import Profile
from .edit import WHOLE_TAIL
from .template import Template, register

EXAMPLE_SPEC = ("A motor mount: a base block 80 x 50 x 10 mm with its vertical edges rounded 5 mm, a boss 30 mm in diameter "
                "and 20 mm tall on top of it, a 12 mm hole through the boss and the base, and four 6 mm holes 10 mm in from "
                "the corners of the block.")
EXAMPLE_JSON = """{"name": "motor_mount", "units": "mm",
 "parameters": [{"name": "length", "value": 80}, {"name": "width", "value": 50}, {"name": "thickness", "value": 10},
  {"name": "corner_r", "value": 5}, {"name": "boss_d", "value": 30}, {"name": "boss_h", "value": 20},
  {"name": "bore_d", "value": 12}, {"name": "hole_d", "value": 6}, {"name": "inset", "value": 10}],
 "envelope": {"x": 80, "y": 50, "z": 30},
 "features": [
  {"id": "base", "op": "box", "length": "length", "width": "width", "height": "thickness"},
  {"id": "round_corners", "op": "fillet", "edges": "vertical", "radius": "corner_r"},
  {"id": "boss", "op": "cylinder", "diameter": "boss_d", "height": "boss_h", "axis": "Z", "at": [0, 0, "thickness/2 + boss_h/2"]},
  {"id": "bore", "op": "hole", "face": ">Z", "diameter": "bore_d"},
  {"id": "corner_holes", "op": "hole", "face": "<Z", "diameter": "hole_d", "positions": [["-length/2 + inset", "-width/2 + inset"],
   ["length/2 - inset", "-width/2 + inset"], ["-length/2 + inset", "width/2 - inset"], ["length/2 - inset", "width/2 - inset"]]}]}"""
EXAMPLE_SPEC_COMPACT = "A plate 40 x 30 x 5 mm with a 10 mm hole in the centre."
EXAMPLE_JSON_COMPACT = """{"name": "plate", "units": "mm",
 "parameters": [{"name": "length", "value": 40}, {"name": "width", "value": 30}, {"name": "thickness", "value": 5}, {"name": "hole_d", "value": 10}],
 "envelope": {"x": 40, "y": 30, "z": 5},
 "features": [
  {"id": "plate", "op": "box", "length": "length", "width": "width", "height": "thickness"},
  {"id": "hole", "op": "hole", "face": ">Z", "diameter": "hole_d"}]}"""
EXAMPLE_CODE = """import cadquery as cq

length, width, thickness, corner_r = 80, 50, 10, 5
boss_d, boss_h, bore_d, hole_d, inset = 30, 20, 12, 6, 10

base = cq.Workplane("XY").box(length, width, thickness).edges("|Z").fillet(corner_r)
boss = cq.Workplane("XY").cylinder(boss_h, boss_d / 2).translate((0, 0, thickness / 2 + boss_h / 2))
part = base.union(boss).faces(">Z").workplane().hole(bore_d)
corners = [(x, y) for x in (-length / 2 + inset, length / 2 - inset) for y in (-width / 2 + inset, width / 2 - inset)]
result = part.faces("<Z").workplane().pushPoints(corners).hole(hole_d)"""

SYSTEM_CONCEPTUAL = ("You design mechanical parts as JSON part models; a compiler turns them into CadQuery solids. "
                     "Answer with the JSON only.")
SYSTEM_DIRECT = "You write CadQuery (Python) code for mechanical parts. Answer with one Python code block only."

FORMAT = """Write the part as JSON: {"name", "units": "mm", "parameters": [{"name", "value"}], "features": [...]} (optional: "envelope": {"x", "y", "z"})
Features run in order. Each works on a body ("body", default "main"); the first feature of a body creates it.
Numbers may be parameter names or expressions ("length/2 - 10").
- box: {"id", "op": "box", "length": along X, "width": along Y, "height": along Z, "at": [x, y, z]} a block centred on "at" (default [0, 0, 0])
- cylinder: {"id", "op": "cylinder", "diameter": d (or "radius": r), "height": h, "axis": "X" | "Y" | "Z", "at": [x, y, z]}
  a cylinder, rod or disc centred on "at", its height along the axis
- extrude: {"id", "op": "extrude", "sketch": SKETCH, "distance": d, "symmetric": false} adds material
  (symmetric: true puts half the distance on each side of the sketch plane)
- cut: {"id", "op": "cut", "sketch": SKETCH, "depth": d or "through"} removes material
- revolve: {"id", "op": "revolve", "sketch": SKETCH on a plane, "axis": "X" | "Y" | "Z", "angle": 360}
- hole: {"id", "op": "hole", "face": ">Z", "diameter": d, "depth": "through", "kind": "simple" | "counterbore" | "countersink",
  "positions": [[a, b], ...]} or instead of positions "pattern": {"kind": "linear", "count": [nx, ny], "spacing": [dx, dy]}
  or {"kind": "polar", "count": n, "radius": r}; counterbore needs "cbore_diameter", "cbore_depth"; countersink "csk_diameter"
- fillet: {"id", "op": "fillet", "edges": "all" | "top" | "bottom" | "vertical" | a CadQuery selector like "|Z", "radius": r}
- chamfer: {"id", "op": "chamfer", "edges": ..., "distance": d}
- shell: {"id", "op": "shell", "thickness": t, "open_face": ">Z"} hollows the body (no open_face: closed)
- mirror: {"id", "op": "mirror", "plane": "XY" | "XZ" | "YZ"} adds the mirror image
- boolean: {"id", "op": "boolean", "body": "main", "operation": "union" | "cut" | "intersect", "tool": "other_body"}
- move: {"id", "op": "move", "rotate_axis": "X" | "Y" | "Z", "rotate_angle": degrees, "translate": [x, y, z]}
SKETCH: {"on": "XY" | "XZ" | "YZ" or a face of the body ">Z" | "<Z" | ">X" | "<X" | ">Y" | "<Y", "offset": 0, "at": [a, b], "shape": ...}
  "rectangle" + "length" (along the plane's first axis), "width" (along its second), centred on "at"; "circle" + "diameter" or "radius"; "polygon" + "sides", "diameter";
  "slot" + "length", "width"; "triangle" + "base" (along the first axis), "height", "apex": "centre" | "left" | "right";
  "trapezoid" + "bottom", "top" (along the first axis), "height", "align": "centre" | "left" | "right";
  "polyline" + "points": [[a, b], ...]; "profile" + "start": [a, b],
  "segments": [{"to": [a, b]} (a line) or {"to": [a, b], "through": [a, b]} (an arc)]
Coordinates [a, b] are global: on XY, >Z, <Z: [x, y]; on XZ, >Y, <Y: [x, z]; on YZ, >X, <X: [y, z].
Extrusion goes along the normal: XY +Z, XZ -Y, YZ +X, a face outwards (negative distance: the other way).
Rules:
- A block, plate, cube or rectangular prism is a "box"; a cylinder, rod, disc or tube is a "cylinder" (a tube: then a "hole");
  a triangle or trapezoid is a "triangle" or "trapezoid" sketch, other outlines (L shapes) a "polyline", that you extrude.
- Use the sizes exactly as the description gives them; a radius r is "radius": r, never "diameter": r.
- Every size in the description becomes a named parameter; features use the names.
- "envelope" (optional) is the overall size along X, Y and Z; the checker measures the part itself.
- Round holes and bores are "hole" features with a diameter (twice the radius)."""

FORMAT_COMPACT = """JSON: {"name", "units": "mm", "parameters": [{"name", "value"}], "envelope": {"x", "y", "z"}, "features": [...]}
features in order: box (length, width, height, at), cylinder (diameter, height, axis, at), extrude (sketch, distance), cut (sketch, depth or "through"), revolve (sketch, axis), hole (face, diameter, positions),
fillet (edges, radius), chamfer (edges, distance), shell (thickness, open_face), mirror (plane), boolean (operation, tool), move
sketch: {"on": "XY", "at": [a, b], "shape": "rectangle" (length, width) | "circle" (diameter) | "polygon" (sides, diameter) | "triangle" (base, height) | "trapezoid" (bottom, top, height) | "polyline" (points)}
- numbers may be parameter names
- first feature: a box, a cylinder or an extrude on "XY"
- envelope (optional): overall size along X, Y, Z"""

DIRECT_RULES = """Write CadQuery code for the part:
- import cadquery as cq (and math if needed); nothing else
- sizes in millimetres unless the description says otherwise; name them as variables at the top
- assign the finished part to a variable named result: a cq.Workplane holding exactly one solid
- do not export, show, print or open files"""


TEMPLATE = register(Template(
    target="cad", version="1",
    sections={
        "role": SYSTEM_CONCEPTUAL,
        "task": FORMAT,
        "task_compact": FORMAT_COMPACT,
        "example": f"Example.\nDescription: {EXAMPLE_SPEC}\nJSON:\n{EXAMPLE_JSON}",
        "example_compact": f"Example.\nDescription: {EXAMPLE_SPEC_COMPACT}\nJSON:\n{EXAMPLE_JSON_COMPACT}",
        "request": "Description: {spec}\nJSON:",
        "current": "The current part:\n{current}",
        "edit": "Change the part as asked: {instruction}\nKeep everything else as it is (same ids, same parameters unless the "
                "change needs others) and update the envelope if the size changes. ",
        "repair": "The checker found these problems in your {what}:\n{diagnostics}\n{again}\n"
                  "Fix them and write the complete corrected {what} again, keeping what was right.",
        "repair_again": "\nThe part to make (not the example): {spec}",
        "direct_role": SYSTEM_DIRECT,
        "direct_task": DIRECT_RULES,
        "direct_example": f"Example.\nDescription: {EXAMPLE_SPEC}\nCode:\n```python\n{EXAMPLE_CODE}\n```",
        "direct_request": "Description: {spec}\nCode:",
    },
    placeholders=frozenset({"spec", "current", "instruction", "what", "diagnostics", "again"}),
    tunable=("role", "task", "example", "repair"),
    forms={"task": lambda p: "task_compact" if p.compact else "task",
           "example": lambda p: "example_compact" if p.compact else "example"},
))
T = TEMPLATE


def conceptual_messages(spec: str, profile: Profile) -> list[Message]:
    parts = [T.text("task", profile, spec=spec)]
    if profile.example:  # tiny models copy what they see: a short example keeps their copies short
        parts.append(T.text("example", profile, spec=spec))
    parts.append(T.text("request", profile, spec=spec))
    return [Message(role="system", content=T.text("role", profile, spec=spec)), Message(role="user", content="\n\n".join(parts))]


def direct_messages(spec: str, profile: Profile) -> list[Message]:
    parts = [T.text("direct_task", profile, spec=spec)]
    if profile.example:
        parts.append(T.text("direct_example", profile, spec=spec))
    parts.append(T.text("direct_request", profile, spec=spec))
    return [Message(role="system", content=T.text("direct_role", profile, spec=spec)),
            Message(role="user", content="\n\n".join(parts))]


def edit_messages(part_json: str, instruction: str, profile: Profile) -> list[Message]:
    ctx = {"current": part_json, "instruction": instruction}
    parts = [T.text("task", profile, **ctx), T.text("current", profile, **ctx), T.text("edit", profile, **ctx) + WHOLE_TAIL]
    return [Message(role="system", content=T.text("role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]


def repair_message(what: str, diagnostics: str, spec: str | None = None, profile: Profile | None = None) -> Message:
    """The repair turn; it repeats the description, so a small model does not fall back on the example."""
    again = T.text("repair_again", profile, spec=spec) if spec else ""
    return Message(role="user", content=T.text("repair", profile, what=what, diagnostics=diagnostics, again=again))
