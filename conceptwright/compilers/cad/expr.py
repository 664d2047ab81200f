"""Numeric values of the part model: a number, or an arithmetic expression over the
part's named parameters (``"length/2 - 10"``). Checked with ``ast``; never ``eval``'d."""
from __future__ import annotations

import keyword

import ast
import math
import operator
import re
from typing import Callable

Num = float | str  # a number or an expression over parameter names

_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
CONSTANTS = {"pi": math.pi}
_UNIT = re.compile(r"^\s*(-?[0-9.]+(?:[eE]-?[0-9]+)?)\s*(mm|cm|m|in|inch|inches|units?|deg|degrees|°)\s*$")


class ExprError(ValueError):
    """An expression that is not arithmetic over known parameter names."""


def strip_unit(text: str) -> str | None:
    """'120 mm' -> '120' (a certain fix); None when there is no unit to strip."""
    m = _UNIT.match(text)
    return m.group(1) if m else None


def names(expr: Num) -> set[str]:
    """Parameter names an expression uses (raises ExprError when it is not arithmetic)."""
    if not isinstance(expr, str):
        return set()
    return {n.id for n in ast.walk(_parse(expr)) if isinstance(n, ast.Name)} - set(CONSTANTS)


def evaluate(expr: Num, params: dict[str, float]) -> float:
    """The value of a number or expression, given the parameter values."""
    if not isinstance(expr, str):
        return float(expr)
    return _eval(_parse(expr).body, params)


def to_python(expr: Num) -> str:
    """Source text for the generated script: numbers without a needless '.0'."""
    if isinstance(expr, str):
        return ast.unparse(_parse(expr).body)
    return number(expr)


def number(value: float) -> str:
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(round(v, 9))


def _parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(f"'{text}' is not a number or an arithmetic expression over parameter names") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load)) or type(node) in _BINOPS \
            or type(node) in _UNARY or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
                                        and not isinstance(node.value, bool))
        if not ok:
            raise ExprError(f"'{text}' may only use numbers, parameter names, + - * / and parentheses")
    return tree


def _eval(node: ast.AST, params: dict[str, float]) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in params:
            return float(params[node.id])
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ExprError(f"unknown parameter '{node.id}': declare it under \"parameters\" or write the number")
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, params))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, params), _eval(node.right, params)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ExprError("division by zero")
        return _BINOPS[type(node.op)](left, right)
    raise ExprError("not an arithmetic expression")  # pragma: no cover - _parse rejects it first


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = {"cq", "result", "math", "pi", "argparse", "args", "parser", "main_args"}


def identifier_problem(name: str) -> str | None:
    if not _IDENT.match(name) or keyword.iskeyword(name):
        return "must be a Python-style name (letters, digits, underscore; not starting with a digit)"
    if name in RESERVED:
        return f"'{name}' is reserved in the generated script"
    return None


def is_through(value: Num) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("through", "thru", "all")
