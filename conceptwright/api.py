"""The Python entry point: generate(target, spec=..., model=..., ...)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .agent import Hooks, Result
from .agent.run import run_target
from .agent.session import Session
from .llm import resolve
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
    edit_mode: str = "whole",
    hooks: Hooks | None = None,
    **options: Any,
) -> Result:
    """Run the agent for one target. ``model`` is a model string (``smollm2``,
    ``gguf:PATH``, ``openai:NAME``), an LLM backend or a LangChain chat model.
    Target options: xmi takes ``metamodel=PATH`` (and ``out=PATH`` for the
    schemaLocation it writes); cad takes ``pictures`` (SVG and PNG, default True),
    ``stl_tolerance``, ``timeout_s`` and ``runner`` (a CadRunner; default the shared warm worker).

    ``edit``: a conceptual model (the ``conceptual`` of an earlier Result, its JSON, or a typed
    model) to change as ``spec`` instructs; it goes through the same loop and budgets. ``edit_mode``:
    the LLM writes the whole changed model ("whole", default) or a JSON Patch of it ("patch").
    ``hooks``: a ``Hooks`` whose subscribers get the loop's events (progress, UIs)."""
    return run_target(get_target(target), spec, resolve(model), strategy=strategy, max_repairs=max_repairs,
                      max_tokens=max_tokens, max_seconds=max_seconds, trace=trace, profile=profile, edit=edit,
                      edit_mode=edit_mode, hooks=hooks, **options)


def save(result: Result, dest: Any) -> list[Path]:
    """Write a result's artefacts: to a folder (the target's default names) or to a mapping of
    artefact kind -> path (``{"xmi": "out.xmi", "diagram": "out.svg"}``). Returns the paths written."""
    return get_target(result.target).write_outputs(result, dest)


def open_session(target: str, *, model: Any = None, store: str | Path | None = None, max_repairs: int = 3,
                 max_tokens: int | None = None, max_seconds: float | None = None, edit_mode: str = "whole",
                 **options: Any) -> Session:
    """A new chat session with ``target`` (``options`` as for ``generate``: ``metamodel=`` for xmi).
    ``session.send("...")`` creates the model, later messages edit it; saved after every turn."""
    tgt = get_target(target)
    llm = resolve(model)
    return Session(tgt, llm, options=options, store=store, model=model if isinstance(model, str) else None,
                   max_repairs=max_repairs, max_tokens=max_tokens, max_seconds=max_seconds, edit_mode=edit_mode)


def resume_session(session_id: str, *, model: Any = None, store: str | Path | None = None, **budgets: Any) -> Session:
    """A stored session, to go on with; ``model`` overrides the one it was opened with."""
    data = Session.load(session_id, store)
    llm = resolve(model if model is not None else data.model)
    return Session(get_target(data.target), llm, options=dict(data.options), store=store, data=data,
                   model=model if isinstance(model, str) else None, **budgets)


async def agenerate(target: str, spec: str, **kw: Any) -> Result:
    """``generate`` for asyncio code: the run goes to a worker thread, so many runs against API
    backends proceed concurrently (``asyncio.gather``) while the event loop stays free."""
    import asyncio

    return await asyncio.to_thread(generate, target, spec, **kw)
