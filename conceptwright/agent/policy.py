"""When to stop repairing."""
from __future__ import annotations

from pydantic import BaseModel, Field

from .protocol import Outcome
from ..core.diagnostics import errors


class StopPolicy(BaseModel):
    """Stop when valid; when a round repeats the same diagnostics (after ``restarts`` fresh
    starts: small models copy their previous answer however the repair is worded); when for
    ``patience`` rounds neither the error count dropped below its best nor the job's score (how
    much of the task an attempt holds: xmi counts objects) rose above its best; or at a budget.
    A call that continues an unfinished answer (a long model written in parts) is not a repair:
    up to ``max_continuations`` of them come on top of ``max_repairs``; tokens and seconds still bound all."""

    max_repairs: int = 3
    max_tokens: int | None = None  # input + output tokens over the whole run
    max_seconds: float | None = None
    patience: int = 2
    restarts: int = 1  # fresh starts (first prompt + the problems, no previous answer) when a repair repeats itself
    max_continuations: int = 6  # calls that continue an unfinished answer, beside the repairs
    restart_temperature: float = 0.8
    samples: int = Field(1, ge=1, le=64)  # test-time search: first answers drawn (agent/search.py); 1 = no search
    sample_temperature: float = 0.7  # of the samples after the first (the first is at temperature 0)
    sample_seed: int = 1000  # sample i > 0 gets seed sample_seed + i where the backend takes a seed
    sample_until_valid: bool = False  # stop drawing at the first valid sample after the first
    last_resort_keep: float = 0.5  # the last resort may give up content only while it keeps this share of the best score

    def decide(self, history: list[Outcome], tokens: int, seconds: float) -> str | None:
        last = history[-1]
        if last.ok and not last.incomplete:  # a valid answer still to be continued (xmi mentions) goes on
            return "valid"
        if len(history) > 1 and last.diagnostics and _keys(last) == _keys(history[-2]) and last.score <= history[-2].score:
            return "no_progress_same_diagnostics"
        if len(history) > self.patience:  # progress: fewer errors, or more of the task (score) than ever before
            before, recent = history[: -self.patience], history[-self.patience :]
            fewer = min(o.error_count for o in recent) < min(o.error_count for o in before)
            more = max(o.score for o in recent) > max(o.score for o in before)
            if not fewer and not more:
                return "no_progress"
        continued = sum(o.continued for o in history)
        if len(history) - 1 - continued >= self.max_repairs:
            if not (last.incomplete and continued < self.max_continuations):
                return "max_repairs"
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return "token_budget"
        if self.max_seconds is not None and seconds >= self.max_seconds:
            return "time_budget"
        return None


def _keys(outcome: Outcome) -> set[tuple[str, str | None, str | None]]:
    return {d.key() for d in errors(outcome.diagnostics)}
