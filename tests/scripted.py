"""A scripted LLM backend (test double): replies from a list, records every call."""
from __future__ import annotations

from typing import Any

from conceptwright.llm.base import Completion, LLMError, Message, Usage


class ScriptedLLM:
    provider = "scripted"

    def __init__(self, replies: list[str | Exception], name: str = "scripted") -> None:
        self.replies = list(replies)
        self.name = name
        self.calls: list[dict[str, Any]] = []

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None,
                 max_tokens: int | None = None, temperature: float = 0.0) -> Completion:
        self.calls.append({"messages": messages, "schema": schema, "max_tokens": max_tokens, "temperature": temperature})
        if not self.replies:
            raise LLMError("script exhausted")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return Completion(text=reply, usage=Usage(input_tokens=sum(len(m.content) for m in messages) // 4,
                                                  output_tokens=len(reply) // 4), latency_s=0.01, model=self.name)
