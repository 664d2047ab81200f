from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "examples" / "metamodels").is_dir():
        pytest.fail(f"shared examples not found at {SHARED}: clone beside the project's shared/ folder")
    return SHARED


@pytest.fixture(scope="session")
def metamodels(shared: Path) -> Path:
    return shared / "examples" / "metamodels"


def dumps(objects: list[dict]) -> str:
    return json.dumps({"objects": objects})


@pytest.fixture
def script(monkeypatch):
    """Use a ScriptedLLM with these replies wherever a model string is resolved; returns it."""
    from conceptwright import api

    from .scripted import ScriptedLLM

    def use(replies: list[str]) -> ScriptedLLM:
        llm = ScriptedLLM(replies)
        monkeypatch.setattr(api, "resolve", lambda model=None: llm)
        return llm
    return use


@pytest.fixture(autouse=True)
def _fresh_batch_backends():
    """The batch engine keeps one backend per model string in the process (loaded once per worker);
    a test's `openai:fake` pointing at its own server must not be reused by the next test."""
    from conceptwright import jobs

    before = dict(jobs._MODELS)
    yield
    jobs._MODELS.clear()
    jobs._MODELS.update(before)
