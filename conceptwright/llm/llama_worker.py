"""The process a local GGUF model runs in.

llama.cpp is C++: a bad kernel (the AMX crash), an abort on a broken file or the OOM killer
ends the process it runs in. So the model is loaded and decoded in a child process
(a fresh ``python`` running ``_main`` below) that serves requests over a pipe; when it
dies, the parent raises an ``LLMError`` that names the model, the signal and what it was
doing, instead of dying silently with exit 139. The child is a fresh interpreter (no fork,
no re-import of the caller's ``__main__``), ignores Ctrl-C (the parent decides), and exits
when the parent goes away (its pipe closes).

Protocol: pickled dicts over ``multiprocessing.connection.Connection`` on two pipes. The
first message from the child is the load result; then one reply per request.
"""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..core.proc import describe_exit
from . import cpu
from .base import LLMError


class WorkerConfig(BaseModel, frozen=True):
    """How the model is loaded; equal configs share one worker process."""

    path: str
    n_ctx: int
    n_threads: int
    seed: int = 0
    extra_buffers: bool | None = None  # None: decided here from the CPU and the llama.cpp build


# --------------------------------------------------------------------------- child side


def load_llama(config: WorkerConfig) -> tuple[Any, dict[str, Any]]:
    """Load the GGUF in this process; returns the Llama and what was decided (for doctor)."""
    import llama_cpp
    import llama_cpp.llama_cpp as low

    system_info = low.llama_print_system_info().decode(errors="replace").strip()
    use_extra, why = cpu.extra_buffers(config.extra_buffers, system_info=system_info)
    info: dict[str, Any] = {"llama_cpp_version": getattr(llama_cpp, "__version__", "?"), "system_info": system_info,
                            "extra_buffers": use_extra, "extra_buffers_reason": why, "n_ubatch": 512}
    fields = {name for name, *_ in low.llama_model_params._fields_}
    kwargs: dict[str, Any] = {}
    original = low.llama_model_default_params
    if not use_extra:
        if "use_extra_bufts" in fields:
            def default_params() -> Any:
                params = original()
                params.use_extra_bufts = False
                return params
            low.llama_model_default_params = default_params  # read once by Llama.__init__
        else:  # an old llama-cpp-python: one token per micro-batch never reaches the AMX kernel
            kwargs["n_ubatch"] = 1
            info["n_ubatch"] = 1
    try:
        llama = llama_cpp.Llama(
            model_path=config.path, n_ctx=config.n_ctx, n_threads=config.n_threads,
            # prompt threads follow n_threads: spinning batch threads on a busy machine are slow
            n_threads_batch=config.n_threads, seed=config.seed, verbose=False, **kwargs,
        )
    finally:
        low.llama_model_default_params = original
    return llama, info


def _complete(llama: Any, req: dict[str, Any], grammars: dict[str, Any]) -> dict[str, Any]:
    """One chat completion; with ``schema_json``, decoding is held to the schema by the request's
    ``grammar_engine``: llama.cpp's GBNF grammar (``gbnf``) or llguidance's token masks
    (``llguidance``, when installed: a compiled JSON-schema matcher, mask per step in Rust).
    ``prefix_cache``: keep the KV cache of the previous prompt, so a repair that repeats the
    first prompt decodes only what is new (llama-cpp-python reuses the longest common prefix)."""
    grammar, processors = None, None
    if req.get("schema_json"):
        engine = req.get("grammar_engine") or "gbnf"
        key = f"{engine}:{req['schema_json']}"
        if key not in grammars:
            try:
                grammars[key] = _llguidance_grammar(req["schema_json"]) if engine == "llguidance" else _gbnf(req["schema_json"])
            except Exception as exc:  # noqa: BLE001 - the converters raise assorted errors on unsupported schemas
                return {"ok": False, "kind": "grammar", "error": f"the schema cannot become a grammar: {exc}"}
        if engine == "llguidance":
            processors = [_MaskProcessor(_lltokenizer(llama, grammars), grammars[key], llama.n_vocab())]
        else:
            grammar = grammars[key]
    if not req.get("prefix_cache", False):
        llama.reset()
    kept = [int(t) for t in llama._input_ids]  # the KV state's tokens before this call (none after a reset)
    llama.set_seed(req["seed"])
    kwargs = {"messages": req["messages"], "grammar": grammar, "logits_processor": processors,
              "max_tokens": req.get("max_tokens"), "temperature": req.get("temperature", 0.0), "seed": req["seed"]}
    try:
        out = _timed(llama, kwargs) if req.get("timing") else llama.create_chat_completion(**kwargs)
    except ValueError as exc:  # e.g. the prompt is longer than the context window
        return {"ok": False, "kind": "context", "error": str(exc)}
    return {"ok": True, "out": out, "cache": {"reused_tokens": _reused(kept, llama, out)}}


def _reused(kept: list[int], llama: Any, out: dict[str, Any]) -> int:
    """Prompt tokens this call took from the KV state it found: the tokens the state held before
    that the new prompt starts with (llama-cpp-python decodes only the rest), at most the prompt."""
    now = [int(t) for t in llama._input_ids]
    n = 0
    for a, b in zip(kept, now):
        if a != b:
            break
        n += 1
    prompt = (out.get("usage") or {}).get("prompt_tokens") or n
    return min(n, prompt)


def _timed(llama: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A streamed completion in the plain reply's shape, plus when the first piece came (the
    prompt's decode) and how long the rest took (benchmarks: time per output token)."""
    start = time.perf_counter()
    first, parts, finish = None, [], None
    for chunk in llama.create_chat_completion(stream=True, **kwargs):
        choice = chunk["choices"][0]
        if choice["delta"].get("content"):
            first = first or time.perf_counter()
            parts.append(choice["delta"]["content"])
        finish = choice.get("finish_reason") or finish
    end = time.perf_counter()
    text = "".join(parts)
    n = len(llama.tokenize(text.encode(), add_bos=False, special=False))
    return {"choices": [{"message": {"content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 0, "completion_tokens": n},
            "timing": {"first_s": (first or end) - start, "rest_s": end - (first or end), "tokens": n}}


def _gbnf(schema_json: str) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


def _llguidance_grammar(schema_json: str) -> str:
    from llguidance import LLMatcher

    grammar = LLMatcher.grammar_from_json_schema(schema_json, defaults={"whitespace_flexible": False})
    error = LLMatcher.validate_grammar(grammar)
    if error:
        raise ValueError(error)
    return grammar


def _lltokenizer(llama: Any, cache: dict[str, Any]) -> Any:
    """llguidance's view of the model's vocabulary, built once per worker (about a second)."""
    if "__lltokenizer__" not in cache:
        from llguidance.llamacpp import lltokenizer_from_vocab
        import llama_cpp

        cache["__lltokenizer__"] = lltokenizer_from_vocab(llama_cpp.llama_model_get_vocab(llama.model), n_vocab=llama.n_vocab())
    return cache["__lltokenizer__"]


class _MaskProcessor:
    """A llama-cpp-python logits processor: tokens the JSON schema does not allow get -inf."""

    def __init__(self, tokenizer: Any, grammar: str, n_vocab: int) -> None:
        from llguidance import LLMatcher
        import numpy as np

        self.np = np
        self.matcher = LLMatcher(tokenizer, grammar, log_level=0)
        self.mask = np.zeros(((n_vocab + 31) // 32,), dtype=np.int32)
        self.start: int | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        np = self.np
        if self.start is None:
            self.start = len(input_ids)
        elif len(input_ids) > self.start:
            self.matcher.consume_tokens([int(t) for t in input_ids[self.start:]])
            self.start = len(input_ids)
        if self.matcher.is_error():
            return scores  # let decoding end; our JSON parser and the repair loop report the reply
        self.matcher.unsafe_compute_mask_ptr(self.mask.ctypes.data, self.mask.nbytes)
        allowed = np.unpackbits(self.mask.view(np.uint8), bitorder="little")[: scores.shape[-1]].astype(bool)
        scores[~allowed] = -np.inf
        return scores


def _bench(llama: Any, req: dict[str, Any]) -> dict[str, Any]:
    """Time a prompt of ``prompt_tokens`` tokens (one batched decode) and ``gen_tokens`` greedy steps."""
    words = ("the model reads a long description of a library with books writers and members " * 64).split()
    tokens = llama.tokenize(" ".join(words).encode(), add_bos=True)[: req["prompt_tokens"]]
    llama.reset()
    start = time.perf_counter()
    llama.eval(tokens)
    prompt_s = time.perf_counter() - start
    start = time.perf_counter()
    n = 0
    for n, _ in enumerate(llama.generate([], temp=0.0, reset=False), start=1):
        if n >= req["gen_tokens"]:
            break
    gen_s = time.perf_counter() - start
    return {"ok": True, "prompt_tokens": len(tokens), "prompt_s": prompt_s, "gen_tokens": n, "gen_s": gen_s}


def serve(conn_in: Connection, conn_out: Connection, config: WorkerConfig) -> None:
    """The child's loop: load, report, then answer requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        llama, info = load_llama(config)
    except Exception as exc:  # llama.cpp raises ValueError on a bad file
        conn_out.send({"ok": False, "kind": "load", "error": str(exc) or type(exc).__name__})
        return
    conn_out.send({"ok": True, "info": info})
    grammars: dict[str, Any] = {}
    while True:
        try:
            req = conn_in.recv()
        except (EOFError, OSError):
            return
        if req is None:
            return
        try:
            if req["op"] == "complete":
                reply = _complete(llama, req, grammars)
            elif req["op"] == "bench":
                reply = _bench(llama, req)
            else:
                reply = {"ok": False, "kind": "protocol", "error": f"unknown request {req['op']!r}"}
        except Exception as exc:  # a Python error in llama-cpp-python: report it, keep serving
            reply = {"ok": False, "kind": "other", "error": f"{type(exc).__name__}: {exc}"}
        conn_out.send(reply)


def _main(argv: list[str]) -> None:
    from ..core.proc import die_with_parent

    die_with_parent()  # a model process never outlives the program that asked for it
    read_fd, write_fd = int(argv[0]), int(argv[1])
    config = WorkerConfig.model_validate_json(argv[2])
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False), config)


# --------------------------------------------------------------------------- parent side


# the child imports this very copy of conceptwright (a working tree or site-packages), wherever it runs
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from conceptwright.llm.llama_worker import _main; _main(sys.argv[2:])"


class LlamaWorker:
    """One child process holding one loaded model; requests are serialised by a lock."""

    def __init__(self, config: WorkerConfig, name: str) -> None:
        self.config = config
        self.name = name
        self.info: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stderr = tempfile.TemporaryFile()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float | None = None) -> dict[str, Any]:
        """Start the child and wait until the model is loaded; returns the load info."""
        with self._lock:
            if self.alive:
                return self.info
            return self._start(timeout_s)

    def _start(self, timeout_s: float | None) -> dict[str, Any]:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._stderr.seek(0)
        self._stderr.truncate()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, _PACKAGE_ROOT, str(to_child_r), str(from_child_w),
                 self.config.model_dump_json()],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self._stderr, start_new_session=True,  # Ctrl-C goes to us, not to the model
            )
        except OSError as exc:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            raise LLMError(f"{self.name}: cannot start the model process: {exc}") from None
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        reply = self._wait(timeout_s, "loading")
        if not reply.get("ok"):
            self._stop()
            raise LLMError(f"could not load GGUF model {self.config.path}: {reply.get('error')}")
        self.info = reply["info"]
        return self.info

    def request(self, req: dict[str, Any], *, timeout_s: float | None = None, doing: str = "decoding") -> dict[str, Any]:
        """Send one request and wait for its reply; a dead or silent child is an LLMError."""
        with self._lock:
            if not self.alive:
                if self._proc is not None:  # it died while idle: say so once, then start afresh next time
                    self._dead(doing)
                self._start(None)
            try:
                self._send.send(req)
            except (BrokenPipeError, OSError):
                self._dead(doing)
            return self._wait(timeout_s, doing)

    def _wait(self, timeout_s: float | None, doing: str) -> dict[str, Any]:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                if self._recv.poll(0.2):
                    return self._recv.recv()
            except (EOFError, OSError):
                self._dead(doing)
            if self._proc is None or self._proc.poll() is not None:
                self._dead(doing)
            if deadline is not None and time.monotonic() > deadline:
                self._stop()
                raise LLMError(f"{self.name}: no answer within {timeout_s:.0f} s while {doing}; the model process was stopped")

    def _dead(self, doing: str) -> None:
        proc, code = self._proc, None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # its pipe broke but it lives on: stop it
                code = None
        self._stop()
        self._stderr.seek(0)
        lines = [ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        last = f"; it said: {lines[-1].strip()[:200]}" if lines else ""
        raise LLMError(
            f"{self.name}: the model process died with {describe_exit(code)} while {doing} "
            f"{Path(self.config.path).name}{last} (run 'conceptwright doctor')"
        )

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        for conn in (getattr(self, "_send", None), getattr(self, "_recv", None)):
            if conn is not None:
                conn.close()
        self._send = self._recv = None  # type: ignore[assignment]
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Ask the child to exit (it also exits when this process does)."""
        with self._lock:
            if self.alive:
                try:
                    self._send.send(None)
                    self._proc.wait(timeout=5)  # type: ignore[union-attr]
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._stop()


_WORKERS: dict[WorkerConfig, LlamaWorker] = {}
_WORKERS_LOCK = threading.Lock()


def worker_for(config: WorkerConfig, name: str) -> LlamaWorker:
    """The one worker of this process for ``config`` (a model is loaded once, whatever the backends)."""
    with _WORKERS_LOCK:
        worker = _WORKERS.get(config)
        if worker is None:
            worker = _WORKERS[config] = LlamaWorker(config, name)
        return worker


@atexit.register
def close_all() -> None:
    """Stop every worker of this process."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for worker in workers:
        worker.close()


if __name__ == "__main__":
    _main(sys.argv[1:])
