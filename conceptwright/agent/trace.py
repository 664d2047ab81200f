"""One JSONL record per attempt, with OpenTelemetry GenAI attribute names where they exist."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field

from ..core.diagnostics import Diagnostic


class AttemptRecord(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    run_id: str
    attempt: int  # 0 = first try, 1.. = repairs
    target: str
    strategy: str
    prompt_variant: str
    operation: str = Field("chat", serialization_alias="gen_ai.operation.name")
    provider: str = Field(serialization_alias="gen_ai.provider.name")
    model: str = Field(serialization_alias="gen_ai.request.model")
    input_tokens: int = Field(serialization_alias="gen_ai.usage.input_tokens")
    output_tokens: int = Field(serialization_alias="gen_ai.usage.output_tokens")
    finish_reason: str | None = Field(None, serialization_alias="gen_ai.response.finish_reasons")
    latency_s: float
    constrained: bool = False
    messages: list[dict[str, str]]
    raw_output: str
    diagnostics: list[Diagnostic]
    fixes: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)  # named rules that fired on this attempt
    ok: bool
    stop_reason: str | None = None
    sample: int | None = None  # test-time search: which of the N first answers this is (None: no search, or a repair)
    time_unix: float = Field(default_factory=time.time)

    def to_json(self) -> str:
        data: dict[str, Any] = self.model_dump(by_alias=True, mode="json")
        fr = data.get("gen_ai.response.finish_reasons")
        data["gen_ai.response.finish_reasons"] = [fr] if fr else []
        return json.dumps(data, ensure_ascii=False)


class TraceWriter:
    """Appends records to a JSONL file, flushing each, so a killed run keeps what it did."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._fh: TextIO | None = None

    def write(self, record: AttemptRecord) -> None:
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(record.to_json() + "\n")
        self._fh.flush()

    def on_attempt(self, event: Any) -> None:
        """Subscriber of the loop's ``attempt_finished`` event."""
        self.write(event.data["record"])

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
