"""The Python entry point: generate(target, spec=..., model=..., ...)."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from .agent import Hooks, InputError, Result, StopPolicy, TraceWriter, run_job
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
    edit: Any = None,
    hooks: Hooks | None = None,
    **options: Any,
) -> Result:
    """Run the agent for one target. ``model`` is a model string (``smollm2``,
    ``gguf:PATH``, ``openai:NAME``), an LLM backend or a LangChain chat model.
    Target options: xmi takes ``metamodel=PATH`` (and ``out=PATH`` for the
    schemaLocation it writes); cad takes ``pictures`` (SVG and PNG, default True),
    ``stl_tolerance``, ``timeout_s`` and ``runner`` (a CadRunner; default the shared warm worker).

    ``edit``: a conceptual model (the ``conceptual`` of an earlier Result, its JSON, or a typed
    model) to change as ``spec`` instructs; it goes through the same loop and budgets.
    ``hooks``: a ``Hooks`` whose subscribers get the loop's events (progress, UIs)."""
    tgt = get_target(target)
    if edit is not None:
        if "edit" not in inspect.signature(tgt.prepare).parameters:
            raise InputError(f"the {target} target cannot edit a model")
        options["edit"] = edit
    llm = resolve(model)
    prof = profile_for(llm.name, profile)
    job = tgt.prepare(spec, strategy=strategy, profile=prof, **options)
    policy = StopPolicy(max_repairs=max_repairs, max_tokens=max_tokens, max_seconds=max_seconds)
    return run_job(job, llm, target=tgt.name, policy=policy, trace=TraceWriter(trace), hooks=hooks)


def save(result: Result, dest: Any) -> list[Path]:
    """Write a result's artefacts: to a folder (the target's default names) or to a mapping of
    artefact kind -> path (``{"xmi": "out.xmi", "diagram": "out.svg"}``). Returns the paths written."""
    return get_target(result.target).write_outputs(result, dest)
