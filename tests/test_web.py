"""The web chat: through Gradio's Python client, and in a real browser (Debian's chromium
driven by Playwright, no browser download), with a scripted backend."""
from __future__ import annotations

import copy
import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from .scripted import ScriptedLLM
from .test_loop import GOOD
from .test_session import WITH_BO

ARTEFACTS = Path(__file__).parent / "artefacts"  # screenshots (test artefacts, not committed)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """Start the app on a free port with a scripted model; yields (url, llm, store)."""
    from conceptwright.ui.web import build_app

    llm = ScriptedLLM([])
    store = tmp_path / "sessions"
    demo = build_app(store=store, llm_factory=lambda name: llm)
    port = _port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                allowed_paths=[str(store)])
    try:
        yield f"http://127.0.0.1:{port}/", llm, store
    finally:
        demo.close()


def test_the_python_client_creates_and_edits_a_model(served, metamodels):
    from gradio_client import Client, handle_file

    url, llm, store = served
    llm.replies += [GOOD, json.dumps(WITH_BO)]
    client = Client(url, verbose=False)
    mm = handle_file(str(metamodels / "library.ecore"))
    _, chat, sid, _ = client.predict("a library", [], "", "xmi", "smollm2", mm, api_name="/send")
    _, diagram, _, files, changed = client.predict(sid, api_name="/show")
    assert sid and "[turn 0] valid xmi" in json.dumps(chat) and "<svg" in diagram and "lib : Library" in diagram
    assert any(str(f).endswith("model.xmi") for f in files)
    _, chat, sid2, _ = client.predict("add the writer Bo", chat, sid, "xmi", "smollm2", mm, api_name="/send")
    _, diagram, _, files, changed = client.predict(sid, api_name="/show")
    assert sid2 == sid and "[turn 1] valid xmi" in json.dumps(chat) and "w2 : Writer" in diagram
    assert "added Writer 'w2' to objects" in changed and (store / sid / "turn-1" / "model.xmi").is_file()


def test_a_bad_upload_or_a_failing_model_is_an_error_in_the_chat(served, tmp_path):
    from gradio_client import Client, handle_file

    from conceptwright.llm.base import LLMError

    url, llm, _ = served
    bad = tmp_path / "broken.ecore"
    bad.write_text("<ecore:EPackage oops")
    client = Client(url, verbose=False)
    out = client.predict("a library", [], "", "xmi", "smollm2", handle_file(str(bad)), api_name="/send")
    assert "error:" in json.dumps(out[1]) and out[2] == ""
    out = client.predict("a library", [], "", "xmi", "smollm2", None, api_name="/send")
    assert "upload a metamodel" in json.dumps(out[1])
    llm.replies += [LLMError("the model process died with signal SIGSEGV")]
    out = client.predict("a cube of 20 mm", [], "", "cad", "smollm2", None, api_name="/send")
    assert "error: the model process died with signal SIGSEGV" in json.dumps(out[1])
    out = client.predict("", [], "", "xmi", "smollm2", None, api_name="/send")
    assert out[-1] == "write a message first"


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CONCEPTWRIGHT_REQUIRE_BROWSER"),
                    reason="no chromium here (.ci/run installs it)")
def test_in_a_browser_a_part_and_a_diagram_update_and_survive_a_reload(served, metamodels):
    from playwright.sync_api import expect, sync_playwright

    from .test_cad import FLANGE

    assert CHROMIUM, "chromium is required (apt install chromium)"
    url, llm, _ = served
    thicker = copy.deepcopy(FLANGE)
    thicker["parameters"] = [p | ({"value": 20} if p["name"] == "thickness" else {}) for p in thicker["parameters"]]
    thicker["envelope"]["z"] = 20
    llm.replies += [GOOD, json.dumps(WITH_BO), json.dumps(FLANGE), json.dumps(thicker)]
    ARTEFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--use-gl=swiftshader"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#cw-metamodel input[type=file]").set_input_files(str(metamodels / "library.ecore"))
        page.wait_for_timeout(500)
        message = page.locator("#cw-message textarea")
        message.fill("a library with Dune by Ann")
        page.locator("#cw-send").click()
        expect(page.locator("#cw-chat")).to_contain_text("[turn 0] valid xmi", timeout=60_000)
        expect(page.locator("#cw-diagram svg")).to_contain_text("lib : Library", timeout=30_000)
        message.fill("add the writer Bo")
        page.locator("#cw-send").click()
        expect(page.locator("#cw-chat")).to_contain_text("[turn 1] valid xmi", timeout=60_000)
        expect(page.locator("#cw-diagram svg")).to_contain_text("w2 : Writer")
        expect(page.locator("#cw-files a[href$='model.xmi']")).to_have_count(1)
        expect(page.locator("#cw-changes")).to_contain_text("added Writer 'w2'")
        page.screenshot(path=str(ARTEFACTS / "web-chat-xmi.png"), full_page=True)
        page.reload()  # the session id is in the browser's storage: the conversation comes back
        expect(page.locator("#cw-chat")).to_contain_text("[turn 1] valid xmi", timeout=30_000)
        expect(page.locator("#cw-diagram svg")).to_contain_text("w2 : Writer")

        page.locator("#cw-new").click()
        page.locator("#cw-target input").click()
        page.get_by_role("option", name="cad").click()
        message.fill("a flange plate 120 x 80 x 10 mm")
        page.locator("#cw-send").click()
        expect(page.locator("#cw-chat")).to_contain_text("[turn 0] valid cad", timeout=120_000)
        expect(page.locator("#cw-files a[href$='part.step']")).to_have_count(1, timeout=30_000)
        expect(page.locator("#cw-part canvas")).to_be_visible(timeout=30_000)
        message.fill("make it 20 mm thick")
        page.locator("#cw-send").click()
        expect(page.locator("#cw-chat")).to_contain_text("[turn 1] valid cad", timeout=120_000)
        expect(page.locator("#cw-changes")).to_contain_text("size:")
        page.wait_for_timeout(1500)  # let the 3D view draw
        page.screenshot(path=str(ARTEFACTS / "web-chat-cad.png"), full_page=True)
        browser.close()
    assert (ARTEFACTS / "web-chat-cad.png").stat().st_size > 10_000
