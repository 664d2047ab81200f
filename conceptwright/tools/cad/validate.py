"""Geometric checks of a CAD run (tools/cad/runner.py report) -> diagnostics that name the
feature at fault: the script ran; exactly one valid solid (OCCT's check) with positive
volume; no feature left an invalid or empty body or missed the part; the STEP written
re-imports as the same solid (volume within 0.1%); the bounding box matches the stated
envelope and the dimensions in the description; holes have the stated count and size."""
from __future__ import annotations

import math
import re

from pydantic import BaseModel, Field

from .fact_check import FactContext, check_facts
from .runner import CadReport, ShapeStats
from ...core.diagnostics import Diagnostic
from ...core.rules import check as rule_check

STEP_VOLUME_TOLERANCE = 1e-3  # 0.1 %
_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}
_UNIT = r"(mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|m|met(?:er|re)s?|inch(?:es)?|\"|units?)"
_NUM = r"(\d+(?:\.\d+)?)"
_LENGTH = re.compile(rf"(?<![A-Za-z\d.]){_NUM}\s*{_UNIT}(?![A-Za-z])", re.I)
_BLOCK = re.compile(rf"(?<![\d.]){_NUM}\s*(?:{_UNIT}\s*)?(?:x|×|by)\s*{_NUM}\s*(?:{_UNIT}\s*)?"
                    rf"(?:(?:x|×|by)\s*{_NUM}\s*)?{_UNIT}?", re.I)
_WORDS = {"a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "twelve": 12}
_HOLES = re.compile(rf"\b(\d+|{'|'.join(_WORDS)})\s+(?:x\s+)?{_NUM}\s*{_UNIT}?\s*(?:diameter\s+)?"
                    r"(?:(?:through|thru|blind|mounting|bolt|counterbored|countersunk|round)[- ]?\s*)*(holes?|bores?)\b", re.I)


class HoleSpec(BaseModel):
    diameter: float
    count: int
    feature: str | None = None  # the hole feature that states it; None: the description


class Expectations(BaseModel):
    """What the run is checked against, in the part's units."""

    envelope: tuple[float | None, float | None, float | None] | None = None  # X, Y, Z sizes stated by the model
    lengths: list[float] = Field(default_factory=list)  # single lengths in the description
    blocks: list[list[float]] = Field(default_factory=list)  # "A x B x C" sizes in the description
    holes: list[HoleSpec] = Field(default_factory=list)
    tolerance: float = 0.02  # relative, for sizes
    direct: bool = False  # the script is the LLM's own code
    facts: FactContext | None = None  # the description's stated facts, checked on the measured solid


def _unit_factor(unit: str | None, part_units: str) -> float:
    u = (unit or "").lower()
    if not u or u.startswith("unit"):
        return 1.0
    key = "mm" if u.startswith("mil") or u == "mm" else "cm" if u.startswith("cent") or u == "cm" else \
        "in" if u == '"' or u.startswith("inch") else "m"
    return _TO_MM[key] / _TO_MM[part_units]


def from_description(spec: str, units: str = "mm") -> Expectations:
    """Lengths, sizes (A x B x C) and holes ("four 8 mm holes") stated in a description."""
    blocks, spans = [], []
    for m in _BLOCK.finditer(spec):
        nums = [float(g) for g in (m.group(1), m.group(3), m.group(5)) if g]
        unit = m.group(6) or m.group(4) or m.group(2)
        f = _unit_factor(unit, units)
        blocks.append([n * f for n in nums])
        spans.append(m.span())
    lengths = []
    for m in _LENGTH.finditer(spec):
        if m.group(2) == '"' or any(a <= m.start() < b for a, b in spans):
            continue
        lengths.append(float(m.group(1)) * _unit_factor(m.group(2), units))
    holes = []
    for m in _HOLES.finditer(spec):
        n = int(m.group(1)) if m.group(1).isdigit() else _WORDS[m.group(1).lower()]
        holes.append(HoleSpec(diameter=float(m.group(2)) * _unit_factor(m.group(3), units), count=n))
    return Expectations(lengths=lengths, blocks=blocks, holes=holes)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _size(s: ShapeStats) -> tuple[float, float, float]:
    size = s.size
    assert size is not None
    return size


_HINTS = {
    "fillet": "the radius is probably too large for the selected edges: use less than half the thinnest wall or edge length",
    "chamfer": "the distance is probably too large for the selected edges",
    "shell": "the wall thickness is probably too large, or the shape has fillets the shell cannot offset",
    "hole": "check the face selector (a flat face: the curved side of a cylinder cannot be drilled; drill a cylinder along "
            "X from >X) and that the positions lie on that face",
    "cut": "check that the sketch overlaps the body",
    "boolean": "check that the bodies overlap or touch",
}


def check_report(report: CadReport, exp: Expectations, source: str = "") -> list[Diagnostic]:
    """Diagnostics for one run; errors first stop at what makes later checks meaningless."""
    if report.refused:
        return [Diagnostic(code="sandbox-refused", message=f"the script did something not allowed ({report.refused}): "
                           "only build geometry; do not open files, sockets or processes", obj=_obj(report))]
    if report.killed_reason:
        return [Diagnostic(code="stopped", message=f"the script was stopped: {report.killed_reason}. Avoid endless loops "
                           "and huge data; build the part directly", obj=_obj(report))]
    if report.error is not None:
        return [_script_error(report, source)]
    if report.failed_feature is not None:
        return [_failed_feature(report)]
    diags = _no_effect(report)
    r = report.final
    if r is None or report.result is None:
        hint = "assign the finished solid to a variable named result" if exp.direct else "the features made no solid"
        return diags + [Diagnostic(code="no-solid", message=f"there is no solid at the end (void bounding box): {hint}")]
    if r.n_solids != 1:
        diags.append(_split(report, r.n_solids))
    if not r.valid:
        diags.append(Diagnostic(code="invalid-solid", message="the result is not a valid solid (OCCT check failed)"))
    if r.volume <= 0:
        diags.append(Diagnostic(code="zero-volume", message=f"the solid has no volume ({_fmt(r.volume)})"))
    diags += _step(report)
    if r.bbox is None:  # pragma: no cover - stats always carry a bbox
        return diags
    size = _size(r)
    diags += _envelope(size, exp)
    diags += _description(size, exp)
    diags += _holes(r, exp)
    if exp.facts is not None:
        diags += check_facts(r, exp.facts)
    return diags


def _split(report: CadReport, n: int) -> Diagnostic:
    """Several solids: name the cut or hole that split a body, when one did."""
    last: dict[str | None, int] = {}
    for b in report.blocks:
        before = last.get(b.var, 0)
        last[b.var] = b.n_solids
        if b.op in ("cut", "hole", "shell") and before == 1 and b.n_solids > 1:
            return Diagnostic(code="multiple-solids", obj=b.feature, cls=b.op, message=f"{b.op} '{b.feature}' split the body "
                              f"into {b.n_solids} separate pieces: it runs right across it; make it smaller than the body "
                              "or check the plane or face it is on")
    return Diagnostic(code="multiple-solids", message=f"the result has {n} separate solids, not one: make the bodies touch "
                      "or overlap (check positions), then they are joined into one")


def _obj(report: CadReport) -> str | None:
    name = report.error.feature if report.error else None
    return name if name not in (None, "script", "parameters", "result") else None


def _script_error(report: CadReport, source: str) -> Diagnostic:
    err = report.error
    assert err is not None
    where = ""
    if err.line and source:
        lines = source.splitlines()
        if 0 < err.line <= len(lines):
            where = f" (line {err.line}: {lines[err.line - 1].strip()[:160]})"
    hint = _HINTS.get(err.op, "")
    feature = err.feature if err.feature not in ("script", "parameters", "result") else None
    what = f"{err.op} feature '{feature}' failed" if feature else "the script failed"
    return Diagnostic(code="script-error", message=f"{what}: {err.message}{where}" + (f"; {hint}" if hint else ""),
                      obj=feature, cls=err.op or None)


def _failed_feature(report: CadReport) -> Diagnostic:
    b = next(b for b in report.blocks if b.feature == report.failed_feature)
    if b.n_solids == 0:
        msg = f"after {b.op} '{b.feature}' no solid is left (void bounding box): it removed all the material; " \
              "make it smaller or shallower, or check its position"
        return Diagnostic(code="feature-empty", message=msg, obj=b.feature, cls=b.op)
    hint = _HINTS.get(b.op, "check its sizes")
    return Diagnostic(code="feature-invalid", message=f"{b.op} '{b.feature}' made an invalid solid without raising an error "
                      f"(OCCT check failed): {hint}", obj=b.feature, cls=b.op)


def _no_effect(report: CadReport) -> list[Diagnostic]:
    diags, last = [], {}
    for b in report.blocks:
        before = last.get(b.var, 0.0)
        if b.op in ("cut", "hole") and before > 0 and abs(b.volume - before) <= 1e-9 * before:
            diags.append(Diagnostic(code="no-effect", message=f"{b.op} '{b.feature}' removed no material: it lies outside the "
                                    "body. Positions are global coordinates of the two axes in the face or plane", obj=b.feature, cls=b.op))
        last[b.var] = b.volume
    return diags


def _step(report: CadReport) -> list[Diagnostic]:
    if "part.step" not in report.files or report.result is None:
        return [Diagnostic(code="step-export", message="no STEP file was written: "
                           + report.export_errors.get("step", "unknown export error"))]
    v = report.verify
    if v is None or v.error:
        return [Diagnostic(code="step-reimport", message=f"the STEP file does not re-import: {v.error if v else 'not checked'}")]
    if v.n_solids != report.result.n_solids or relative_error(v.volume, report.result.volume) > STEP_VOLUME_TOLERANCE:
        return [Diagnostic(code="step-reimport", message=f"the STEP file re-imports as {v.n_solids} solid(s) of volume "
                           f"{_fmt(v.volume)}, not {report.result.n_solids} of {_fmt(report.result.volume)}")]
    return []


def _close(actual: float, stated: float, tol: float, scale: float) -> bool:
    return abs(actual - stated) <= max(tol * stated, 1e-3 * scale)


@rule_check("cad", "stated-envelope", "the overall size the model states (its optional envelope) against the measured "
            "bounding box: a warning, the size is measured, not taken from the model", reads_description=False)
def _envelope(size: tuple[float, float, float], exp: Expectations) -> list[Diagnostic]:
    if exp.envelope is None:
        return []
    scale = max((s for s in exp.envelope if s is not None), default=max(size))
    out = []
    for axis, actual, stated in zip("xyz", size, exp.envelope):
        if stated is not None and not _close(actual, stated, exp.tolerance, scale):
            out.append(Diagnostic(code="envelope-mismatch", feature=axis, severity="warning",
                                  message=f"the part measures {_fmt(actual)} along {axis.upper()} but the envelope says "
                                  f"{_fmt(stated)} (the envelope is optional: the size is measured)"))
    return out


@rule_check("cad", "description-sizes", "sizes the description states (A x B x C, lengths) that the part's bounding box lacks")
def _description(size: tuple[float, float, float], exp: Expectations) -> list[Diagnostic]:
    out = []
    dims = sorted(size, reverse=True)
    text = " x ".join(_fmt(s) for s in size)
    for block in exp.blocks:
        want = sorted(block, reverse=True)
        if any(w > d * (1 + exp.tolerance) + 1e-9 for w, d in zip(want, dims)):
            out.append(Diagnostic(code="size-mismatch", message=f"the description gives {' x '.join(_fmt(b) for b in block)} but "
                       f"the part is only {text} (X x Y x Z): make it at least that big"))
    diag = math.dist(size, (0, 0, 0))
    for length in exp.lengths:
        if length > diag * (1 + exp.tolerance) + 1e-9:
            out.append(Diagnostic(code="dimension-too-large", message=f"the description gives a length of {_fmt(length)} but the "
                       f"whole part is only {_fmt(diag)} across ({text}): a size is wrong (units? radius vs diameter?)"))
    return out


@rule_check("cad", "hole-count", "holes the description or the hole features ask for that the part lacks")
def _holes(r: ShapeStats, exp: Expectations) -> list[Diagnostic]:
    out = []
    scale = max(_size(r))
    for spec in exp.holes:
        tol = max(0.01 * spec.diameter, 1e-3 * scale)
        found = sum(1 for h in r.holes if abs(h["diameter"] - spec.diameter) <= tol)
        if found < spec.count:
            sizes = sorted({round(h["diameter"], 4) for h in r.holes})
            where = f"hole feature '{spec.feature}'" if spec.feature else "the description"
            out.append(Diagnostic(code="hole-count", obj=spec.feature, cls="hole" if spec.feature else None,
                       message=f"{where} asks for {spec.count} hole(s) of diameter {_fmt(spec.diameter)} but the part has "
                       f"{found}" + (f" (hole diameters found: {', '.join(_fmt(s) for s in sizes)})" if sizes else "")
                       + ": check the positions lie on the part and do not repeat"))
    return out


def relative_error(a: float, b: float) -> float:
    """|a - b| relative to the larger; inf when either is not finite (here, not imported from the
    probe: that module imports CadQuery, which the caller never needs)."""
    return abs(a - b) / max(abs(a), abs(b), 1e-300) if math.isfinite(a) and math.isfinite(b) else math.inf
