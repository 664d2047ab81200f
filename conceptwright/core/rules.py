"""Named rules: every certain fix and every check that reads the description.

A rule is a function registered with a name (``<target>.<name>``), a one-line purpose and
whether it reads the description's wording. The agent loop collects which rules fired on
each attempt (the trace records them); a rule can be switched off for a run
(``with rules.disabled({"sim.waiting-places"}): ...``, ``CONCEPTWRIGHT_RULES_OFF=a,b`` or
``python -m evals ... --without RULE``), so an eval can measure what each one is worth.

Shapes registered with ``@fix(...)`` (each change is one sentence for the trace):

- ``f(x, ..., fixes: list[str]) -> None | X``: changes in place or returns the changed ``x``, and
  appends to ``fixes``; it fired when it appended (fixes of rules it calls are theirs, not its).
  Off: not called; returns ``None`` or ``x`` unchanged.
- ``f(model) -> list[str]``: returns its sentences. Off: ``[]``.
- ``f(data) -> tuple[data, list[str]]``: returns the changed data and its sentences. Off: ``(data, [])``.

``@check(...)`` on ``f(...) -> list[Diagnostic]``: it fired when it returned any. Off: ``[]``.
"""
from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

ENV = "CONCEPTWRIGHT_RULES_OFF"
F = TypeVar("F", bound=Callable[..., Any])


class Rule(BaseModel, frozen=True):
    name: str  # "<target>.<kebab-name>"
    target: str
    kind: Literal["fix", "check"]
    purpose: str
    reads_description: bool = False


REGISTRY: dict[str, Rule] = {}
_off: ContextVar[frozenset[str] | None] = ContextVar("conceptwright_rules_off", default=None)
_fired: ContextVar[list[str] | None] = ContextVar("conceptwright_rules_fired", default=None)


def _register(target: str, name: str, kind: Literal["fix", "check"], purpose: str, reads_description: bool) -> Rule:
    full = f"{target}.{name}"
    if full in REGISTRY:
        raise ValueError(f"rule {full} is registered twice")
    rule = REGISTRY[full] = Rule(name=full, target=target, kind=kind, purpose=purpose,
                                 reads_description=reads_description)
    return rule


def off() -> frozenset[str]:
    """The rules switched off here: the innermost ``disabled`` block, else the environment."""
    current = _off.get()
    if current is not None:
        return current
    return _parse_env(os.environ.get(ENV, ""))


@functools.lru_cache(maxsize=8)
def _parse_env(value: str) -> frozenset[str]:
    return frozenset(n.strip() for n in value.split(",") if n.strip())


def is_on(name: str) -> bool:
    return name not in off()


def _record(name: str) -> None:
    fired = _fired.get()
    if fired is not None:
        fired.append(name)


_frames: ContextVar[tuple[dict[int, int], ...]] = ContextVar("conceptwright_rule_frames", default=())


def fix(target: str, name: str, purpose: str, *, reads_description: bool = False) -> Callable[[F], F]:
    """Register a certain fix (see the module docstring for the shapes it may have)."""
    rule = _register(target, name, "fix", purpose, reads_description)

    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)
        ret = str(sig.return_annotation)
        in_place = "fixes" in sig.parameters
        position = list(sig.parameters).index("fixes") if in_place else -1
        returns_value = ret not in ("None", "NoneType")

        def nested_done(fixes: list[str], added: int) -> None:
            frames = _frames.get()
            if frames:  # a returned list is usually added to the caller's: key 0 stands for "its own list"
                key = id(fixes) if in_place else 0
                frames[-1][key] = frames[-1].get(key, 0) + added

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if not is_on(rule.name):
                if in_place:
                    return args[0] if returns_value and args else None
                return (args[0], []) if ret.startswith("tuple") else []
            inner: dict[int, int] = {}
            token = _frames.set((*_frames.get(), inner))
            try:
                if in_place:
                    fixes = kwargs["fixes"] if "fixes" in kwargs else args[position]
                    before = len(fixes)
                    out = fn(*args, **kwargs)
                    added = len(fixes) - before
                else:
                    out = fn(*args, **kwargs)
                    fixes = out[1] if isinstance(out, tuple) else out
                    added = len(fixes)
            finally:
                _frames.reset(token)
            if added - inner.get(id(fixes), 0) - (inner.get(0, 0) if in_place else 0) > 0:
                _record(rule.name)
            nested_done(fixes, added)
            return out

        run.rule = rule  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


def register(target: str, name: str, kind: Literal["fix", "check"], purpose: str, *, reads_description: bool = False) -> Rule:
    """Register a rule whose function records itself (``record``) where neither decorator fits."""
    return _register(target, name, kind, purpose, reads_description)


def record(rule: Rule) -> None:
    """Say that ``rule`` fired (for rules registered with ``register``)."""
    _record(rule.name)


def check(target: str, name: str, purpose: str, *, reads_description: bool = True) -> Callable[[F], F]:
    """Register ``f(...) -> list[Diagnostic]`` as a check (by default one that reads the description)."""
    rule = _register(target, name, "check", purpose, reads_description)

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if not is_on(rule.name):
                return []
            out = fn(*args, **kwargs)
            if out:
                _record(rule.name)
            return out

        run.rule = rule  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


@contextmanager
def disabled(names: Iterable[str]) -> Iterator[frozenset[str]]:
    """Switch these rules off inside the block (unknown names are an error: a typo would measure nothing)."""
    names = frozenset(names)
    unknown = sorted(n for n in names if n not in REGISTRY)
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}: see conceptwright.core.rules.REGISTRY")
    token = _off.set(off() | names)
    try:
        yield names
    finally:
        _off.reset(token)


@contextmanager
def collect() -> Iterator[list[str]]:
    """Collect the names of the rules that fire inside the block (in order, repeats kept)."""
    fired: list[str] = []
    token = _fired.set(fired)
    try:
        yield fired
    finally:
        _fired.reset(token)
