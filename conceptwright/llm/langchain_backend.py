"""Any LangChain chat model (``langchain_core`` BaseChatModel) as a backend."""
from __future__ import annotations

import json
import time
from typing import Any

from .base import Completion, LLMError, Message, Usage, estimate_tokens
from .retry import with_retries


class LangChainBackend:
    """Wraps a BaseChatModel. With a schema, the model's native structured output is
    used when it has one (``with_structured_output(..., method="json_schema")``);
    otherwise the schema rides in the prompt and the reply is parsed by the caller."""

    provider = "langchain"

    def __init__(self, chat_model: Any, *, name: str | None = None, retries: int = 2, structured: bool = True) -> None:
        self.chat_model = chat_model
        self.name = name or f"langchain:{type(chat_model).__name__}"
        self.retries = retries
        self.structured = structured

    @staticmethod
    def _to_lc(messages: list[Message]) -> list[Any]:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        return [kinds[m.role](content=m.content) for m in messages]

    def _structured(self, lc_messages: list[Any], schema: dict[str, Any]) -> tuple[str, Any] | None:
        try:
            runnable = self.chat_model.with_structured_output(schema, method="json_schema", include_raw=True)
        except (NotImplementedError, TypeError, ValueError):
            return None
        out = runnable.invoke(lc_messages)
        parsed, raw = out.get("parsed"), out.get("raw")
        text = json.dumps(parsed) if parsed is not None else str(getattr(raw, "content", "") or "")
        return text, raw

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> Completion:
        lc_messages = self._to_lc(messages)
        start = time.perf_counter()

        def call() -> tuple[str, Any, bool]:
            if schema is not None and self.structured:
                got = self._structured(lc_messages, schema)
                if got is not None:
                    return got[0], got[1], True
                self.structured = False
            msg = self.chat_model.invoke(lc_messages)
            content = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
            return content, msg, False

        try:
            text, raw, constrained = with_retries(call, retries=self.retries)
        except Exception as exc:
            raise LLMError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        meta = getattr(raw, "usage_metadata", None) or {}
        if meta:
            usage = Usage(input_tokens=meta.get("input_tokens", 0), output_tokens=meta.get("output_tokens", 0))
        else:
            prompt = sum(estimate_tokens(m.content) for m in messages)
            usage = Usage(input_tokens=prompt, output_tokens=estimate_tokens(text), estimated=True)
        return Completion(
            text=text, usage=usage, latency_s=time.perf_counter() - start, model=self.name, constrained=constrained
        )
