"""The one small protocol every LLM backend implements."""
from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class Message(BaseModel):
    """One chat message."""

    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    """Token counts; backends that cannot count leave estimates (``estimated=True``)."""

    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            estimated=self.estimated or other.estimated,
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


class Completion(BaseModel):
    """What a backend returns for one call."""

    text: str
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    model: str = ""
    finish_reason: str | None = None
    constrained: bool = False  # True when the schema was enforced by the backend


class LLMError(RuntimeError):
    """A backend failed after its retries (transport, server or load error). Its message never
    holds an API key or an Authorization value (``redact``), whatever the server echoed back:
    it ends up in status files, session files and on the screen."""

    def __init__(self, *args: object) -> None:
        from .redact import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


@runtime_checkable
class LLM(Protocol):
    """Messages and an optional JSON schema in; text, usage and latency out."""

    name: str  # e.g. "smollm2", "gguf:qwen2.5-coder-1.5b-instruct-q4_k_m", "openai:gpt-4o-mini"
    provider: str  # OpenTelemetry gen_ai.provider.name: "llama_cpp", "openai", "langchain", ...

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> Completion: ...


def as_messages(messages: list[Message] | list[dict[str, str]]) -> list[Message]:
    return [m if isinstance(m, Message) else Message(**m) for m in messages]


def estimate_tokens(text: str) -> int:
    """Rough count (4 characters a token) for backends that report none."""
    return max(1, len(text) // 4) if text else 0
