"""openai SDK backend: the OpenAI API and any OpenAI-compatible server (``base_url``).

With a schema it asks for strict structured outputs (``json_schema``); a server that
rejects that is asked again with ``json_object`` and then with plain text, and the
fallback is remembered. Timeouts and transport retries (with backoff) are the SDK's own.
"""
from __future__ import annotations

import os
import time
from typing import Any, Literal

from .base import Completion, LLMError, Message, Usage
from ..core.jsonschema import to_strict

Mode = Literal["json_schema", "json_object", "text"]
_MODES: tuple[Mode, ...] = ("json_schema", "json_object", "text")


class OpenAIBackend:
    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        structured: Mode = "json_schema",
        client: Any | None = None,
        **client_kwargs: Any,
    ) -> None:
        import openai

        self.model = model
        self.name = f"openai:{model}"
        self.mode: Mode = structured
        if client is None:
            base_url = base_url or os.environ.get("OPENAI_BASE_URL")
            api_key = api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                if base_url:  # local OpenAI-compatible servers usually take any key
                    api_key = "not-needed"
                else:
                    raise LLMError("openai backend: set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)")
            client = openai.OpenAI(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries, **client_kwargs
            )
        self.client = client

    def _response_format(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is None or self.mode == "text":
            return None
        if self.mode == "json_object":
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {"name": "conceptual_model", "schema": to_strict(schema), "strict": True}}

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> Completion:
        import openai

        base_msgs = [m.model_dump() for m in messages]
        start = time.perf_counter()
        while True:
            msgs = base_msgs
            if schema is not None and self.mode == "json_object":
                # json_object mode requires the word JSON in the prompt (also after degrading
                # from json_schema within this call); make sure it is there
                msgs = msgs + [{"role": "system", "content": "Answer with one JSON object only."}]
            kwargs: dict[str, Any] = {"model": self.model, "messages": msgs, "temperature": temperature}
            if max_tokens:
                kwargs["max_tokens"] = max_tokens
            fmt = self._response_format(schema)
            if fmt is not None:
                kwargs["response_format"] = fmt
            try:
                resp = self.client.chat.completions.create(**kwargs)
                break
            except openai.BadRequestError as exc:
                if fmt is None or self.mode == "text":
                    raise LLMError(f"{self.name}: {exc}") from exc
                self.mode = _MODES[_MODES.index(self.mode) + 1]  # server lacks this mode: degrade
            except openai.OpenAIError as exc:  # after the SDK's own retries
                raise LLMError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        latency = time.perf_counter() - start
        choice = resp.choices[0]
        usage = resp.usage
        return Completion(
            text=choice.message.content or "",
            usage=Usage(
                input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            ),
            latency_s=latency,
            model=self.name,
            finish_reason=choice.finish_reason,
            constrained=schema is not None and self.mode == "json_schema",
        )
