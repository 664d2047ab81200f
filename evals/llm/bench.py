"""Prompt and generation speed of local GGUF models with llama.cpp's extra buffer types on
and off, measured side by side in one run (one model process at a time), so the README's
choice of default rests on numbers from this machine.

    python -m evals bench-llama [--models smollm2,gguf:PATH] [--prompt-tokens 400] [--gen-tokens 64] [--repeats 3]
"""
from __future__ import annotations

import argparse
import platform
import statistics
from pathlib import Path

from conceptwright.llm import LlamaCppBackend, resolve
from conceptwright.llm import cpu

REPORT = Path(__file__).resolve().parents[1] / "reports" / "bench-llama.md"


def measure(model: str, extra_buffers: bool, prompt_tokens: int, gen_tokens: int, repeats: int, threads: int) -> dict:
    base = resolve(model)
    assert isinstance(base, LlamaCppBackend), f"{model} is not a local GGUF model"
    backend = LlamaCppBackend(base.path, name=base.name, n_ctx=2048, n_threads=threads, extra_buffers=extra_buffers)
    info = backend.load()
    backend.bench(prompt_tokens=32, gen_tokens=4)  # warm-up
    runs = [backend.bench(prompt_tokens=prompt_tokens, gen_tokens=gen_tokens) for _ in range(repeats)]
    backend.worker.close()  # one model process at a time
    return {"model": base.name, "extra_buffers": extra_buffers, "info": info,
            "prompt_tok_s": statistics.median(r["prompt_tok_s"] for r in runs),
            "gen_tok_s": statistics.median(r["gen_tok_s"] for r in runs),
            "prompt_tokens": runs[0]["prompt_tokens"], "gen_tokens": runs[0]["gen_tokens"]}


def main(args: argparse.Namespace) -> int:
    rows = []
    for model in args.models.split(","):
        # alternate the settings so drift of the machine's load hits both alike
        for _ in range(args.rounds):
            for on in (True, False):
                rows.append(measure(model, on, args.prompt_tokens, args.gen_tokens, args.repeats, args.threads))
                r = rows[-1]
                print(f"{r['model']:<45} extra buffers {'on ' if on else 'off'}  prompt {r['prompt_tok_s']:7.1f} tok/s"
                      f"  generation {r['gen_tok_s']:6.1f} tok/s", flush=True)
    cp, cg = args.call_prompt, args.call_gen
    table = [f"| model | extra buffer types | prompt tok/s | generation tok/s | s per {cp}+{cg}-token call "
             "| prompt ratio off/on | generation ratio off/on | call time ratio off/on |",
             "|---|---|---|---|---|---|---|---|"]
    for model in dict.fromkeys(r["model"] for r in rows):
        on = [r for r in rows if r["model"] == model and r["extra_buffers"]]
        off = [r for r in rows if r["model"] == model and not r["extra_buffers"]]
        p_on, p_off = statistics.median(r["prompt_tok_s"] for r in on), statistics.median(r["prompt_tok_s"] for r in off)
        g_on, g_off = statistics.median(r["gen_tok_s"] for r in on), statistics.median(r["gen_tok_s"] for r in off)
        c_on, c_off = cp / p_on + cg / g_on, cp / p_off + cg / g_off
        table.append(f"| {model} | on | {p_on:.1f} | {g_on:.1f} | {c_on:.1f} | | | |")
        table.append(f"| {model} | off | {p_off:.1f} | {g_off:.1f} | {c_off:.1f} | {p_off / p_on:.2f} | {g_off / g_on:.2f} "
                     f"| {c_off / c_on:.2f} |")
    info = rows[0]["info"]
    text = "\n".join([
        "# llama.cpp extra buffer types on vs off", "",
        f"Machine: {platform.processor() or platform.machine()}, {args.threads} threads; AMX flags: "
        f"{', '.join(cpu.amx_flags()) or 'none'}; llama-cpp-python {info.get('llama_cpp_version')}.",
        f"llama.cpp system info: `{info.get('system_info')}`", "",
        f"Prompt of {rows[0]['prompt_tokens']} tokens decoded in one batch, then {rows[0]['gen_tokens']} greedy tokens; "
        f"median of {args.repeats} runs per load, median of {args.rounds} loads per setting, settings alternated in one run. "
        f"The call column is computed from the two rates for a call of the shape an xmi or sim attempt makes "
        f"({cp} prompt tokens, {cg} generated).", "",
        *table, "",
    ])
    out = Path(args.out) if args.out else REPORT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"report: {out}")
    return 0
