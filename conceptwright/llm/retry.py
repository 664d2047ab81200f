"""Bounded retries with exponential backoff for transport faults only (not the repair loop).

What is retried (``is_transient``): timeouts, refused or dropped connections, a reply cut off
mid-body, HTTP 408/409/429 and 5xx. A 429 or 503 that says ``Retry-After`` is waited for as
it asks (up to ``max_retry_after`` seconds; a longer wait is not retried). Nothing else is:
a bad request, a refused key, a reply of the wrong shape, or a bug in our own code (KeyError,
TypeError ...) fails at once, and content faults (bad JSON, an empty reply) go to the repair
loop, which is not this module's business.

Settings (environment, read when a backend is made): ``CONCEPTWRIGHT_LLM_RETRIES`` (3),
``CONCEPTWRIGHT_LLM_BACKOFF`` (first wait, 0.5 s), ``CONCEPTWRIGHT_LLM_BACKOFF_MAX`` (8 s),
``CONCEPTWRIGHT_LLM_MAX_RETRY_AFTER`` (60 s).
"""
from __future__ import annotations

import email.utils
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

T = TypeVar("T")

RETRY_STATUS = frozenset({408, 409, 429})  # and every 5xx
# httpx / httpx2 / httpcore transport errors that a second try can cure (not UnsupportedProtocol,
# LocalProtocolError, InvalidURL: those are ours)
_HTTP_TRANSIENT = frozenset({
    "TimeoutException", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "NetworkError", "ConnectError",
    "ReadError", "WriteError", "CloseError", "RemoteProtocolError", "ProxyError",
})


class TransientError(Exception):
    """A transport fault a backend noticed itself (a reply cut off mid-body); always retried."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetryAfterTooLong(Exception):
    """The server asked to wait longer than we are willing to (``max_retry_after``)."""


@dataclass(frozen=True)
class RetrySettings:
    retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    @classmethod
    def from_env(cls, **overrides: Any) -> "RetrySettings":
        def num(name: str, default: float) -> float:
            raw = os.environ.get(name, "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                return default

        values = {
            "retries": max(0, int(num("CONCEPTWRIGHT_LLM_RETRIES", cls.retries))),
            "base_delay": max(0.0, num("CONCEPTWRIGHT_LLM_BACKOFF", cls.base_delay)),
            "max_delay": max(0.0, num("CONCEPTWRIGHT_LLM_BACKOFF_MAX", cls.max_delay)),
            "max_retry_after": max(0.0, num("CONCEPTWRIGHT_LLM_MAX_RETRY_AFTER", cls.max_retry_after)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def is_transient(exc: BaseException) -> bool:
    """True for a fault of the transport or an overloaded server, which a later try may not meet."""
    if isinstance(exc, RetryAfterTooLong):
        return False
    if isinstance(exc, (TransientError, TimeoutError, ConnectionError, socket.timeout)):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        openai = None  # type: ignore[assignment]
    if openai is not None:
        if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
            return True
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            return code in RETRY_STATUS or code >= 500
        if isinstance(exc, openai.OpenAIError):
            return False
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in ("httpx", "httpx2", "httpcore") and cls.__name__ in _HTTP_TRANSIENT:
            return True
    code = _status(exc)  # other clients' HTTP errors (LangChain providers ...)
    if code is not None:
        return code in RETRY_STATUS or code >= 500
    return False


def retry_after(exc: BaseException) -> float | None:
    """The wait the server asked for (``retry-after-ms``, ``Retry-After`` seconds or date), if any."""
    if isinstance(exc, TransientError):
        return exc.retry_after
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        if name == "retry-after":
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            return max(0.0, when.timestamp() - time.time())
    return None


def with_retries(
    call: Callable[[], T],
    *,
    retries: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    max_retry_after: float = 60.0,
    retry_on: tuple[type[BaseException], ...] | Callable[[BaseException], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Run ``call``; on a transient fault (``is_transient``, or ``retry_on``: exception types or a
    predicate) wait 0.5, 1, 2 ... s (+ up to 10% jitter, capped at ``max_delay``) or what the
    server's ``Retry-After`` asks, and try again, ``retries`` times at most. The last error is
    raised as it was; any other error is raised at once. A ``Retry-After`` beyond
    ``max_retry_after`` stops the retries (``RetryAfterTooLong``, its cause the server's error)."""
    if retry_on is None:
        transient: Callable[[BaseException], bool] = is_transient
    elif isinstance(retry_on, tuple):
        types = retry_on
        transient = lambda exc: isinstance(exc, types)  # noqa: E731
    else:
        transient = retry_on

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc) if exc is not None else None
        if asked is not None:
            delay = asked
        else:
            delay = min(max_delay, base_delay * 2 ** (state.attempt_number - 1)) * (1 + 0.1 * random.random())
        if on_retry is not None and exc is not None:
            on_retry(exc, delay)
        return delay

    def guarded() -> T:
        try:
            return call()
        except BaseException as exc:
            asked = retry_after(exc) if transient(exc) else None
            if asked is not None and asked > max_retry_after:
                raise RetryAfterTooLong(
                    f"the server asks to wait {asked:.0f} s before trying again (more than {max_retry_after:.0f} s)"
                ) from exc
            raise

    retrying = Retrying(
        stop=stop_after_attempt(max(0, retries) + 1),
        wait=wait,
        retry=retry_if_exception(transient),
        sleep=sleep,
        reraise=True,
    )
    return retrying(guarded)
