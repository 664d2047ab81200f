"""The conceptual part model: what the LLM writes (as JSON) and our compiler turns into a
CadQuery script. Units (mm by default), named parameters, optionally the envelope (bounding box)
the model says it is making (the size is measured, not taken from it), and a feature list built on
one or more named bodies.

    {"name": "flange_plate", "units": "mm",
     "parameters": [{"name": "length", "value": 120}, {"name": "width", "value": 80}],
     "envelope": {"x": 120, "y": 80, "z": 10},
     "features": [
       {"id": "plate", "op": "extrude", "sketch": {"on": "XY", "shape": "rectangle",
        "length": "length", "width": "width"}, "distance": 10},
       {"id": "bore", "op": "hole", "face": ">Z", "diameter": 30}]}

Numbers may be expressions over parameter names ("length/2 - 10"). Solid primitives
("box", "cylinder") and sketch-based features (extrude, revolve) start or join bodies. Positions on a plane
or face are [a, b] in global coordinates of the two axes in it: XY and >Z/<Z: [x, y];
XZ and >Y/<Y: [x, z]; YZ and >X/<X: [y, z].
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.jsonschema import ASK
from .expr import Num

MAX_ID, MAX_EXPR, MAX_SELECTOR, MAX_LIST, MAX_FEATURES, MAX_PARAMETERS = 40, 80, 40, 60, 40, 30

Plane = Literal["XY", "XZ", "YZ"]
Face = Literal[">Z", "<Z", ">X", "<X", ">Y", "<Y"]
Axis = Literal["X", "Y", "Z"]
Point = tuple[Num, Num]
PLANES: tuple[str, ...] = ("XY", "XZ", "YZ")
FACES: tuple[str, ...] = (">Z", "<Z", ">X", "<X", ">Y", "<Y")


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Sketch(_Base):
    on: Plane | Face = Field("XY", json_schema_extra=ASK)  # a global plane, or a face of the feature's body (chosen by its outward normal)
    offset: Num = 0  # shift of the plane along its normal
    at: Point = (0, 0)  # centre of the shape, in the plane's coordinates


class Rectangle(_Sketch):
    shape: Literal["rectangle"]
    length: Num  # along the plane's first axis (XY: X, XZ: X, YZ: Y)
    width: Num  # along its second axis (XY: Y, XZ: Z, YZ: Z)


class Circle(_Sketch):
    shape: Literal["circle"]
    diameter: Num


class Polygon(_Sketch):
    shape: Literal["polygon"]
    sides: int = Field(ge=3, le=64)
    diameter: Num  # of the circumscribed circle (across corners)


class Slot(_Sketch):
    shape: Literal["slot"]
    length: Num  # end to end
    width: Num
    angle: Num = 0  # degrees from the plane's first axis


class Polyline(_Sketch):
    shape: Literal["polyline"]
    points: list[Point] = Field(min_length=3, max_length=MAX_LIST)  # a closed outline, offset by 'at'


class Triangle(_Sketch):
    """Its base along the plane's first axis, its apex 'height' away along the second; its bounding box is centred on 'at'."""

    shape: Literal["triangle"]
    base: Num
    height: Num
    apex: Literal["centre", "left", "right"] = "centre"  # over the base's middle (isosceles) or over one end (a right angle)


class Trapezoid(_Sketch):
    """Parallel 'bottom' and 'top' edges along the plane's first axis, 'height' apart along the second; the bottom
    edge's middle and the height's middle are on 'at'."""

    shape: Literal["trapezoid"]
    bottom: Num
    top: Num
    height: Num
    align: Literal["centre", "left", "right"] = "centre"  # the top centred over the bottom or flush with one end (right angles)


class Segment(_Base):
    to: Point
    through: Point | None = None  # a point on the arc: present for an arc, absent for a line


class Profile(_Sketch):
    shape: Literal["profile"]
    start: Point
    segments: list[Segment] = Field(min_length=1, max_length=MAX_LIST)  # closed back to start


Sketch = Annotated[Rectangle | Circle | Polygon | Slot | Polyline | Profile | Triangle | Trapezoid, Field(discriminator="shape")]


class _Feature(_Base):
    id: str = Field(min_length=1, max_length=MAX_ID)
    body: str = Field("main", min_length=1, max_length=MAX_ID)  # the body it creates or changes


class Extrude(_Feature):
    """Adds material: creates the body, or joins the existing body."""

    op: Literal["extrude"]
    sketch: Sketch
    distance: Num  # along the plane normal (XY: +Z, XZ: -Y, YZ: +X, a face: outwards); negative: the other way
    symmetric: bool = False  # half the distance to each side of the plane


class Cut(_Feature):
    """Removes the extruded sketch from the body (a pocket, slot or window)."""

    op: Literal["cut"]
    sketch: Sketch
    depth: Num = Field("through", json_schema_extra=ASK)  # "through" cuts through all; on a face it goes into the material


class Revolve(_Feature):
    op: Literal["revolve"]
    sketch: Sketch
    axis: Axis  # a global axis through the origin, lying in the sketch plane
    angle: Num = 360


class LinearPattern(_Base):
    kind: Literal["linear"]
    count: tuple[int, int]  # columns, rows
    spacing: tuple[Num, Num]
    at: Point = (0, 0)  # centre of the grid


class PolarPattern(_Base):
    kind: Literal["polar"]
    count: int = Field(ge=1, le=360)
    radius: Num  # of the pitch circle
    start_angle: Num = 0
    at: Point = (0, 0)


class Hole(_Feature):
    op: Literal["hole"]
    face: Face = Field(">Z", json_schema_extra=ASK)  # drilled into the body from this face
    diameter: Num
    depth: Num = "through"  # "through" or a blind depth
    kind: Literal["simple", "counterbore", "countersink"] = "simple"
    cbore_diameter: Num | None = None
    cbore_depth: Num | None = None
    csk_diameter: Num | None = None
    csk_angle: Num = 90
    positions: list[Point] | None = Field(None, max_length=MAX_LIST)  # hole centres (default: the face centre line)
    pattern: Annotated[LinearPattern | PolarPattern, Field(discriminator="kind")] | None = None


class Fillet(_Feature):
    op: Literal["fillet"]
    edges: str = Field("all", max_length=MAX_SELECTOR, json_schema_extra=ASK)  # all | top | bottom | vertical | a CadQuery selector ("|Z", ">Z")
    radius: Num


class Chamfer(_Feature):
    op: Literal["chamfer"]
    edges: str = Field("all", max_length=MAX_SELECTOR, json_schema_extra=ASK)
    distance: Num


class Shell(_Feature):
    op: Literal["shell"]
    thickness: Num  # wall thickness, inwards
    open_face: Face | None = None  # the face removed (an open box); none: a closed hollow


class Mirror(_Feature):
    op: Literal["mirror"]
    plane: Plane  # through the origin; the mirror image is joined to the body


class Boolean(_Feature):
    op: Literal["boolean"]
    operation: Literal["union", "cut", "intersect"]
    tool: str = Field(min_length=1, max_length=MAX_ID)  # another body; it is used up


class Box(_Feature):
    """A box centred on 'at': length along X, width along Y, height along Z; joins an existing body."""

    op: Literal["box"]
    length: Num
    width: Num
    height: Num
    at: tuple[Num, Num, Num] = (0, 0, 0)


class Cylinder(_Feature):
    """A cylinder centred on 'at' with its axis along X, Y or Z; joins an existing body."""

    op: Literal["cylinder"]
    diameter: Num
    height: Num  # length along the axis
    axis: Axis = "Z"
    at: tuple[Num, Num, Num] = (0, 0, 0)


class Move(_Feature):
    op: Literal["move"]
    rotate_axis: Axis | None = None  # global axis through the origin; rotation first
    rotate_angle: Num = 0
    translate: tuple[Num, Num, Num] = (0, 0, 0)


Feature = Annotated[
    Box | Cylinder | Extrude | Cut | Revolve | Hole | Fillet | Chamfer | Shell | Mirror | Boolean | Move, Field(discriminator="op")
]
OPS: tuple[str, ...] = ("box", "cylinder", "extrude", "cut", "revolve", "hole", "fillet", "chamfer", "shell", "mirror",
                        "boolean", "move")
CREATES = ("box", "cylinder", "extrude", "revolve")  # the only features that may start a new body


class Parameter(_Base):
    name: str = Field(min_length=1, max_length=MAX_ID)
    value: float


class Envelope(_Base):
    """The overall size (bounding box) the model states it is making, along X, Y and Z;
    an axis left out is not checked."""

    x: float | None = Field(None, gt=0, json_schema_extra=ASK)
    y: float | None = Field(None, gt=0, json_schema_extra=ASK)
    z: float | None = Field(None, gt=0, json_schema_extra=ASK)

    def sizes(self) -> tuple[float | None, float | None, float | None]:
        return self.x, self.y, self.z


class Part(_Base):
    name: str = Field("part", max_length=MAX_ID, json_schema_extra=ASK)
    units: Literal["mm", "cm", "m", "in"] = Field("mm", json_schema_extra=ASK)
    parameters: list[Parameter] = Field(default_factory=list, max_length=MAX_PARAMETERS, json_schema_extra=ASK)
    envelope: Envelope | None = Field(None, json_schema_extra=ASK)
    features: list[Feature] = Field(min_length=1, max_length=MAX_FEATURES)

    def values(self) -> dict[str, float]:
        return {p.name: p.value for p in self.parameters}

    def dump(self) -> dict:
        """JSON data without defaults, 'id' and 'op' first: what the LLM is shown back."""
        out = self.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        out["features"] = [{"id": f.id, "op": f.op} | f.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
                           for f in self.features]
        return out
