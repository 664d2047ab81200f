"""Expressions of continuous models: checked, parsed by sympy, printed as Python or Modelica.

An expression is screened before sympy sees it (``parse_expr`` evaluates code): only
numbers, declared names, the functions below, operators and brackets get through.
"""
from __future__ import annotations

import keyword
import re
from functools import lru_cache

import sympy as sp
from sympy.parsing.sympy_parser import convert_xor, parse_expr
from sympy.printing.pycode import PythonCodePrinter
from sympy.printing.str import StrPrinter

TIME = "t"  # the time symbol every expression may use


def _ifelse(cond: sp.Basic, a: sp.Basic, b: sp.Basic) -> sp.Basic:
    return sp.Piecewise((a, cond), (b, True))


def _step(x: sp.Basic) -> sp.Basic:
    return sp.Piecewise((1, x >= 0), (0, True))


FUNCTIONS: dict[str, object] = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "tanh": sp.tanh, "atan": sp.atan, "abs": sp.Abs, "min": sp.Min, "max": sp.Max, "step": _step,
    "ifelse": _ifelse, "pi": sp.pi,
}
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>\*\*|<=|>=|==|!=|[-+*/^(),<>]))")
RESERVED = frozenset(FUNCTIONS) | {TIME, "time"}


class ExpressionError(ValueError):
    """An expression that is not allowed or cannot be parsed; the message says why."""


def valid_identifier(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)) and not keyword.iskeyword(name) and "__" not in name


def rename(text: str, old: str, new: str) -> str:
    """``text`` with the name ``old`` (a whole identifier) replaced by ``new``."""
    return re.sub(rf"(?<![A-Za-z0-9_.]){re.escape(old)}(?![A-Za-z0-9_])", new, text)


def names_in(text: str) -> list[str]:
    """The identifiers an expression uses (screening it as it goes)."""
    pos, names = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].strip()[:10]
            raise ExpressionError(f"unexpected '{bad}' in '{text}': use numbers, names, + - * / ** ( ) and "
                                  f"the functions {', '.join(sorted(k for k in FUNCTIONS if k != 'pi'))}")
        if m.group("name"):
            names.append(m.group("name"))
        pos = m.end()
    return names


@lru_cache(maxsize=4096)
def parse(text: str, symbols: frozenset[str]) -> sp.Expr:
    """Parse ``text`` knowing the declared ``symbols``; raise ExpressionError naming the problem."""
    if not text or not text.strip():
        raise ExpressionError("the expression is empty")
    names = names_in(text)
    if any("__" in n for n in (*names, *symbols)):
        raise ExpressionError(f"names with '__' are not allowed in '{text}'")
    unknown = [n for n in dict.fromkeys(names) if n not in symbols and n not in FUNCTIONS and n != TIME]
    if unknown:
        raise ExpressionError(f"undefined name(s) {', '.join(repr(n) for n in unknown)} in '{text}': declare each as "
                              "a parameter, stock, state, flow or auxiliary, or use t for time")
    local: dict[str, object] = {n: sp.Symbol(n, real=True) for n in symbols | {TIME}}
    local.update(FUNCTIONS)
    glob = {"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational, "Symbol": sp.Symbol}
    try:
        expr = parse_expr(text, local_dict=local, global_dict=glob,
                          transformations=(convert_xor,), evaluate=True)
    except Exception as exc:  # sympy raises many kinds on malformed text
        raise ExpressionError(f"sympy cannot parse '{text}' ({type(exc).__name__}); write it like 'k*x*(1 - x/K)'") from None
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):  # a bare number such as "5"
        expr = sp.sympify(expr)
    if isinstance(expr, bool) or not isinstance(expr, sp.Basic):
        raise ExpressionError(f"'{text}' is not an expression")
    return expr


def parse_condition(text: str, symbols: frozenset[str]) -> tuple[sp.Expr, int]:
    """An event condition ``lhs < rhs`` -> (lhs - rhs, crossing direction for solve_ivp);
    ``lhs == rhs`` ("when h reaches 0") is a crossing either way (direction 0)."""
    sides = re.split(r"==|(?<![<>!=])=(?!=)", text)
    if len(sides) == 2 and all(x.strip() for x in sides):
        lhs, rhs = (parse(x, symbols) for x in sides)
        return sp.simplify(lhs - rhs), 0
    expr = parse(text, symbols)
    if not isinstance(expr, sp.core.relational.Relational) or isinstance(expr, (sp.Eq, sp.Ne)):
        raise ExpressionError(f"the event condition '{text}' must compare with < or >, e.g. 'x < 0'")
    g = sp.simplify(expr.lhs - expr.rhs)
    direction = -1 if isinstance(expr, (sp.StrictLessThan, sp.LessThan)) else 1
    return g, direction


def symbols_of(expr: sp.Basic) -> set[str]:
    return {s.name for s in expr.free_symbols}


class _Python(PythonCodePrinter):
    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "standard": "python3"})


class _Modelica(StrPrinter):
    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp == sp.Rational(1, 2):
            return f"sqrt({self._print(expr.base)})"
        if expr.exp == -1:
            return f"1/{self.parenthesize(expr.base, 50)}"
        return f"{self.parenthesize(expr.base, 60)}^{self.parenthesize(expr.exp, 60)}"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = []
        for value, cond in expr.args[:-1]:
            parts.append(f"if {self._print(cond)} then {self._print(value)} else")
        return "(" + " ".join(parts) + f" {self._print(expr.args[-1][0])})"

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Min(self, expr: sp.Min) -> str:
        return self._nest("min", list(expr.args))

    def _print_Max(self, expr: sp.Max) -> str:
        return self._nest("max", list(expr.args))

    def _nest(self, fn: str, args: list[sp.Basic]) -> str:
        if len(args) == 1:
            return self._print(args[0])
        return f"{fn}({self._print(args[0])}, {self._nest(fn, args[1:])})"

    def _print_BooleanTrue(self, expr: sp.Basic) -> str:
        return "true"

    def _print_Exp1(self, expr: sp.Basic) -> str:
        return "Modelica.Constants.e"

    def _print_Pi(self, expr: sp.Basic) -> str:
        return "Modelica.Constants.pi"


def to_python(expr: sp.Basic) -> str:
    """Python source for an expression (``math.`` functions, conditional expressions)."""
    return _Python().doprint(expr)


def to_modelica(expr: sp.Basic) -> str:
    return _Modelica().doprint(expr)
