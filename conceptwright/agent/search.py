"""Test-time search: N first answers, evaluated alike, ranked; the loop repairs only the best.

The first sample is drawn at temperature 0 (with N = 1 the run is today's run), the others at a
sampling temperature and, where the backend takes one, their own seed. Each sample is judged by
the job's ``evaluate``; they are ranked by: valid first, then with artefacts, then fewer errors,
then the job's agreement with the description (optional ``Job.agreement(outcome) -> float``, e.g.
sim: the share of the description's stated facts the model carries), then the earlier sample.
The same prompt N times lets a local model reuse the prompt's KV cache (llama.cpp prefix cache).
"""
from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, Field

from ..llm.base import LLM, Completion, Message
from .protocol import Job, Outcome


class Sample(BaseModel):
    """One drawn first answer, as the search judged it."""

    index: int
    temperature: float
    seed: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    ok: bool = False
    errors: int = 0
    agreement: float = 0.0


class SearchRecord(BaseModel):
    """What the search did: the samples drawn, which one the loop went on with and why."""

    samples: list[Sample] = Field(default_factory=list)
    chosen: int = 0
    why: str = ""

    @property
    def drawn(self) -> int:
        return len(self.samples)


def agreement(job: Job, outcome: Outcome) -> float:
    """The job's agreement score of an outcome (0.0 for jobs without one, or when it fails)."""
    score = getattr(job, "agreement", None)
    if score is None:
        return 0.0
    try:
        return float(score(outcome))
    except Exception:  # noqa: BLE001 - a tie-breaker must never lose the run
        return 0.0


def rank_key(outcome: Outcome, agree: float, index: int) -> tuple[int, int, int, float, int]:
    """Smaller is better: valid, with artefacts, fewer errors, more agreement, earlier."""
    return (0 if outcome.ok else 1, 0 if outcome.artefacts else 1, outcome.error_count, -agree, index)


CONTENT_SLACK = 0.1  # a sample may carry this much less of the description than the best one and still compete


def choose(outcomes: list[Outcome], agreements: list[float]) -> tuple[int, str]:
    """The best sample's index and one sentence saying why it was chosen. Content first: only samples
    within CONTENT_SLACK of the highest agreement with the description compete (a valid sample that
    drops what the description says does not beat one that keeps it), then ``rank_key``."""
    top = max(agreements, default=0.0)
    competing = [i for i in range(len(outcomes)) if agreements[i] >= top - CONTENT_SLACK]
    best = min(competing, key=lambda i: rank_key(outcomes[i], agreements[i], i))
    o = outcomes[best]
    if len(outcomes) == 1:
        return best, "the only sample"
    others = [i for i in range(len(outcomes)) if i != best]
    if o.ok and not any(outcomes[i].ok for i in others):
        why = "the only valid sample"
    elif o.ok:
        why = "valid" + (f", agreement {agreements[best]:.2f}" if agreements[best] else "") + ", the earliest of the best"
    elif any(outcomes[i].ok for i in others):
        why = (f"{o.error_count} error(s), but it carries the most of the description (agreement {agreements[best]:.2f}); "
               "the valid samples drop content")
    else:
        why = f"{o.error_count} error(s), the fewest" + (f"; agreement {agreements[best]:.2f}" if agreements[best] else "")
    return best, why


def takes_seed(llm: LLM) -> bool:
    """Whether the backend's ``complete`` takes a per-call ``seed`` (local llama.cpp does)."""
    try:
        return "seed" in inspect.signature(llm.complete).parameters
    except (TypeError, ValueError):
        return False


def draw(llm: LLM, messages: list[Message], job: Job, *, temperature: float, seed: int | None) -> Completion:
    """One sample of the first prompt; the seed goes only to backends that take one."""
    kwargs: dict[str, Any] = {"schema": job.schema, "max_tokens": job.max_tokens, "temperature": temperature}
    if seed is not None and takes_seed(llm):
        kwargs["seed"] = seed
    return llm.complete(messages, **kwargs)
