"""conceptwright inside LangChain / LangGraph: each target as a ``StructuredTool`` with a typed
input schema, and the assistant as a ``Runnable``.

    from conceptwright.lc import target_tools, assistant
    tools = target_tools(model="gguf:/m/qwen.gguf")          # [xmi, cad, sim] tools for an agent
    chain = assistant("cad", model=chat_model)               # Runnable: {"spec": ...} -> result dict
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableLambda
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from .api import agenerate, generate, save
from .targets import available, get_target


class ToolInput(BaseModel):
    """What an agent passes to a conceptwright tool."""

    spec: str = Field(description="the plain-language description of what to make (or, with edit, what to change)")
    metamodel: str | None = Field(None, description="path of the Ecore metamodel (xmi target only)")
    out_dir: str | None = Field(None, description="folder to write the artefacts to")
    edit: dict[str, Any] | None = Field(None, description="a conceptual model returned earlier, to change as spec says")
    max_repairs: int = Field(3, ge=0, description="repair rounds after the first attempt")


def _summary(result: Any, written: list[Path]) -> dict[str, Any]:
    return {"ok": result.ok, "target": result.target, "stop_reason": result.stop_reason, "attempts": result.attempts,
            "conceptual": result.conceptual, "facts": result.facts, "files": [str(p) for p in written],
            "problems": [d.message for d in result.diagnostics if d.severity == "error"]}


def _call(target: str, model: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = ToolInput.model_validate(data)
    options: dict[str, Any] = {"metamodel": args.metamodel} if args.metamodel else {}
    res = generate(target, args.spec, model=model, edit=args.edit, max_repairs=args.max_repairs, **options)
    written = save(res, args.out_dir) if args.out_dir else []
    return _summary(res, written)


async def _acall(target: str, model: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = ToolInput.model_validate(data)
    options: dict[str, Any] = {"metamodel": args.metamodel} if args.metamodel else {}
    res = await agenerate(target, args.spec, model=model, edit=args.edit, max_repairs=args.max_repairs, **options)
    written = save(res, args.out_dir) if args.out_dir else []
    return _summary(res, written)


def target_tool(target: str, *, model: Any = None) -> StructuredTool:
    """One target as a LangChain tool (sync and async)."""
    tgt = get_target(target)

    def run(**kw: Any) -> dict[str, Any]:
        return _call(target, model, kw)

    async def arun(**kw: Any) -> dict[str, Any]:
        return await _acall(target, model, kw)

    return StructuredTool.from_function(func=run, coroutine=arun, name=f"conceptwright_{target}",
                                        description=f"{tgt.help}. Returns whether it is valid, the conceptual model, "
                                        "key figures, files written and remaining problems.", args_schema=ToolInput)


def target_tools(*, model: Any = None) -> list[StructuredTool]:
    """A tool for every installed target."""
    return [target_tool(name, model=model) for name in sorted(available())]


def assistant(target: str, *, model: Any = None) -> RunnableLambda:
    """The assistant as a Runnable: ``{"spec": ..., "metamodel": ...}`` (or a string) -> result dict."""

    def run(data: Any) -> dict[str, Any]:
        return _call(target, model, {"spec": data} if isinstance(data, str) else data)

    async def arun(data: Any) -> dict[str, Any]:
        return await _acall(target, model, {"spec": data} if isinstance(data, str) else data)

    return RunnableLambda(run, afunc=arun, name=f"conceptwright_{target}")
