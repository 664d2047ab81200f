"""The stated facts of the description (tools/cad/facts.py) checked on the geometry measured on
the solid (probe.measure: bounding box, planar-face levels, edge lengths, circles, cylinders,
holes), never against sizes the model states about itself. One diagnostic per fact not carried,
naming the fact's words, what was measured and the feature most likely responsible:

    fact-not-carried: "8 mm holes" (4 stated) — measured 2 holes of 8 mm; feature corner_holes

Sizes are orientation-free (an "A x B x C" size may lie along any three distinct axes) unless
the words name the axis ("along the Y axis", "in the X-Z plane", "horizontal", "vertical")."""
from __future__ import annotations

import itertools
import math
import re
from typing import Any

from pydantic import BaseModel, Field

from ...compilers.cad.expr import ExprError, evaluate
from ...compilers.cad.model import Part
from ...core.diagnostics import Diagnostic
from ...core.rules import check, is_on
from .facts import CYLINDRICAL, PLATE_NOUNS, Fact, centred_holes
from .runner import ShapeStats

CODE = "fact-not-carried"
TOLERANCE = 0.01  # relative, for every measured size
AXES = "XYZ"
FACT_RULES = ("cad.fact-sizes", "cad.fact-thickness", "cad.fact-holes", "cad.fact-placement", "cad.fact-axes",
              "cad.fact-centred", "cad.fact-fillets")


class FeatureSizes(BaseModel):
    """A feature of the part model and the numbers it uses (evaluated): who to blame for a fact."""

    id: str
    op: str
    values: list[float] = Field(default_factory=list)


class FactContext(BaseModel):
    """What the facts are checked with: the facts, the part's units, the features (none for direct code)."""

    spec: str = ""
    facts: list[Fact] = Field(default_factory=list)
    units: str = "mm"
    features: list[FeatureSizes] = Field(default_factory=list)


def facts_enabled() -> bool:
    """Whether any fact rule is on (when all are off, the target uses the older description checks)."""
    return any(is_on(n) for n in FACT_RULES)


def feature_sizes(part: Part) -> list[FeatureSizes]:
    """Every feature with the numbers in its fields, sketch and pattern (expressions evaluated)."""
    params = part.values()
    out = []
    for f in part.features:
        found: list[float] = []

        def walk(obj: Any, key: str = "") -> None:
            if isinstance(obj, dict):
                for k, v in obj.items():
                    if k not in ("id", "op", "body", "tool", "shape", "kind", "on", "face", "edges", "axis", "plane", "sides",
                                 "count") and "angle" not in k:
                        walk(v, k)
            elif isinstance(obj, (list, tuple)):
                for v in obj:
                    walk(v, key)
            elif isinstance(obj, (int, float, str)) and not isinstance(obj, bool):
                try:
                    value = evaluate(obj, params)
                except (ExprError, ValueError, SyntaxError):
                    return
                if value > 0:
                    found.append(value)
                    if key in ("radius",):
                        found.append(2 * value)

        walk(f.model_dump(mode="json", warnings=False, exclude_defaults=True))
        out.append(FeatureSizes(id=f.id, op=f.op, values=found))
    return out


class Geometry:
    """Measured sizes of one solid, in the part's units."""

    def __init__(self, stats: ShapeStats) -> None:
        assert stats.bbox is not None and stats.size is not None
        self.bbox = stats.bbox
        self.size = stats.size
        self.scale = max(math.dist(stats.bbox[:3], stats.bbox[3:]), 1e-12)
        self.holes = stats.holes
        m = stats.measures or {}
        self.planes: dict[str, list[float]] = m.get("planes", {}) if "error" not in m else {}
        self.edges: list[dict[str, Any]] = m.get("edges", [])
        self.circles: list[dict[str, Any]] = m.get("circles", [])
        self.cylinders: list[dict[str, Any]] = m.get("cylinders", [])

    def close(self, a: float, b: float) -> bool:
        return abs(a - b) <= max(TOLERANCE * abs(b), 1e-4 * self.scale)

    def spans(self, axis: str) -> list[float]:
        """Lengths measured along one axis: the extent, distances between planar faces across it,
        edges parallel to it, diameters of circles lying in a plane that contains it."""
        i = AXES.index(axis)
        levels = self.planes.get(axis, [])
        out = [self.size[i]] + [abs(a - b) for a, b in itertools.combinations(levels, 2)]
        out += [e["length"] for e in self.edges if e.get("axis") == axis]
        out += [2 * c["radius"] for c in self.circles + self.cylinders if c.get("axis") not in (None, axis)]
        return out

    def anywhere(self) -> list[float]:
        return [v for a in AXES for v in self.spans(a)] + [e["length"] for e in self.edges]

    def radii(self) -> list[float]:
        return [c["radius"] for c in self.circles + self.cylinders]

    def carried(self, value: float, axes: list[str] | None = None) -> bool:
        pool = [v for a in axes for v in self.spans(a)] if axes else self.anywhere()
        return any(self.close(v, value) for v in pool)

    def holes_of(self, diameter: float) -> list[dict[str, Any]]:
        return [h for h in self.holes if abs(h["diameter"] - diameter) <= max(TOLERANCE * diameter, 1e-4 * self.scale)]

    def centre(self) -> tuple[float, float, float]:
        b = self.bbox
        return ((b[0] + b[3]) / 2, (b[1] + b[4]) / 2, (b[2] + b[5]) / 2)

    def main_axis(self) -> str | None:
        """The axis of the largest cylindrical face (a shaft, a tube, a disc); None when there is none."""
        cyl = [c for c in self.cylinders if c.get("axis")]
        return max(cyl, key=lambda c: c["radius"])["axis"] if cyl else None

    def longest(self) -> str:
        return AXES[max(range(3), key=lambda i: self.size[i])]

    def thinnest(self) -> str:
        return AXES[min(range(3), key=lambda i: self.size[i])]

    def text(self) -> str:
        return " x ".join(_fmt(s) for s in self.size) + " (X x Y x Z)"


def _fmt(v: float) -> str:
    return f"{v:.4g}"


SOLIDS = ("box", "cylinder", "extrude", "revolve")


def _blame(fact: Fact, value: float, ctx: FactContext, ops: tuple[str, ...] = ()) -> FeatureSizes | None:
    """The feature whose numbers come nearest to the stated value: of the given ops first, then of any."""
    found = _nearest(value, ctx, ops or SOLIDS)
    return found if found is not None or not ops else _nearest(value, ctx, ())


def _nearest(value: float, ctx: FactContext, ops: tuple[str, ...]) -> FeatureSizes | None:
    best, best_err = None, math.inf
    for f in ctx.features:
        if ops and f.op not in ops:
            continue
        for v in f.values:
            err = abs(math.log(v / value)) if v > 0 and value > 0 else math.inf
            if err < best_err:
                best, best_err = f, err
    return best if best_err < math.log(10) else None


def _diag(fact: Fact, measured: str, ctx: FactContext, value: float, ops: tuple[str, ...] = (), note: str = "",
          severity: str = "error") -> Diagnostic:
    f = _blame(fact, value, ctx, ops) if ctx.features else None
    where = f"; feature {f.id}" if f else ("; no feature has a size near it: add the feature it describes"
                                           if ctx.features else "")
    return Diagnostic(code=CODE, severity=severity, obj=f.id if f else None, cls=f.op if f else None,
                      message=f"{fact.describe()}{note} — measured {measured}{where}")  # type: ignore[arg-type]


def _values(fact: Fact, ctx: FactContext) -> list[float]:
    return fact.lengths_in(ctx.units)


def _height_axes(ctx: FactContext) -> dict[int, list[str]]:
    """Facts (by index) that a "vertical"/"standing" word about a non-cylindrical thing puts along Z: its heights."""
    vertical = any(f.role == "orientation" and f.kind == "orientation" and f.axes == ["Z"]
                   and f.refers_to not in CYLINDRICAL for f in ctx.facts)
    return {i: ["Z"] for i, f in enumerate(ctx.facts) if vertical and f.dimension == "height" and not f.axes}


@check("cad", "fact-sizes", "stated sizes (A x B x C, lengths, diameters, radii) are measured on the solid, along the "
       "axes the words name; none is larger than the part")
def check_sizes(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    heights = _height_axes(ctx)
    for i, fact in enumerate(ctx.facts):
        if fact.role != "size" or fact.kind == "orientation":
            continue
        values = _values(fact, ctx)
        axes = list(fact.axes) or heights.get(i, [])
        if fact.kind == "radius":
            r = values[0]
            if not (any(geo.close(x, r) for x in geo.radii()) or geo.carried(2 * r, axes or None)):
                out.append(_diag(fact, f"no circle or cylinder of radius {_fmt(r)} and no size of {_fmt(2 * r)}; "
                                       f"the part is {geo.text()}", ctx, r))
            continue
        if fact.kind == "diameter":
            d = values[0]
            if not (any(geo.close(x, d / 2) for x in geo.radii()) or geo.carried(d, axes or None)):
                out.append(_diag(fact, f"no circle, cylinder or size of diameter {_fmt(d)}; the part is {geo.text()}", ctx, d))
            continue
        if len(values) == 1:
            if not geo.carried(values[0], axes or None):
                along = f" along {' or '.join(axes)}" if axes else ""
                have = f"sizes along {axes[0]}: {', '.join(_fmt(v) for v in sorted(set(round(s, 6) for s in geo.spans(axes[0])))[:6])}" \
                    if len(axes) == 1 else f"the part is {geo.text()}"
                out.append(_diag(fact, f"no size of {_fmt(values[0])}{along}; {have}", ctx, values[0]))
            continue
        out += _block(fact, values, axes, geo, ctx)
    return out


def _block(fact: Fact, values: list[float], axes: list[str], geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    """An "A x B (x C)" size: each value along its own axis (of the named plane, when one is named)."""
    pool = axes if len(axes) >= len(values) else list(AXES)
    fits = any(all(geo.carried(v, [a]) for v, a in zip(values, perm)) for perm in itertools.permutations(pool, len(values)))
    if fits and not any(v > s * (1 + TOLERANCE) + 1e-9 for v, s in zip(sorted(values, reverse=True), sorted(geo.size, reverse=True))):
        return []
    where = f" in the {''.join(axes)} plane" if axes else ""
    missing = [v for v in values if not geo.carried(v, pool)]
    value = missing[0] if missing else max(values)
    return [_diag(fact, f"no {' x '.join(_fmt(v) for v in values)} size{where}; the part is {geo.text()}", ctx, value)]


@check("cad", "fact-thickness", "a stated thickness is measured: a plate's or disc's as its thinnest extent, a wall's "
       "between two parallel faces")
def check_thickness(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    for fact in ctx.facts:
        if fact.role != "thickness" or fact.kind != "thickness":
            continue
        t = _values(fact, ctx)[0]
        if fact.refers_to in PLATE_NOUNS or fact.refers_to in ("", "part", "block", "bracket"):
            thin = geo.thinnest()
            ok = geo.close(geo.size[AXES.index(thin)], t) or geo.carried(t, [thin])
            measured = f"the thinnest extent is {_fmt(min(geo.size))} along {thin}"
        else:
            ok, measured = geo.carried(t, None), f"no two parallel faces {_fmt(t)} apart"
        if not ok:
            out.append(_diag(fact, measured, ctx, t, ("extrude", "box", "cylinder", "shell")))
    return out


def _stated_counts(facts: list[Fact], ctx: FactContext, geo: Geometry) -> dict[int, int | None]:
    """Per hole fact: the count stated for all facts of the same diameter (None when any is unstated)."""
    out: dict[int, int | None] = {}
    for i, f in enumerate(facts):
        if f.role != "hole":
            continue
        d = _values(f, ctx)[0]
        same = [g for g in facts if g.role == "hole" and geo.close(_values(g, ctx)[0], d)]
        counts = [g.count for g in same]
        out[i] = None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
    return out


@check("cad", "fact-holes", "holes of each stated diameter are on the solid in the stated number; a hole stated in the "
       "centre is on the part's centre line")
def check_holes(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    counts = _stated_counts(ctx.facts, ctx, geo)
    centred = {id(f) for f in centred_holes(ctx.spec, ctx.facts)} if ctx.spec else set()
    seen: set[float] = set()
    for i, fact in enumerate(ctx.facts):
        if fact.role != "hole":
            continue
        d = _values(fact, ctx)[0]
        found = geo.holes_of(d)
        want = counts[i]
        sizes = sorted({round(h["diameter"], 4) for h in geo.holes})
        others = f" (hole diameters found: {', '.join(_fmt(s) for s in sizes)})" if sizes and not found else ""
        key = round(d, 6)
        if key not in seen and ((want is not None and len(found) < want) or (want is None and not found)):
            note = f" ({want} stated)" if want is not None else ""
            out.append(_diag(fact, f"{len(found)} hole(s) of {_fmt(d)}{others}", ctx, d, ("hole", "cut"), note))
        elif key not in seen and want is not None and len(found) > want:
            out.append(_diag(fact, f"{len(found)} hole(s) of {_fmt(d)}", ctx, d, ("hole", "cut"), f" ({want} stated)",
                             severity="warning"))
        seen.add(key)
        if id(fact) in centred and found and not any(_through_centre(h, geo) for h in found):
            out.append(_diag(fact, f"no hole of {_fmt(d)} on the part's centre line (centre {_point(geo.centre())})", ctx, d,
                             ("hole", "cut"), " (in the centre)"))
    return out


def _point(p: tuple[float, ...] | list[float]) -> str:
    return "(" + ", ".join(_fmt(v) for v in p) + ")"


def _off_axis(point: list[float], axis: list[float], target: tuple[float, float, float]) -> float:
    """Distance from ``target`` to the line through ``point`` along ``axis``."""
    rel = [t - p for t, p in zip(target, point)]
    along = sum(r * a for r, a in zip(rel, axis))
    return math.dist(rel, [along * a for a in axis])


def _through_centre(hole: dict[str, Any], geo: Geometry) -> bool:
    return _off_axis(hole["point"], hole["axis"], geo.centre()) <= max(TOLERANCE * max(geo.size), 1e-4 * geo.scale)


def _hole_fact_before(ctx: FactContext, fact: Fact) -> Fact | None:
    """The hole fact a placement is about: the nearest one before it in the description."""
    before = [f for f in ctx.facts if f.role == "hole" and f.span[0] < fact.span[0]]
    return before[-1] if before else None


@check("cad", "fact-placement", "holes stated on a bolt circle, or a distance in from the corners or edges, or apart, "
       "are measured there")
def check_placement(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    for fact in ctx.facts:
        if fact.role not in ("bolt-circle", "placement"):
            continue
        holes_fact = _hole_fact_before(ctx, fact)
        if holes_fact is None:
            continue
        holes = geo.holes_of(_values(holes_fact, ctx)[0])
        if len(holes) < 2 and fact.role == "bolt-circle" or not holes:
            continue  # the hole check already says they are missing
        value = _values(fact, ctx)[0]
        if fact.role == "bolt-circle":
            pts = [h["point"] for h in holes]
            c = [sum(p[i] for p in pts) / len(pts) for i in range(3)]
            r = [_off_axis(c, h["axis"], tuple(h["point"])) for h in holes]  # type: ignore[arg-type]
            if not all(geo.close(2 * x, value) for x in r):
                out.append(_diag(fact, f"the {_fmt(holes_fact.lengths_in(ctx.units)[0])} holes lie on circle(s) of diameter "
                                       f"{', '.join(sorted({_fmt(2 * x) for x in r}))}", ctx, value / 2, ("hole",),
                                 " (bolt circle)"))
            continue
        if fact.refers_to.startswith(("corner", "edge", "side")):
            bad = [h for h in holes if not _inset_ok(h, geo, value, corner=fact.refers_to.startswith("corner"))]
            if bad:
                out.append(_diag(fact, f"{len(bad)} of {len(holes)} hole(s) are elsewhere (e.g. at {_point(bad[0]['point'])}; "
                                       f"the part spans {_point(geo.bbox[:3])} to {_point(geo.bbox[3:])})", ctx, value, ("hole",)))
        elif re.search(r"apart|spacing|pitch|centre|center", ctx.spec[fact.span[1]:fact.span[1] + 30], re.I):
            gaps = [math.dist(a["point"], b["point"]) for a, b in itertools.combinations(holes, 2)]
            if gaps and not any(geo.close(g, value) for g in gaps):
                out.append(_diag(fact, f"the holes are {', '.join(sorted({_fmt(g) for g in gaps}))} apart", ctx, value, ("hole",)))
    return out


def _inset_ok(hole: dict[str, Any], geo: Geometry, inset: float, corner: bool) -> bool:
    axis = next((i for i, a in enumerate(hole["axis"]) if abs(abs(a) - 1) < 1e-6), None)
    if axis is None:
        return True  # a slanted hole: nothing measurable here
    dists = []
    for i in range(3):
        if i == axis:
            continue
        p = hole["point"][i]
        dists.append(min(abs(p - geo.bbox[i]), abs(geo.bbox[i + 3] - p)))
    return all(geo.close(d, inset) for d in dists) if corner else any(geo.close(d, inset) for d in dists)


@check("cad", "fact-axes", "orientation words (horizontal, vertical, along an axis, lying flat) hold on the solid: "
       "a shaft's axis, the longest or thinnest extent")
def check_axes(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    for fact in ctx.facts:
        if fact.role != "orientation":
            continue
        if fact.kind == "thickness":  # lying flat: the thinnest extent is vertical
            if geo.thinnest() not in fact.axes:
                out.append(_diag(fact, f"the thinnest extent is along {geo.thinnest()} ({geo.text()})", ctx, min(geo.size)))
            continue
        cylindrical = fact.refers_to in CYLINDRICAL or re.search(r"cylind", fact.refers_to)
        axis = geo.main_axis() if cylindrical else None
        if axis is not None:
            if axis not in fact.axes:
                out.append(_diag(fact, f"the {fact.refers_to}'s axis is along {axis}, not {' or '.join(fact.axes)}", ctx,
                                 max(geo.size), ("cylinder", "extrude", "revolve", "move")))
            continue
        if fact.axes == ["Z"] and any(f.dimension == "height" for f in ctx.facts):
            continue  # "standing": its heights are checked along Z (fact-sizes)
        if geo.longest() not in fact.axes and not any(geo.close(geo.size[AXES.index(a)], max(geo.size)) for a in fact.axes):
            out.append(_diag(fact, f"the longest extent is along {geo.longest()} ({geo.text()})", ctx, max(geo.size),
                             ("cylinder", "extrude", "box", "revolve", "move")))
    return out


@check("cad", "fact-centred", "a part stated centred (or symmetric) has its bounding box centred on the origin "
       "(a base centred: centred in X and Y, standing on Z = 0)")
def check_centred(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    c = geo.centre()
    tol = max(0.02 * max(geo.size), 1e-4 * geo.scale)
    for fact in ctx.facts:
        if fact.role != "centre" or fact.refers_to not in ("part", "base", "box", "triangle", "cube", "block", "plate",
                                                            "cylinder", "shape", "object", "prism", "disc", "sketch"):
            continue
        at = [c[0], c[1], geo.bbox[2] if fact.refers_to == "base" else c[2]]  # a base: its bottom on Z = 0
        off = [AXES[i] for i in range(3) if abs(at[i]) > tol]
        if off:
            out.append(_diag(fact, f"the bounding box centre is {_point(c)} (off along {', '.join(off)})", ctx, max(geo.size),
                             ("move", "box", "extrude", "cylinder"), severity="error"))
    return out


@check("cad", "fact-fillets", "a stated fillet radius is measured as a rounded edge (a circle or cylinder of that radius)")
def check_fillets(geo: Geometry, ctx: FactContext) -> list[Diagnostic]:
    out = []
    for fact in ctx.facts:
        if fact.role != "fillet":
            continue
        r = _values(fact, ctx)[0]
        if not any(geo.close(x, r) for x in geo.radii()):
            radii = sorted({_fmt(x) for x in geo.radii()})
            out.append(_diag(fact, "no rounded edge of radius " + _fmt(r) + (f" (radii found: {', '.join(radii[:6])})" if radii else ""),
                             ctx, r, ("fillet",)))
    return out


def check_facts(stats: ShapeStats, ctx: FactContext) -> list[Diagnostic]:
    """All fact checks on one measured solid."""
    if not ctx.facts or stats.bbox is None or stats.size is None or max(stats.size) <= 0:
        return []
    geo = Geometry(stats)
    return (check_sizes(geo, ctx) + check_thickness(geo, ctx) + check_holes(geo, ctx) + check_placement(geo, ctx)
            + check_axes(geo, ctx) + check_centred(geo, ctx) + check_fillets(geo, ctx))
