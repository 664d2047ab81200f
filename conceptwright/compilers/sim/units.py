"""Units with pint: parse what a model declares, convert times, check expression dimensions.

Count words pint does not know (people, items, cars, dollars, ...) are dimensionless, so
``people/year`` is a valid flow unit for a stock in ``people``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pint
import sympy as sp

_COUNTS = {"unit", "units", "item", "items", "piece", "pieces", "each", "count", "counts"}
_WORD = re.compile(r"[A-Za-z_%$€]+[A-Za-z_]*")
_SUPERSCRIPT = str.maketrans({"²": "^2", "³": "^3", "·": "*", "⁻": "^-", "¹": "1"})


NUMBER = object()  # a bare number: takes the unit of what it is added to


class UnitError(ValueError):
    """A unit string that cannot be read, or dimensions that do not match."""


@lru_cache(maxsize=1)
def ureg() -> pint.UnitRegistry:
    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


def _known(word: str) -> bool:
    if word.lower() in _COUNTS:
        return False
    try:
        ureg().parse_units(word)
        return True
    except Exception:
        return False


def _rewrite(text: str) -> str:
    """m3 -> m**3, Ns -> N*s, unknown count words -> 1."""
    text = re.sub(r"\s+per\s+", "/", text.translate(_SUPERSCRIPT).strip(), flags=re.I)
    # only the scale of a temperature matters to dimension checks: offset units as their kelvin-sized steps
    text = re.sub(r"°\s*C\b|\bdeg_?C\b|\bcelsius\b|\bdegrees?_?C(elsius)?\b", "kelvin", text, flags=re.I)
    text = re.sub(r"°\s*F\b|\bdeg_?F\b|\bfahrenheit\b", "delta_degF", text, flags=re.I)
    text = re.sub(r"\b([A-Za-z]+)(\d)\b", lambda m: f"{m.group(1)}**{m.group(2)}" if _known(m.group(1)) else m.group(0), text)

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        if w in ("%", "percent"):
            return "percent"
        if _known(w):
            return w
        for i in range(1, len(w) if w.lower() not in _COUNTS else 0):  # a product of two known units written together: Ns, kWh
            if _known(w[:i]) and _known(w[i:]) and len(w) <= 5:
                return f"({w[:i]}*{w[i:]})"
        return "1"

    return _WORD.sub(word, text)


@lru_cache(maxsize=1024)
def parse_unit(text: str | None) -> pint.Quantity | None:
    """The unit as a pint quantity of magnitude 1; None when no unit is declared."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    if raw.lower() in ("dimensionless", "1", "-", "none"):
        return ureg().Quantity(1, "")
    try:
        return ureg().Quantity(1, _rewrite(raw))
    except Exception as exc:
        raise UnitError(f"pint cannot read the unit '{raw}' ({type(exc).__name__}); write units like m, kg, "
                        "m^3/s, 1/day, N*s/m, people/year") from None


def is_time(text: str) -> bool:
    q = parse_unit(text)
    return q is not None and q.dimensionality == ureg().Quantity(1, "s").dimensionality


def time_factor(unit: str, to: str) -> float:
    """How many ``to`` units one ``unit`` is (hour -> minute: 60)."""
    a, b = parse_unit(unit), parse_unit(to)
    if a is None or b is None or not is_time(unit) or not is_time(to):
        raise UnitError(f"'{unit}' is not a time unit that converts to '{to}': use s, minute, hour, day, week or year")
    return float((a / b).to("").magnitude)


def same(a: pint.Quantity, b: pint.Quantity) -> bool:
    """Same dimensions and scale (m^3/s vs L/s differ in scale: 1000)."""
    if a.dimensionality != b.dimensionality:
        return False
    return abs(float((a / b).to("").magnitude) - 1.0) < 1e-9


def show(q: pint.Quantity | None) -> str:
    if q is None:
        return "(none)"
    u = f"{q.units}"
    return u if u else "dimensionless"


def dimension(expr: sp.Basic, units: dict[str, pint.Quantity | None]) -> pint.Quantity | None:
    """The unit of ``expr`` given its symbols' units; None when some unit is unknown.

    Raises UnitError when terms of a sum, sides of a comparison or a function's
    argument do not agree (exp, log, sin, ... need a dimensionless argument)."""
    one = ureg().Quantity(1, "")

    def go(e: sp.Basic) -> Any:
        if isinstance(e, sp.Symbol):
            return units.get(e.name)
        if e.is_Number or isinstance(e, (sp.core.numbers.Pi, sp.core.numbers.Exp1)) or e in (sp.true, sp.false):
            return NUMBER  # a bare number takes the unit of what it is added to or compared with
        if isinstance(e, sp.Mul):
            out: Any = one
            for a in e.args:
                d = go(a)
                if d is None:
                    return None
                out = out * (one if d is NUMBER else d)
            return out
        if isinstance(e, sp.Pow):
            b, x = go(e.args[0]), go(e.args[1])
            if b is None or x is None:
                return None
            if x is not NUMBER and x.dimensionality != one.dimensionality:
                raise UnitError(f"the exponent of '{e}' must be dimensionless, not {show(x)}")
            if b is NUMBER:
                return NUMBER
            if not e.args[1].is_Number:
                if b.dimensionality != one.dimensionality:
                    raise UnitError(f"'{e}' raises {show(b)} to a non-constant power")
                return one
            return b ** float(e.args[1])
        if isinstance(e, (sp.Add, sp.Min, sp.Max)) or isinstance(e, sp.core.relational.Relational):
            return _agree(e, [go(a) for a in e.args])
        if isinstance(e, sp.Piecewise):
            values = [go(v) for v, _ in e.args]
            for _, c in e.args:
                go(c)
            return _agree(e, values)
        if isinstance(e, (sp.And, sp.Or, sp.Not)):
            for a in e.args:
                go(a)
            return NUMBER
        if isinstance(e, sp.Abs):
            return go(e.args[0])
        if isinstance(e, sp.Function):
            for a in e.args:
                d = go(a)
                if d is not None and d is not NUMBER and d.dimensionality != one.dimensionality:
                    raise UnitError(f"{e.func.__name__}() needs a dimensionless argument, but '{a}' is in {show(d)}")
            return one
        return None

    def _agree(e: sp.Basic, dims: list[Any]) -> Any:
        if any(d is None for d in dims):
            return None
        real = [d for d in dims if d is not NUMBER]
        for d in real[1:]:
            if d.dimensionality != real[0].dimensionality:
                raise UnitError(f"'{e}' combines {show(real[0])} with {show(d)}")
            if not same(d, real[0]):
                raise UnitError(f"'{e}' combines {show(real[0])} with {show(d)} without converting (factor "
                                f"{float((d / real[0]).to('').magnitude):g})")
        return real[0] if real else NUMBER

    result = go(expr)
    if result is NUMBER:
        return one
    return result
