"""Continuous model -> Modelica text (an export: no Modelica compiler runs here)."""
from __future__ import annotations

import re

import sympy as sp

from .continuous import Compiled, analyse
from .expressions import to_modelica
from .model import ContinuousModel
from .units import UnitError, parse_unit


def _unit(text: str | None) -> str:
    """A Modelica unit string (m3/s, N.s/m) from a declared unit; '' when none or unreadable."""
    try:
        q = parse_unit(text)
    except UnitError:
        return ""
    if q is None:
        return ""
    u = f"{q.units:~}".replace(" ** ", "").replace(" * ", ".").replace(" / ", "/")
    return "1" if u == "" else u


# Modelica 3 keywords and the built-in ``time``: an id like ``initial`` becomes ``initial_``
RESERVED = frozenset("""algorithm and annotation block break class connect connector constant constrainedby der
discrete each else elseif elsewhen encapsulated end enumeration equation expandable extends external false final flow
for function if import impure in initial inner input loop model not operator or outer output package parameter partial
protected public pure record redeclare replaceable return stream then time true type when while within""".split())


def _name(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    name = name if name[:1].isalpha() else f"M_{name}"
    return name + "_" if name in RESERVED else name


def _expr(expr: sp.Basic) -> str:
    """Modelica text of an expression, its symbols named as in the export (``initial`` -> ``initial_``)."""
    return to_modelica(expr.xreplace({s: sp.Symbol(_name(s.name)) for s in expr.free_symbols if s.name in RESERVED}))


def _attrs(unit: str | None, start: float | None = None) -> str:
    parts = []
    if start is not None:
        parts += [f"start={float(start)!r}", "fixed=true"]
    if _unit(unit):
        parts.append(f'unit="{_unit(unit)}"')
    return f"({', '.join(parts)})" if parts else ""


def compile_modelica(model: ContinuousModel, compiled: Compiled | None = None) -> str:
    c = compiled or analyse(model)
    name = _name(model.name)
    lines = [f'model {name} "compiled by conceptwright; time unit: {model.time_unit}"']
    for p in model.parameters:
        lines.append(f"  parameter Real {_name(p.id)}{_attrs(p.unit)} = {float(p.value)!r};")
    for s in model.state_vars():
        lines.append(f"  Real {_name(s.id)}{_attrs(s.unit, s.initial)};")
    kinds = {f.id: ("flow", f.unit) for f in model.flows} | {a.id: ("auxiliary", a.unit) for a in model.auxiliaries}
    for n, _ in c.algebraic:
        lines.append(f'  Real {_name(n)}{_attrs(kinds[n][1])} "{kinds[n][0]}";')
    lines.append("equation")
    for n, expr in c.algebraic:
        lines.append(f"  {_name(n)} = {_expr(expr)};")
    for s, expr in c.derivatives.items():
        lines.append(f"  der({_name(s)}) = {_expr(expr)};")
    for (text, g, direction), sets, ev in zip(c.events, c.resets, model.events):
        cond = f"{_expr(g)} {'>' if direction > 0 else '<'} 0"
        lines.append(f"  when {cond} then  // {text}")
        for var, expr in sets:
            lines.append(f"    reinit({_name(var)}, {_expr(expr)});")
        if ev.stop:
            lines.append(f'    terminate("{text}");')
        lines.append("  end when;")
    t = model.time
    lines.append(f"  annotation(experiment(StartTime={t.start!r}, StopTime={t.stop!r}, Interval={t.step()!r}));")
    lines.append(f"end {name};")
    return "\n".join(lines) + "\n"
