"""One run of a target: prepare its job, run the loop under the budgets. The single path that
``generate``, editing and chat sessions all take."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..llm.base import LLM
from ..prompts.profiles import profile_for
from ..prompts.variant import with_variant
from .events import Hooks
from .loop import run_job
from .patch import EDIT_MODES, PatchEdit
from .policy import StopPolicy
from .protocol import InputError, Target
from .result import Result
from .trace import TraceWriter

MAX_SAMPLES = 64


def split_strategy(strategy: str, samples: int = 1) -> tuple[str, int]:
    """``conceptual@4`` -> ("conceptual", 4); a plain strategy keeps ``samples``. InputError when bad."""
    name, at, n = strategy.partition("@")
    if at:
        if not n.isdigit():
            raise InputError(f"bad strategy '{strategy}': the samples after '@' are a whole number (conceptual@4)")
        samples = int(n)
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"samples must be between 1 and {MAX_SAMPLES}, not {samples}")
    return name, samples


def run_target(
    tgt: Target,
    spec: str,
    llm: LLM,
    *,
    strategy: str = "conceptual",
    max_repairs: int = 3,
    max_tokens: int | None = None,
    max_seconds: float | None = None,
    trace: str | Path | None = None,
    profile: str | None = None,
    variant: str | None = None,
    edit: Any = None,
    edit_mode: str = "whole",
    hooks: Hooks | None = None,
    samples: int = 1,
    **options: Any,
) -> Result:
    """Prepare ``tgt``'s job for ``spec`` (an instruction when ``edit`` is a model) and run it.
    ``edit_mode``: the edit's first reply is the whole changed model ("whole") or a JSON Patch ("patch").
    ``samples``: test-time search, N first answers and the repairs from the best (``agent/search.py``);
    a strategy ``conceptual@4`` says the same.
    ``variant``: a prompt variant (name or JSON path); default: the model's calibrated one, if any."""
    strategy, samples = split_strategy(strategy, samples)
    if edit_mode not in EDIT_MODES:
        raise InputError(f"unknown edit mode '{edit_mode}': {', '.join(EDIT_MODES)}")
    if edit is not None:
        if "edit" not in inspect.signature(tgt.prepare).parameters:
            raise InputError(f"the {tgt.name} target cannot edit a model")
        options["edit"] = edit
    prof = with_variant(profile_for(llm.name, profile), tgt.name, llm.name, variant)
    job = tgt.prepare(spec, strategy=strategy, profile=prof, **options)
    if edit is not None and edit_mode == "patch":
        job = PatchEdit(job)
    policy = StopPolicy(max_repairs=max_repairs, max_tokens=max_tokens, max_seconds=max_seconds, samples=samples)
    return run_job(job, llm, target=tgt.name, policy=policy, trace=TraceWriter(trace), hooks=hooks)
