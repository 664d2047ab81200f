"""The stated facts of a part description: every quantity with its value (converted with pint),
its unit, the words it was read from (a span of the description), what it refers to (a noun such
as "hole", "plate", "leg") and its role (an overall size, a thickness, holes of a diameter and
count, a fillet, a chamfer, a bolt circle, a placement offset); orientation words ("in the X-Z
plane", "along the Y axis", "horizontal", "vertical") become the axes a size lies along.

Extraction is deterministic and span based: values come only from the text, never from a model.
``label_prompt``/``apply_labels`` let an optional constrained LLM step choose roles for the
spans already found (it can change roles, never values).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import pint
from pydantic import BaseModel, Field

Kind = Literal["length", "diameter", "radius", "thickness", "count", "angle", "orientation"]
Role = Literal["size", "thickness", "hole", "fillet", "chamfer", "bolt-circle", "placement", "centre", "orientation",
               "count", "angle"]
Axis = Literal["X", "Y", "Z"]
ROLES: tuple[str, ...] = ("size", "thickness", "hole", "fillet", "chamfer", "bolt-circle", "placement")


class Fact(BaseModel):
    """One stated fact; lengths in millimetres (or in the part's own units when ``unitless``)."""

    kind: Kind
    role: Role
    values: list[float] = Field(default_factory=list)  # one value; an "A x B x C" size has several
    unit: str = ""  # as written ("mm", "cm", "in", "units", "deg"); "" when none
    unitless: bool = False  # written as "units" or without a unit: the part's own units
    span: tuple[int, int]  # where in the description
    text: str  # the words it was read from
    refers_to: str = ""  # the noun it is about ("hole", "plate", "cylinder"), "" when none is near
    count: int | None = None  # holes: how many are stated; None when the words give no number
    axes: list[Axis] = Field(default_factory=list)  # the axes the size lies along, when the words name them
    dimension: str = ""  # the dimension word: length, width, height, depth, thickness ("" when none)

    def lengths_in(self, units: str) -> list[float]:
        """The values as lengths in the part's units."""
        if self.unitless or self.kind in ("count", "angle", "orientation"):
            return list(self.values)
        return [convert(v, "mm", units) for v in self.values]

    def describe(self) -> str:
        return f'"{self.text}"'


@lru_cache(maxsize=1)
def ureg() -> pint.UnitRegistry:
    return pint.UnitRegistry()


_PINT = {"mm": "millimeter", "cm": "centimeter", "m": "meter", "in": "inch", "deg": "degree"}


def _unit_key(unit: str) -> str:
    u = unit.lower().rstrip(".")
    if u in ("mm",) or u.startswith("millim"):
        return "mm"
    if u == "cm" or u.startswith("centim"):
        return "cm"
    if u in ("m",) or u.startswith("met"):
        return "m"
    if u in ('"', "in", "inch", "inches", "″"):
        return "in"
    if u in ("°", "deg", "degree", "degrees"):
        return "deg"
    return "units"


def convert(value: float, unit: str, to: str) -> float:
    """``value`` in ``unit`` (mm, cm, m, in) expressed in ``to`` (a part's units), with pint."""
    if unit == to:
        return value
    q = ureg().Quantity(value, _PINT[_unit_key(unit)])
    return float(q.to(_PINT[_unit_key(to)]).magnitude)


_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
_U = r"(?:mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|met(?:er|re)s?|m|inch(?:es)?|in\.?(?=\s*(?:[x×,;)]|by\b|long\b|wide\b|tall\b|thick\b|high\b|deep\b|$))|\"|″|units?|degrees?|deg|°)"
_UNIT_RE = re.compile(rf"\s*({_U})(?![A-Za-z])", re.I)
_QTY = re.compile(rf"(?<![A-Za-z\d.]){_NUM}(?![\d])", re.I)
_SEP = re.compile(r"\s*(?:x|×|\*|by)\s*", re.I)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(])|\n+")

COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "both": 2, "pair": 2}
NOUNS = ("holes", "hole", "bores", "bore", "counterbore", "countersink", "bolt circle", "pitch circle", "plate", "block",
         "box", "cube", "prism", "cylinder", "disc", "disk", "shaft", "rod", "pipe", "tube", "flange", "boss", "slot",
         "pocket", "fillet", "chamfer", "walls", "wall", "base", "legs", "leg", "arm", "bracket", "spacer", "washer", "ring",
         "triangle", "trapezoid", "square", "squares", "rectangle", "circle", "hexagon", "section", "sketch", "extrusion",
         "edges", "edge", "corners", "corner", "face", "top", "bottom", "sides", "side", "tab", "rib", "groove", "channel",
         "handle", "lid", "cap", "pin", "peg", "collar", "hub", "frame", "panel", "sheet", "beam", "bar", "shape", "object",
         "part", "sphere", "cone", "axle", "step", "lip", "recess", "notch", "cutout", "window")
_NOUN_RE = re.compile(r"\b(" + "|".join(re.escape(n) for n in NOUNS) + r")\b", re.I)
CYLINDRICAL = ("cylinder", "shaft", "rod", "pipe", "tube", "axle", "pin", "peg", "disc", "disk", "boss", "collar", "hub")
_HOLE_NOUNS = ("hole", "holes", "bore", "bores", "counterbore", "countersink")
PLATE_NOUNS = ("plate", "disc", "disk", "sheet", "panel", "washer", "flange", "base", "spacer", "lid", "cap", "tab")
_AXIS_AFTER = re.compile(r"^[^.;]{0,40}?\b(?:along|in)\s+(?:the\s+)?(?:positive\s+|negative\s+|\+|-)?([XYZ])[- ]?(?:axis|direction)\b|"
                         r"^[^.;]{0,40}?\b(?:along|in)\s+(?:the\s+)?([XYZ])\b(?![-\w])", re.I)
_PLANE = re.compile(r"\b(?:in|on)\s+(?:the\s+)?([XYZ])[- ]?([XYZ])[- ]?plane\b", re.I)
_HORIZONTAL = re.compile(r"\b(horizontal(?:ly)?|lying\s+(?:down|on\s+its\s+side))\b(?!\s+edges?)", re.I)
_VERTICAL = re.compile(r"\b(vertical(?:ly)?|upright|standing\s+(?:up|upright|on\s+end|on\s+(?:the\s+)?XY(?:[- ]plane)?))\b(?!\s+edges?)", re.I)
_FLAT = re.compile(r"\b(lying\s+flat|laid\s+flat|flat\s+on\s+(?:the\s+)?(?:XY|ground|table))\b", re.I)
_ALONG = re.compile(r"\b(?:standing|lying|oriented|running|extending|pointing)\s+along\s+(?:the\s+)?([XYZ])[- ]?(?:axis|direction)?\b", re.I)
_CENTRED = re.compile(r"\b(?:cent(?:ered|red)|symmetric(?:al)?(?:ly)?)\b(?!\s+at\s+the\s+same)", re.I)
_IN_CENTRE = re.compile(r"\b(?:in|at|through)\s+(?:the\s+)?(?:cent(?:er|re)|middle|(?:its|the)\s+axis)\b", re.I)
_FROM_CORNER = re.compile(r"^\s*(?:in\s+)?from\s+(?:each|every|the|all)?\s*(?:four\s+)?(corners?|edges?|sides?)\b", re.I)
_BOLT_CIRCLE = re.compile(r"^\s*(?:diameter\s+)?(?:bolt|pitch)[- ]circle\b", re.I)


class _Qty(BaseModel):
    start: int
    end: int
    values: list[float]
    unit: str


def _quantities(spec: str) -> list[_Qty]:
    """Numbers with their unit, "A x B x C" runs as one quantity (a unit after any of them counts for all)."""
    out: list[_Qty] = []
    pos = 0
    while (m := _QTY.search(spec, pos)) is not None:
        if re.match(r"[A-Za-z]", spec[m.end():m.end() + 1]) and not _UNIT_RE.match(spec, m.end()):
            pos = m.end()
            continue  # "3D", "M8"-like words are not quantities
        values, units, end = [float(m.group())], [], m.end()
        while True:
            u = _UNIT_RE.match(spec, end)
            if u:
                units.append(u.group(1))
                end = u.end()
            sep = _SEP.match(spec, end)
            nxt = _QTY.match(spec, sep.end()) if sep else None
            if not sep or not nxt or len(values) == 3:
                break
            values.append(float(nxt.group()))
            end = nxt.end()
        out.append(_Qty(start=m.start(), end=end, values=values, unit=units[-1] if units else ""))
        pos = end
    return out


def _sentences(spec: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for m in _SENTENCE.finditer(spec):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(spec)))
    return bounds


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", text.lower())


def _noun_after(text: str) -> str:
    """The first noun of the few words after a quantity (before a verb-like break)."""
    head = re.split(r"[,;.()]|\b(?:with|and|of|that|which|is|should|to|from|on|at|in)\b", text, maxsplit=1)[0]
    m = _NOUN_RE.search(head[:60])
    return m.group(1).lower() if m else ""


def _noun_before(text: str) -> str:
    found = _NOUN_RE.findall(text[-80:])
    return found[-1].lower() if found else ""


def _count_before(text: str) -> int | None:
    """A count word or digit right before the quantity ("four 8 mm holes", "6 x 5 mm holes")."""
    m = re.search(r"\b(\d+|" + "|".join(COUNT_WORDS) + r")\s*(?:x\s*)?(?:equally\s+|evenly\s+)?$", text, re.I)
    if not m:
        return None
    w = m.group(1).lower()
    return int(w) if w.isdigit() else COUNT_WORDS[w]


_DIMENSION = {"long": "length", "length": "length", "wide": "width", "width": "width", "tall": "height", "high": "height",
              "height": "height", "deep": "depth", "depth": "depth", "thick": "thickness", "thickness": "thickness"}


def _dimension(before: str, after: str) -> str:
    """The dimension word of a quantity: "30 mm long", "a height of 20 mm" ("" when none)."""
    a = _words(after)[:1]
    if a and a[0] in _DIMENSION:
        return _DIMENSION[a[0]]
    b = _words(_own(before))[-3:]
    return next((_DIMENSION[w] for w in reversed(b) if w in _DIMENSION), "")


def _own(before: str) -> str:
    """The words before a quantity that are its own: after the last 'and', comma or 'with'."""
    return re.split(r",|;|and|with|then", before)[-1]


def _kind(before: str, after: str, unit: str) -> Kind:
    b, a = " ".join(_words(_own(before))[-4:]), " ".join(_words(after)[:3])
    if _unit_key(unit) == "deg" or re.search(r"\b(angle|degrees?)\b", a[:12]):
        return "angle"
    if re.match(r"(thick|thickness)\b", a):
        return "thickness"
    if re.match(r"(long|tall|high|wide|deep|length|height|width|depth)\b", a):
        return "length"
    if re.match(r"(in\s+)?radius\b|r\b", a):
        return "radius"
    if re.match(r"(in\s+)?(diameter|dia|across)\b", a):
        return "diameter"
    if re.search(r"\bradius\b", b):
        return "radius"
    if re.search(r"\b(diameter|dia|across)\b", b):
        return "diameter"
    if re.search(r"\bthickness\b", b):
        return "thickness"
    return "length"


def extract(spec: str) -> list[Fact]:
    """The facts stated in a description, in the order they appear (deterministic)."""
    facts: list[Fact] = []
    qtys = _quantities(spec)
    for s0, s1 in _sentences(spec):
        sentence = spec[s0:s1]
        plane = _PLANE.search(sentence)
        inside = [q for q in qtys if s0 <= q.start < s1]
        for i, q in enumerate(inside):
            prev_end = inside[i - 1].end if i else s0
            next_start = inside[i + 1].start if i + 1 < len(inside) else s1
            before, after = spec[max(s0, prev_end - 0):q.start], spec[q.end:next_start]
            before_wide = spec[s0:q.start]
            if not q.unit and re.match(r"\s*(?:%|percent|/|th\b|st\b|nd\b|rd\b|times\b|sides?\b|-sided|teeth|\w+s\b(?<!mm))", after) \
                    and not re.match(r"\s*(?:mm|cm)", after):
                count = q.values[0]
                noun = _noun_after(after)
                if re.match(r"\s*(?:sides?|-sided)", after):
                    facts.append(_fact(spec, q, "count", "count", [count], noun or "sides"))
                continue  # percentages, fractions, ordinals, counts of things
            if not q.unit and q.values[0] == int(q.values[0]) and len(q.values) == 1 and _NOUN_RE.match(after.strip()) \
                    and not _unitless_part(spec):
                facts.append(_fact(spec, q, "count", "count", [q.values[0]], _noun_after(after)))
                continue
            unit = q.unit
            if not unit:
                if not _unitless_part(spec):
                    continue  # a bare number in a description with units: not a dimension
                unit = "units"
            facts.append(_classify(spec, q, unit, before, after, before_wide, plane))
        facts += _orientation_facts(spec, s0, sentence)
    return facts


@lru_cache(maxsize=64)
def _unitless_part(spec: str) -> bool:
    """True when the description gives sizes without units or as "units" (sizes are in the part's units)."""
    return bool(re.search(rf"{_NUM}\s*units?\b", spec, re.I)) or not re.search(rf"{_NUM}\s*{_U}(?![A-Za-z])", spec, re.I)


def _fact(spec: str, q: _Qty, kind: Kind, role: Role, values: list[float], refers: str, **kw: object) -> Fact:
    return Fact(kind=kind, role=role, values=values, span=(q.start, q.end), text=spec[q.start:q.end].strip(),
                refers_to=refers, **kw)  # type: ignore[arg-type]


def _classify(spec: str, q: _Qty, unit: str, before: str, after: str, before_wide: str, plane: re.Match | None) -> Fact:
    key = _unit_key(unit)
    unitless = key == "units"
    if key == "deg":
        return _fact(spec, q, "angle", "angle", q.values, _noun_before(before_wide), unit=unit)
    values = q.values if unitless else [convert(v, key, "mm") for v in q.values]
    kind = _kind(before, after, unit)
    noun_after, noun_before = _noun_after(after), _noun_before(before)
    refers = noun_after or noun_before or _noun_before(before_wide)
    axes: list[Axis] = []
    if (m := _AXIS_AFTER.search(after)) is not None:
        axes = [(m.group(1) or m.group(2)).upper()]  # type: ignore[list-item]
    elif plane is not None and len(q.values) >= 2:
        axes = sorted({plane.group(1).upper(), plane.group(2).upper()})  # type: ignore[assignment]
    end = spec[q.end:q.end + 60]
    text_end = q.end
    role: Role = "size"
    count = None
    if re.match(r"\s*cube\b", after, re.I) and len(values) == 1:
        values = values * 3
        refers = "cube"
    elif re.match(r"\s*(?:for|in)\s+(?:the\s+)?length,\s*width,?\s*and\s*height", after, re.I):
        values = values * 3
    if noun_after in _HOLE_NOUNS or (kind in ("diameter", "radius") and re.search(r"\b(holes?|bores?)\b", before[-40:], re.I)
                                     and not re.search(r"\b(outer|outside)\b", before[-30:], re.I)):
        role = "hole"
        if len(values) == 2 and re.match(r"\d+\s*[x×]", spec[q.start:q.end]) and q.values[0] == int(q.values[0]):
            values, before = values[1:], before + f" {int(q.values[0])} "  # "4 x 6 mm holes": four holes of 6 mm
        refers = noun_after if noun_after in _HOLE_NOUNS else re.search(r"\b(holes?|bores?)\b", before[-40:], re.I).group(1).lower()  # type: ignore[union-attr]
        count = _count_before(before)
        if count is None and re.search(r"\b(a|an|one|single)\s+(?:\w+\s+){0,2}$", before, re.I):
            count = 1
        if kind == "length":
            kind = "diameter"
        # "holes" without a number: count None, at least one is checked
        if kind == "radius":
            values, kind = [2 * v for v in values], "diameter"
        hole_end = re.search(r"\b(holes?|bores?|counterbore|countersink)\b", end, re.I)
        if hole_end and noun_after in _HOLE_NOUNS:
            text_end = q.end + hole_end.end()
    elif _BOLT_CIRCLE.search(after) or (re.search(r"\b(bolt|pitch)[- ]circle\b", _own(before), re.I)):
        if kind == "radius":
            values = [2 * v for v in values]
        role, kind, refers = "bolt-circle", "diameter", "bolt circle"
    elif re.search(r"\b(fillet|round(?:ed|ing)?)\b", (_own(before)[-40:] + " " + after[:25]), re.I) and kind in ("radius", "length"):
        role, kind = "fillet", "radius"
    elif re.search(r"\bchamfer", _own(before)[-40:] + " " + after[:25], re.I):
        role = "chamfer"
    elif (m := _FROM_CORNER.match(after)) is not None:
        role, refers, text_end = "placement", m.group(1).lower(), q.end + m.end()
    elif re.match(r"\s*(?:apart|spacing|pitch|centre[- ]to[- ]centre|center[- ]to[- ]center)\b", after, re.I):
        role = "placement"
    elif kind == "thickness":
        role = "thickness"
        refers = noun_before or _noun_before(before_wide) or noun_after
        if re.match(r"\s*thick\s+(walls?|sides?)", after, re.I):
            refers = "walls"
    if role == "size" and (re.match(r"\s*(?:wall|walls)\b", after, re.I) or refers in ("wall", "walls")):
        role, kind, refers = "thickness", "thickness", "walls"
    if text_end == q.end and (w := re.match(r"\s*(?:in\s+)?(?:long|tall|high|wide|deep|thick|diameter|radius|across)\b", after, re.I)):
        text_end = q.end + w.end()
    return Fact(kind=kind, role=role, values=values, unit=unit, unitless=unitless, span=(q.start, text_end),
                text=spec[q.start:text_end].strip(), refers_to=refers, count=count, axes=axes,
                dimension=_dimension(before, after))


def _orientation_facts(spec: str, s0: int, sentence: str) -> list[Fact]:
    """"horizontal"/"vertical" words about a cylinder-like or flat thing; "centred"/"symmetric" words."""
    out: list[Fact] = []
    for pattern, axes in ((_HORIZONTAL, ["X", "Y"]), (_VERTICAL, ["Z"]), (_FLAT, ["Z"]), (_ALONG, None)):
        for m in pattern.finditer(sentence):
            noun = _noun_before(sentence[:m.start()]) or _noun_after(sentence[m.end():])
            kind: Kind = "thickness" if pattern is _FLAT else "orientation"  # flat: the thinnest extent lies along Z
            out.append(Fact(kind=kind, role="orientation", span=(s0 + m.start(), s0 + m.end()), text=m.group(0),
                            refers_to=noun or "part", axes=axes or [m.group(1).upper()]))  # type: ignore[arg-type]
    for m in _CENTRED.finditer(sentence):
        rest = sentence[m.end():m.end() + 40].lower()
        head = sentence[max(0, m.start() - 60):m.start()].lower()
        if re.search(r"\b(holes?|bores?)\b", head[-30:]):
            continue  # a centred hole: its placement is the hole's fact
        noun = _noun_before(sentence[:m.start()]) or "part"
        out.append(Fact(kind="orientation", role="centre", span=(s0 + m.start(), s0 + m.end()), text=m.group(0),
                        refers_to="base" if "base" in head[-40:] or "base" in rest else noun))
    return out


def centred_holes(spec: str, facts: list[Fact]) -> list[Fact]:
    """Hole facts whose words put the hole in the centre ("a 30 mm bore in the centre", "through its axis")."""
    out = []
    for f in facts:
        if f.role != "hole":
            continue
        tail = spec[f.span[1]:f.span[1] + 50]
        tail = re.split(r"[,;.]|\band\b", tail, maxsplit=1)[0]
        if _IN_CENTRE.search(tail) or re.match(r"\s*(?:that\s+is\s+)?cent(?:ered|red)\b", tail, re.I):
            out.append(f)
    return out


# --- the optional constrained labelling step ------------------------------------------------

def label_schema(facts: list[Fact]) -> dict:
    """JSON schema of a labelling answer: for each extracted fact (by index) one role from ROLES;
    there is no field for a value, so values can never be invented."""
    n = len(facts)
    return {"type": "object", "properties": {"roles": {"type": "array", "minItems": n, "maxItems": n,
                                                       "items": {"type": "string", "enum": list(ROLES)}}},
            "required": ["roles"], "additionalProperties": False}


def label_prompt(spec: str, facts: list[Fact]) -> str:
    lines = [f"{i}: {f.text} (about: {f.refers_to or '?'}; now: {f.role})" for i, f in enumerate(facts)]
    return ("Description: " + spec + "\nFor each numbered quantity choose its role, one of "
            + ", ".join(ROLES) + '. Answer {"roles": [...]} in the same order.\n' + "\n".join(lines))


def apply_labels(facts: list[Fact], roles: list[str]) -> list[Fact]:
    """Facts with the roles of a labelling answer; a wrong-length or unknown answer leaves them as they were.
    Only length-like facts are relabelled (counts, angles and orientation words keep theirs)."""
    if len(roles) != len(facts) or any(r not in ROLES for r in roles):
        return facts
    out = []
    for f, r in zip(facts, roles):
        relabel = f.kind in ("length", "diameter", "radius", "thickness") and r != f.role
        out.append(f.model_copy(update={"role": r}) if relabel else f)
    return out
