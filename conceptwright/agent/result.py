"""The result of one generate() run."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..llm.base import Usage
from ..core.diagnostics import Diagnostic
from .search import SearchRecord
from .trace import AttemptRecord


class Result(BaseModel):
    ok: bool
    target: str
    strategy: str
    model: str
    run_id: str
    artefacts: dict[str, str | bytes] = Field(default_factory=dict)  # of the best attempt
    conceptual: Any = None  # the best attempt's conceptual model (JSON data)
    diagnostics: list[Diagnostic] = Field(default_factory=list)  # of the best attempt
    rules: list[str] = Field(default_factory=list)  # named rules that fired on any attempt
    facts: dict[str, Any] = Field(default_factory=dict)  # key figures of the best attempt's artefact (job-defined)
    usage: Usage = Field(default_factory=Usage)  # summed over all attempts
    trace: list[AttemptRecord] = Field(default_factory=list)
    stop_reason: str = ""
    best_attempt: int = 0
    seconds: float = 0.0
    search: SearchRecord | None = None  # test-time search (samples > 1): samples drawn, tokens each, chosen and why

    @property
    def attempts(self) -> int:
        return len(self.trace)

    @property
    def llm_seconds(self) -> float:
        """Seconds in the LLM: the attempts, plus the samples the search drew and did not choose."""
        drawn = sum(s.seconds for s in self.search.samples if s.index != self.search.chosen) if self.search else 0.0
        return sum(r.latency_s for r in self.trace) + drawn

    @property
    def repairs(self) -> int:
        return max(0, len(self.trace) - 1)
