"""Secrets out of everything we write: API keys and ``Authorization`` values are masked.

``redact(text)`` replaces the keys the backends were given (``register``), the values of
environment variables named like secrets (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``), and what
looks like one (``Bearer ...``, ``sk-...``, ``"api_key": "..."``) with ``***``. It is applied
in one place: every ``LLMError`` message (base.py), the only way a server's words (an error
that echoes the key back) reach status files, session files, summaries, traces' diagnostics,
the chat and the CLI's one-line errors. Requests, keys and headers are never written at all.
"""
from __future__ import annotations

import os
import re
import threading

MASK = "***"
_MIN = 8  # shorter values are placeholders ("k", "none"), not secrets worth masking
_SECRET_ENV = re.compile(r"(?:^|_)(?:API_?KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_PLACEHOLDERS = frozenset({"not-needed", "none", "dummy", "sk-no-key-required"})
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"\bsk-[A-Za-z0-9_*-]{6,}"),
    re.compile(r"(?i)((?:api[_-]?key|authorization|x-api-key|access[_-]?token)[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)(?!(?:bearer|basic)\s)[^\"'\s,;}]{6,}"),
)
_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str | None) -> None:
    """Mask ``secret`` wherever ``redact`` runs from now on."""
    if isinstance(secret, str) and len(secret) >= _MIN and secret.lower() not in _PLACEHOLDERS:
        with _lock:
            _known.add(secret)


def _secrets() -> list[str]:
    found = {v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= _MIN and v.lower() not in _PLACEHOLDERS}
    with _lock:
        found |= _known
    return sorted(found, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every known or recognisable secret replaced by ``***``."""
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[1].sub(MASK, text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + MASK, text)
