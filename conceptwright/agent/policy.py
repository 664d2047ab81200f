"""When to stop repairing."""
from __future__ import annotations

from pydantic import BaseModel

from .protocol import Outcome
from ..core.diagnostics import errors


class StopPolicy(BaseModel):
    """Stop when valid; when a round repeats the same diagnostics (after ``restarts`` fresh
    starts: small models copy their previous answer however the repair is worded); when the
    error count has not dropped below its best for ``patience`` rounds; or at a budget."""

    max_repairs: int = 3
    max_tokens: int | None = None  # input + output tokens over the whole run
    max_seconds: float | None = None
    patience: int = 2
    restarts: int = 1  # fresh starts (first prompt + the problems, no previous answer) when a repair repeats itself
    restart_temperature: float = 0.8

    def decide(self, history: list[Outcome], tokens: int, seconds: float) -> str | None:
        last = history[-1]
        if last.ok:
            return "valid"
        if len(history) > 1 and last.diagnostics and _keys(last) == _keys(history[-2]):
            return "no_progress_same_diagnostics"
        if len(history) > self.patience:
            best_before = min(o.error_count for o in history[: -self.patience])
            if min(o.error_count for o in history[-self.patience :]) >= best_before:
                return "no_progress"
        if len(history) - 1 >= self.max_repairs:
            return "max_repairs"
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return "token_budget"
        if self.max_seconds is not None and seconds >= self.max_seconds:
            return "time_budget"
        return None


def _keys(outcome: Outcome) -> set[tuple[str, str | None, str | None]]:
    return {d.key() for d in errors(outcome.diagnostics)}
