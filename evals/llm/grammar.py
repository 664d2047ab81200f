"""Constrained vs free decoding, and the prompt-prefix cache, on one real xmi prompt, side by side
in one run per model (one model process at a time).

    python -m evals bench-grammar [--models smollm2,gguf:PATH] [--max-tokens 200] [--repeats 2]

Per output token = seconds from the first streamed piece to the last / (output tokens - 1), so
the prompt's decode is not counted. Engines: free (no schema), gbnf (llama.cpp's
grammar from the JSON schema), llguidance (token masks from the schema). The repair call repeats
the first prompt plus the reply and a repair message: with the prefix cache only the new part is
decoded.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from conceptwright import generate
from conceptwright.llm import LlamaCppBackend, resolve
from conceptwright.llm.base import Completion, Message, Usage

from ..common import REPORTS, shared_dir, table

SPEC = "The Smith family: father John, mother Jane, sons Tom and Bob."


class _Recorder:
    provider, name = "recorder", "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[list[Message], dict[str, Any] | None]] = []

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None, **_: Any) -> Completion:
        self.calls.append((messages, schema))
        return Completion(text="{}", usage=Usage(), latency_s=0.0, model=self.name)


def xmi_prompt() -> tuple[list[Message], dict[str, Any]]:
    rec = _Recorder()
    generate("xmi", SPEC, model=rec, metamodel=shared_dir() / "examples" / "metamodels" / "Families.ecore", max_repairs=0)
    messages, schema = rec.calls[0]
    assert schema is not None
    return messages, schema


def _backend(model: str, engine: str, prefix_cache: bool) -> LlamaCppBackend:
    base = resolve(model)
    assert isinstance(base, LlamaCppBackend), f"{model} is not a local GGUF model"
    b = LlamaCppBackend(base.path, name=base.name, n_ctx=4096, grammar_engine=engine, prefix_cache=prefix_cache)
    return b


def measure(model: str, max_tokens: int, repeats: int) -> dict[str, Any]:
    import jsonschema

    messages, schema = xmi_prompt()
    b = _backend(model, "gbnf", False)  # one process: engine and cache are per request
    b.load()
    out: dict[str, Any] = {"model": b.name, "engines": {}}
    for engine in ("free", "gbnf", "llguidance"):
        runs = []
        for _ in range(repeats):
            r = b.worker.request({"op": "complete", "messages": [m.model_dump() for m in messages], "timing": True,
                                  "schema_json": None if engine == "free" else json.dumps(schema),
                                  "grammar_engine": engine, "max_tokens": max_tokens, "temperature": 0.0, "seed": 0},
                                 timeout_s=None, doing="benchmarking")
            assert r["ok"], r
            text, t = r["out"]["choices"][0]["message"]["content"], r["out"]["timing"]
            try:
                jsonschema.validate(json.loads(text), schema)
                valid = True
            except (ValueError, jsonschema.ValidationError):
                valid = False
            runs.append({"ms": 1000 * t["rest_s"] / max(t["tokens"] - 1, 1), "tokens": t["tokens"], "valid": valid,
                         "first_s": t["first_s"], "text": text})
        out["engines"][engine] = {"tokens": statistics.median(r["tokens"] for r in runs),
                                  "ms_per_token": statistics.median(r["ms"] for r in runs),
                                  "first_s": statistics.median(r["first_s"] for r in runs),
                                  "valid_json": sum(r["valid"] for r in runs), "runs": len(runs),
                                  "sample": runs[0]["text"][:160]}
    first = b.complete(messages, schema=schema, max_tokens=max_tokens)
    repair = messages + [Message(role="assistant", content=first.text),
                         Message(role="user", content="The model is not valid: object 'x' has no class. Write the whole model again.")]
    timings = {}
    for cached in (False, True, False, True):
        b.grammar_engine, b.prefix_cache = "gbnf", False
        b.complete(messages, schema=schema, max_tokens=4)  # the first prompt is what the cache holds
        b.prefix_cache = cached
        timings.setdefault(cached, []).append(b.complete(repair, schema=schema, max_tokens=1).latency_s)
    out["repair_prompt_s"] = {str(k): statistics.median(v) for k, v in timings.items()}
    b.worker.close()
    return out


def report(results: list[dict[str, Any]], max_tokens: int) -> str:
    rows = []
    for r in results:
        free = r["engines"]["free"]["ms_per_token"]
        for engine, e in r["engines"].items():
            rows.append([r["model"], engine, int(e["tokens"]), f"{e['ms_per_token']:.1f}", f"{1000 / max(e['ms_per_token'], 1e-9):.1f}",
                         f"{e['ms_per_token'] / free:.2f}x", f"{e['valid_json']}/{e['runs']}"])
    cache = [[r["model"], f"{r['repair_prompt_s']['False']:.2f}", f"{r['repair_prompt_s']['True']:.2f}",
              f"{r['repair_prompt_s']['False'] / max(r['repair_prompt_s']['True'], 1e-9):.2f}x"] for r in results]
    return "\n\n".join([
        "# Constrained vs free decoding, and the prefix cache",
        f"One real xmi prompt (Families metamodel, the README's example), greedy, up to {max_tokens} output tokens; "
        "per output token = streamed time after the first piece / (tokens - 1); medians; all settings "
        "alternated in one model process per model. 'valid JSON' = parses and meets the schema.",
        table(["model", "decoding", "output tokens", "ms per output token", "output tok/s", "time per token vs free",
               "valid JSON"], rows),
        "## Repair prompt with and without the prefix cache",
        "A repair call repeats the first prompt, the reply and a repair message; seconds to decode it (one output token).",
        table(["model", "no cache (s)", "prefix cache (s)", "speed-up"], cache),
    ]) + "\n"


def main(args: argparse.Namespace) -> int:
    results = [measure(m, args.max_tokens, args.repeats) for m in args.models.split(",")]
    text = report(results, args.max_tokens)
    path = Path(args.out) if args.out else REPORTS / "bench-grammar.md"
    path.write_text(text)
    (path.with_suffix(".json")).write_text(json.dumps(results, indent=1))
    print(text)
    return 0
