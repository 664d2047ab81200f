"""The Python entry point: generate(target, spec=..., model=..., ...)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .agent import Result, StopPolicy, TraceWriter, run_job
from .llm import resolve
from .prompts.profiles import profile_for
from .targets import get_target


def generate(
    target: str,
    spec: str,
    *,
    model: Any = None,
    strategy: str = "conceptual",
    max_repairs: int = 3,
    max_tokens: int | None = None,
    max_seconds: float | None = None,
    trace: str | Path | None = None,
    profile: str | None = None,
    **options: Any,
) -> Result:
    """Run the agent for one target. ``model`` is a model string (``smollm2``,
    ``gguf:PATH``, ``openai:NAME``), an LLM backend or a LangChain chat model.
    Target options: xmi takes ``metamodel=PATH`` (and ``out=PATH`` for the
    schemaLocation it writes); cad takes ``pictures`` (SVG and PNG, default True),
    ``stl_tolerance``, ``timeout_s`` and ``runner`` (a CadRunner; default the shared warm worker)."""
    tgt = get_target(target)
    llm = resolve(model)
    prof = profile_for(llm.name, profile)
    job = tgt.prepare(spec, strategy=strategy, profile=prof, **options)
    policy = StopPolicy(max_repairs=max_repairs, max_tokens=max_tokens, max_seconds=max_seconds)
    return run_job(job, llm, target=tgt.name, policy=policy, trace=TraceWriter(trace))
