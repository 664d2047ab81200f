"""What the loop says while it works, for whoever listens (in the manner of instructor's hooks).

Events, in order per attempt: ``attempt_started`` (attempt, temperature, kind: first, repair or
restart), ``reply_received`` (tokens, seconds, finish reason), ``fixes_applied`` (the fixes
and the rules that fired), ``diagnostics`` (error and warning counts, the diagnostics),
``attempt_finished`` (the trace record); once per run, ``stopped`` (reason, ok, attempts).
The trace writer, progress bars, the chat and batch UIs all subscribe the same way.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

EventKind = Literal["attempt_started", "reply_received", "fixes_applied", "diagnostics", "attempt_finished", "stopped"]
KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]


class Event(BaseModel):
    kind: EventKind
    run_id: str
    target: str
    attempt: int  # 0 = first try; for "stopped", the number of attempts
    data: dict[str, Any] = Field(default_factory=dict)


Handler = Callable[[Event], None]


class Hooks:
    """Subscribers by event kind ("*" for all). A handler that raises is reported as a warning
    and the run goes on: a broken progress bar must not lose a model."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def on(self, kind: str, handler: Handler) -> Handler:
        if kind != "*" and kind not in KINDS:
            raise ValueError(f"unknown event '{kind}': {', '.join(KINDS)} or *")
        self._handlers.setdefault(kind, []).append(handler)
        return handler

    def off(self, kind: str, handler: Handler) -> None:
        self._handlers.get(kind, []).remove(handler)

    def emit(self, kind: EventKind, *, run_id: str, target: str, attempt: int, **data: Any) -> None:
        handlers = [*self._handlers.get(kind, []), *self._handlers.get("*", [])]
        if not handlers:
            return
        event = Event(kind=kind, run_id=run_id, target=target, attempt=attempt, data=data)
        for handler in handlers:
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - a subscriber's bug is not the run's
                warnings.warn(f"event handler {getattr(handler, '__name__', handler)!r} failed on {kind}: {exc}",
                              RuntimeWarning, stacklevel=2)
