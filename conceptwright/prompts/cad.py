"""Prompts of the cad target: conceptual (JSON part model), direct (CadQuery code), edit."""
from __future__ import annotations

from ..llm.base import Message
from .profiles import Profile

EXAMPLE_SPEC = ("An L bracket 60 mm long: a base plate 60 x 40 x 8 mm and an upright 8 mm thick and 50 mm tall along "
                "the back edge, two 6 mm holes through the base 15 mm from its ends, the top edges of the upright rounded 3 mm.")
EXAMPLE_JSON = """{"name": "l_bracket", "units": "mm",
 "parameters": [{"name": "length", "value": 60}, {"name": "depth", "value": 40}, {"name": "thickness", "value": 8},
  {"name": "height", "value": 50}, {"name": "hole_d", "value": 6}, {"name": "round_r", "value": 3}],
 "envelope": {"x": 60, "y": 40, "z": 50},
 "features": [
  {"id": "base", "op": "extrude", "sketch": {"on": "XY", "shape": "rectangle", "width": "length", "height": "depth"}, "distance": "thickness"},
  {"id": "upright", "op": "extrude", "sketch": {"on": "XY", "at": [0, "depth/2 - thickness/2"], "shape": "rectangle", "width": "length", "height": "thickness"}, "distance": "height"},
  {"id": "base_holes", "op": "hole", "face": "<Z", "diameter": "hole_d", "positions": [["-length/2 + 15", 0], ["length/2 - 15", 0]]},
  {"id": "round_top", "op": "fillet", "edges": "top", "radius": "round_r"}]}"""
EXAMPLE_SPEC_COMPACT = "A plate 40 x 30 x 5 mm with a 10 mm hole in the centre."
EXAMPLE_JSON_COMPACT = """{"name": "plate", "units": "mm",
 "parameters": [{"name": "length", "value": 40}, {"name": "width", "value": 30}, {"name": "thickness", "value": 5}, {"name": "hole_d", "value": 10}],
 "envelope": {"x": 40, "y": 30, "z": 5},
 "features": [
  {"id": "plate", "op": "extrude", "sketch": {"on": "XY", "shape": "rectangle", "width": "length", "height": "width"}, "distance": "thickness"},
  {"id": "hole", "op": "hole", "face": ">Z", "diameter": "hole_d"}]}"""
EXAMPLE_CODE = """import cadquery as cq

length, depth, thickness, height = 60, 40, 8, 50
hole_d, round_r = 6, 3

base = cq.Workplane("XY").rect(length, depth).extrude(thickness)
upright = cq.Workplane("XY").center(0, depth / 2 - thickness / 2).rect(length, thickness).extrude(height)
part = base.union(upright)
part = part.faces("<Z").workplane().pushPoints([(-length / 2 + 15, 0), (length / 2 - 15, 0)]).hole(hole_d)
result = part.faces(">Z").edges().fillet(round_r)"""

SYSTEM_CONCEPTUAL = ("You design mechanical parts as JSON part models; a compiler turns them into CadQuery solids. "
                     "Answer with the JSON only.")
SYSTEM_DIRECT = "You write CadQuery (Python) code for mechanical parts. Answer with one Python code block only."

FORMAT = """Write the part as JSON: {"name", "units": "mm", "parameters": [{"name", "value"}], "envelope": {"x", "y", "z"}, "features": [...]}
Features run in order. Each works on a body ("body", default "main"); the first feature of a body creates it.
Numbers may be parameter names or expressions ("length/2 - 10").
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
  "rectangle" + "width", "height" (centred on "at"); "circle" + "diameter"; "polygon" + "sides", "diameter";
  "slot" + "length", "width"; "polyline" + "points": [[a, b], ...]; "profile" + "start": [a, b],
  "segments": [{"to": [a, b]} (a line) or {"to": [a, b], "through": [a, b]} (an arc)]
Coordinates [a, b] are global: on XY, >Z, <Z: [x, y]; on XZ, >Y, <Y: [x, z]; on YZ, >X, <X: [y, z].
Extrusion goes along the normal: XY +Z, XZ -Y, YZ +X, a face outwards (negative distance: the other way).
Rules:
- Every size in the description becomes a named parameter; features use the names.
- "envelope" is the overall size of the finished part along X, Y and Z.
- Round holes and bores are "hole" features with a diameter (twice the radius)."""

FORMAT_COMPACT = """JSON: {"name", "units": "mm", "parameters": [{"name", "value"}], "envelope": {"x", "y", "z"}, "features": [...]}
features in order: extrude (sketch, distance), cut (sketch, depth or "through"), revolve (sketch, axis), hole (face, diameter, positions),
fillet (edges, radius), chamfer (edges, distance), shell (thickness, open_face), mirror (plane), boolean (operation, tool), move
sketch: {"on": "XY", "at": [a, b], "shape": "rectangle" (width, height) | "circle" (diameter) | "polygon" (sides, diameter) | "polyline" (points)}
- numbers may be parameter names
- first feature: extrude on "XY"
- envelope: overall size along X, Y, Z"""

DIRECT_RULES = """Write CadQuery code for the part:
- import cadquery as cq (and math if needed); nothing else
- sizes in millimetres unless the description says otherwise; name them as variables at the top
- assign the finished part to a variable named result: a cq.Workplane holding exactly one solid
- do not export, show, print or open files"""


def conceptual_messages(spec: str, profile: Profile) -> list[Message]:
    parts = [FORMAT_COMPACT if profile.compact else FORMAT]
    if profile.example:  # tiny models copy what they see: a short example keeps their copies short
        ex_spec, ex_json = (EXAMPLE_SPEC_COMPACT, EXAMPLE_JSON_COMPACT) if profile.compact else (EXAMPLE_SPEC, EXAMPLE_JSON)
        parts.append(f"Example.\nDescription: {ex_spec}\nJSON:\n{ex_json}")
    parts.append(f"Description: {spec}\nJSON:")
    return [Message(role="system", content=SYSTEM_CONCEPTUAL), Message(role="user", content="\n\n".join(parts))]


def direct_messages(spec: str, profile: Profile) -> list[Message]:
    parts = [DIRECT_RULES]
    if profile.example:
        parts.append(f"Example.\nDescription: {EXAMPLE_SPEC}\nCode:\n```python\n{EXAMPLE_CODE}\n```")
    parts.append(f"Description: {spec}\nCode:")
    return [Message(role="system", content=SYSTEM_DIRECT), Message(role="user", content="\n\n".join(parts))]


def edit_messages(part_json: str, instruction: str, profile: Profile) -> list[Message]:
    parts = [FORMAT_COMPACT if profile.compact else FORMAT,
             f"The current part:\n{part_json}",
             f"Change the part as asked: {instruction}\nKeep everything else as it is (same ids, same parameters unless the change "
             "needs others) and update the envelope if the size changes. Write the complete changed JSON.\nJSON:"]
    return [Message(role="system", content=SYSTEM_CONCEPTUAL), Message(role="user", content="\n\n".join(parts))]


def repair_message(what: str, diagnostics: str) -> Message:
    return Message(role="user", content=f"The checker found these problems in your {what}:\n{diagnostics}\n\n"
                   f"Fix them and write the complete corrected {what} again, keeping what was right.")
