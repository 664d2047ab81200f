"""openai SDK backend: the OpenAI API and any OpenAI-compatible server (``base_url``).

With a schema it asks for strict structured outputs (``json_schema``); a server that
rejects that is asked again with ``json_object`` and then with plain text, and the
fallback is remembered.

Faults: transport faults (timeouts, dropped connections, a reply cut off, 429 honouring
``Retry-After``, 5xx) are retried with backoff by ``retry.with_retries`` and nothing else is;
when the retries are spent, or on any other server error, ``LLMError`` (one line). A reply
is read against a deadline (the timeout) and a size cap, so an endless one stops; a reply
that is no chat completion is an ``LLMError``; the model's text, however bad (not JSON, the
wrong shape, empty), is returned as it is, for the repair loop. Settings: ``timeout`` or
``CONCEPTWRIGHT_LLM_TIMEOUT`` (120 s), ``max_retries`` or ``CONCEPTWRIGHT_LLM_RETRIES`` and
the backoff of ``retry.RetrySettings``; ``max_reply_bytes`` or ``CONCEPTWRIGHT_LLM_MAX_REPLY_BYTES``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Literal

from . import redact
from .base import Completion, LLMError, Message, Usage
from .retry import RetryAfterTooLong, RetrySettings, TransientError, is_transient, with_retries
from ..core.jsonschema import to_strict

Mode = Literal["json_schema", "json_object", "text"]
_MODES: tuple[Mode, ...] = ("json_schema", "json_object", "text")
DEFAULT_TIMEOUT = 120.0


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class ReplyStopped(LLMError):
    """The reply went on past the size cap or the deadline and was not read to its end."""


class OpenAIBackend:
    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        structured: Mode = "json_schema",
        client: Any | None = None,
        retry: RetrySettings | None = None,
        max_reply_bytes: int | None = None,
        **client_kwargs: Any,
    ) -> None:
        import openai

        self.model = model
        self.name = f"openai:{model}"
        self.mode: Mode = structured
        settings = retry or RetrySettings.from_env(retries=max_retries)
        if client is None:
            base_url = base_url or os.environ.get("OPENAI_BASE_URL")
            api_key = api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                if base_url:  # local OpenAI-compatible servers usually take any key
                    api_key = "not-needed"
                else:
                    raise LLMError("openai backend: set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)")
            else:
                redact.register(api_key)  # never shown in an error, a trace or a status file
            self.timeout = timeout if timeout is not None else _env_float("CONCEPTWRIGHT_LLM_TIMEOUT", DEFAULT_TIMEOUT)
            # retries are ours (transport faults only, Retry-After honoured), not the SDK's
            client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=self.timeout, max_retries=0, **client_kwargs)
        else:
            redact.register(getattr(client, "api_key", None))
            if retry is None and max_retries is None:  # a ready client brings its own (SDK) retries
                settings = dataclasses.replace(settings, retries=0)
            t = timeout if timeout is not None else getattr(client, "timeout", None)
            t = getattr(t, "read", t)
            self.timeout = float(t) if isinstance(t, (int, float)) else DEFAULT_TIMEOUT
        self.retry = settings
        self.max_reply_bytes = max_reply_bytes or int(_env_float("CONCEPTWRIGHT_LLM_MAX_REPLY_BYTES", 0)) or None
        self.client = client

    def _response_format(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is None or self.mode == "text":
            return None
        if self.mode == "json_object":
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {"name": "conceptual_model", "schema": to_strict(schema), "strict": True}}

    def _cap(self, max_tokens: int | None) -> int:
        if self.max_reply_bytes:
            return self.max_reply_bytes
        # a token is a few characters; JSON escapes can make a character six bytes
        return (1 << 20) + 64 * max_tokens if max_tokens else 16 << 20

    def _post(self, kwargs: dict[str, Any], cap: int) -> dict[str, Any]:
        """One request, its body read against the deadline and the cap; the parsed JSON body."""
        deadline = time.monotonic() + self.timeout
        with self.client.chat.completions.with_streaming_response.create(**kwargs) as resp:
            buf = bytearray()
            try:
                for chunk in resp.iter_bytes():
                    buf += chunk
                    if len(buf) > cap:
                        raise ReplyStopped(f"{self.name}: the reply went on past {cap} bytes; stopped reading it")
                    if time.monotonic() > deadline:
                        raise ReplyStopped(f"{self.name}: the reply was still coming after {self.timeout:g} s; "
                                           f"stopped reading it ({len(buf)} bytes)")
            except LLMError:
                raise
            except Exception as exc:
                if is_transient(exc):
                    raise TransientError(f"the reply was cut off after {len(buf)} bytes ({type(exc).__name__})") from exc
                raise
        body = bytes(buf).strip()
        try:
            data = json.loads(body)
        except ValueError:
            if body.startswith(b"{") and not body.endswith(b"}"):  # a close-delimited body cut short
                raise TransientError(f"the reply was cut off after {len(body)} bytes (incomplete JSON)") from None
            raise LLMError(f"{self.name}: the server's reply is not JSON ({len(body)} bytes: "
                           f"{_one_line(body.decode('utf-8', 'replace'), 80)!r})") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"] \
                or not isinstance(data["choices"][0], dict):
            raise LLMError(f"{self.name}: the server's reply is not a chat completion (no choices): "
                           f"{_one_line(body.decode('utf-8', 'replace'), 80)!r}")
        return data

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
        tries = {"n": 0}
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

            def once(kwargs: dict[str, Any] = kwargs) -> dict[str, Any]:
                tries["n"] += 1
                return self._post(kwargs, self._cap(max_tokens))

            try:
                data = with_retries(once, retries=self.retry.retries, base_delay=self.retry.base_delay,
                                    max_delay=self.retry.max_delay, max_retry_after=self.retry.max_retry_after)
                break
            except openai.BadRequestError as exc:
                if fmt is None or self.mode == "text":
                    raise LLMError(f"{self.name}: {_one_line(exc)}") from exc
                self.mode = _MODES[_MODES.index(self.mode) + 1]  # server lacks this mode: degrade
            except LLMError:
                raise
            except RetryAfterTooLong as exc:
                raise LLMError(f"{self.name}: rate limited: {exc}") from exc
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, openai.OpenAIError)):
                    raise  # a bug of ours: let it show as one
                spent = f" after {tries['n']} tries" if is_transient(exc) and tries["n"] > 1 else ""
                raise LLMError(f"{self.name}: {type(exc).__name__}{spent}: {_one_line(exc)}") from exc
        latency = time.perf_counter() - start
        choice = data["choices"][0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        elif content is not None and not isinstance(content, str):
            content = json.dumps(content)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}

        def count(key: str) -> int:
            value = usage.get(key)
            return value if isinstance(value, int) and value >= 0 else 0

        finish = choice.get("finish_reason")
        return Completion(
            text=content or "",
            usage=Usage(input_tokens=count("prompt_tokens"), output_tokens=count("completion_tokens")),
            latency_s=latency,
            model=self.name,
            finish_reason=finish if isinstance(finish, str) else None,
            constrained=schema is not None and self.mode == "json_schema",
        )
