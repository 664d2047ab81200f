"""Analysis shared by the continuous compilers and checks: parsed expressions, the order
in which flows and auxiliaries are computed, and each state's derivative."""
from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import sympy as sp
from pydantic import BaseModel, ConfigDict

from .expressions import ExpressionError, parse, parse_condition, symbols_of
from .model import ContinuousModel


class Compiled(BaseModel):
    """A continuous model with every expression parsed and the algebraic part ordered."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    states: list[str]  # stocks then ODE states, the state vector's order
    algebraic: list[tuple[str, sp.Expr]]  # flows and auxiliaries, each after what it uses
    derivatives: dict[str, sp.Expr]  # state -> d/dt (stocks: inflows - outflows)
    events: list[tuple[str, sp.Expr, int]]  # (condition text, g, direction): g crosses zero
    resets: list[list[tuple[str, sp.Expr]]]  # per event: (state, new value)


class AnalysisError(ValueError):
    """Carries the element and feature at fault."""

    def __init__(self, message: str, obj: str | None = None, feature: str | None = None, code: str = "bad-expression"):
        super().__init__(message)
        self.obj, self.feature, self.code = obj, feature, code


def declared(model: ContinuousModel) -> frozenset[str]:
    return frozenset(model.element_ids())


def analyse(model: ContinuousModel) -> Compiled:
    """Parse and order everything; raise AnalysisError naming the first element at fault."""
    names = declared(model)

    def p(text: str, obj: str, feature: str) -> sp.Expr:
        try:
            return parse(text, names)
        except ExpressionError as exc:
            raise AnalysisError(str(exc), obj, feature) from None

    exprs: dict[str, sp.Expr] = {}
    for f in model.flows:
        exprs[f.id] = p(f.rate, f.id, "rate")
    for a in model.auxiliaries:
        exprs[a.id] = p(a.equation, a.id, "equation")
    graph = {n: {s for s in symbols_of(e) if s in exprs} for n, e in exprs.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(dict.fromkeys(exc.args[1]))
        raise AnalysisError(f"flows/auxiliaries depend on each other in a loop ({cycle}); break the loop, e.g. "
                            "make one of them a stock", exc.args[1][0], None, "algebraic-loop") from None
    derivs: dict[str, sp.Expr] = {}
    for s in model.stocks:
        d: sp.Expr = sp.Integer(0)
        for f in model.flows:
            sym = sp.Symbol(f.id, real=True)
            if f.to == s.id:
                d += sym
            if f.from_ == s.id:
                d -= sym
        derivs[s.id] = d
    for st in model.states:
        derivs[st.id] = p(st.der, st.id, "der")
    events, resets = [], []
    for i, ev in enumerate(model.events):
        try:
            g, direction = parse_condition(ev.when, names)
        except ExpressionError as exc:
            raise AnalysisError(str(exc), f"events/{i}", "when") from None
        events.append((ev.when, g, direction))
        resets.append([(a.var, p(a.value, f"events/{i}", "set")) for a in ev.set])
    return Compiled(states=[s.id for s in model.state_vars()], algebraic=[(n, exprs[n]) for n in order],
                    derivatives=derivs, events=events, resets=resets)
