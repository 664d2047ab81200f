"""Async API and LangChain: targets as StructuredTools, the assistant as a Runnable, driven by a
scripted LangChain chat model."""
from __future__ import annotations

import asyncio
import json

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from conceptwright import agenerate
from conceptwright.lc import ToolInput, assistant, target_tool, target_tools

from .test_loop import GOOD
from .test_sim import MM1


def test_agenerate_runs_concurrently(metamodels):
    async def two():
        return await asyncio.gather(*(agenerate("xmi", "a library", model=FakeListChatModel(responses=[GOOD]),
                                                metamodel=metamodels / "library.ecore") for _ in range(2)))

    results = asyncio.run(two())
    assert [r.ok for r in results] == [True, True]


def test_each_target_is_a_typed_structured_tool(metamodels, tmp_path):
    tools = target_tools(model=FakeListChatModel(responses=[GOOD]))
    assert {t.name for t in tools} >= {"conceptwright_xmi", "conceptwright_cad", "conceptwright_sim"}
    xmi = next(t for t in tools if t.name == "conceptwright_xmi")
    assert xmi.args_schema is ToolInput and "metamodel" in xmi.args
    out = xmi.invoke({"spec": "a library", "metamodel": str(metamodels / "library.ecore"), "out_dir": str(tmp_path)})
    assert out["ok"] and out["facts"]["objects"] == 3 and (tmp_path / "model.xmi").is_file()


def test_the_assistant_is_a_runnable_sync_and_async():
    chain = assistant("sim", model=FakeListChatModel(responses=[json.dumps(MM1)]))
    out = chain.invoke("a bank teller; customers arrive every 2 minutes")
    assert out["ok"] and out["conceptual"]["resources"][0]["id"] == "teller" and "wait" in json.dumps(out["facts"])
    tool = target_tool("sim", model=FakeListChatModel(responses=[json.dumps(MM1)]))
    res = asyncio.run(tool.ainvoke({"spec": "a bank teller; customers arrive every 2 minutes"}))
    assert res["ok"]
