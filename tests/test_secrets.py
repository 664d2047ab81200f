"""Secrets: an API key (from OPENAI_API_KEY or given as ``api_key``) and the ``Authorization``
header that carries it never reach a trace, a log, a session file, a batch status or summary,
or the CLI's output, even from a server that echoes the header back in its error messages.
Every file each run writes is read and searched for the key."""
from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from conceptwright import generate, open_session
from conceptwright.cli import main
from conceptwright.llm import LLMError, OpenAIBackend
from conceptwright.llm.redact import redact
from conceptwright.llm.retry import RetrySettings

from .faultserver import serve
from .test_loop import GOOD
from .test_session import WITH_BO

ENV_KEY = "sk-test-SECRET123"
ARG_KEY = "sk-test-EXPLICIT456"
NEEDLES = ("SECRET123", "EXPLICIT456")  # the distinctive parts: a partial leak counts too
FAST_ENV = {"CONCEPTWRIGHT_LLM_TIMEOUT": "2", "CONCEPTWRIGHT_LLM_BACKOFF": "0.01", "CONCEPTWRIGHT_LLM_BACKOFF_MAX": "0.05"}
ECHO_401 = {"kind": "status", "status": 401, "echo_auth": True}  # "Incorrect API key provided: Bearer sk-..."
ECHO_500 = {"kind": "status", "status": 500, "echo_auth": True}


@pytest.fixture
def library(metamodels: Path) -> Path:
    return metamodels / "library.ecore"


@pytest.fixture
def keyed(monkeypatch):
    """The environment of a user with a real-looking key; returns a starter of fault servers."""
    started = []
    for k, v in {**FAST_ENV, "OPENAI_API_KEY": ENV_KEY}.items():
        monkeypatch.setenv(k, v)

    def start(script, **kw):
        srv = serve(script, reply=GOOD, **kw)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.shutdown()


def leaks(folder: Path, *texts: str) -> list[str]:
    """Every file under ``folder`` (and the texts) that holds a piece of a key."""
    found = [str(p) for p in sorted(folder.rglob("*")) if p.is_file()
             and any(n.encode() in p.read_bytes() for n in NEEDLES)]
    return found + [t[:200] for t in texts if any(n in t for n in NEEDLES)]


def sent_keys(srv) -> set[str]:
    return {e["headers"].get("authorization", "") for e in srv.log}


def test_generate_with_a_trace_and_an_echoing_server_writes_no_key(keyed, library, tmp_path, monkeypatch, capsys):
    srv = keyed(["bad_json", ECHO_500, ECHO_401])
    log = tmp_path / "debug.log"
    handler = logging.FileHandler(log)
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("openai", "httpx", "httpx2", "httpcore", "conceptwright")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:  # everything the SDK and HTTP stack log, at the most talkative level
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        code = main(["generate", "xmi", "--spec", "a library", "--metamodel", str(library), "--out",
                     str(tmp_path / "out.xmi"), "--model", "openai:fake", "--trace", str(tmp_path / "t.jsonl")])
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)
        handler.close()
    out = capsys.readouterr()
    assert sent_keys(srv) == {f"Bearer {ENV_KEY}"}  # the key was really used, and echoed back
    assert code == 2 and srv.kinds() == ["bad_json", "status", "status"]
    trace = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(trace) == 1 and log.stat().st_size > 0
    assert leaks(tmp_path, out.out, out.err) == []


def test_the_first_call_refused_with_the_key_echoed_is_one_line_without_it(keyed, library, tmp_path, capsys):
    srv = keyed([ECHO_401])
    code = main(["generate", "xmi", "--spec", "a library", "--metamodel", str(library), "--out", str(tmp_path / "o.xmi"),
                 "--model", "openai:fake", "--trace", str(tmp_path / "t.jsonl")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Incorrect API key provided: Bearer ***" in err
    assert srv.count == 1 and leaks(tmp_path, err) == []


def test_an_explicit_api_key_is_masked_in_errors_and_traces(keyed, library, tmp_path):
    srv = keyed(["wrong_shape", "ok", ECHO_401])
    llm = OpenAIBackend("fake", base_url=srv.url, api_key=ARG_KEY, retry=RetrySettings(retries=1, base_delay=0.01))
    res = generate("xmi", "a library", model=llm, metamodel=library, trace=tmp_path / "t.jsonl")
    assert res.ok and res.attempts == 2
    with pytest.raises(LLMError) as err:
        generate("xmi", "a library", model=llm, metamodel=library, trace=tmp_path / "t2.jsonl")
    assert sent_keys(srv) == {f"Bearer {ARG_KEY}"}
    assert "Bearer ***" in str(err.value) and leaks(tmp_path, str(err.value), repr(err.value)) == []
    assert not any(n in repr(vars(res)) for n in NEEDLES)


def test_a_batch_writes_no_key_in_statuses_summaries_traces_or_errors(keyed, library, tmp_path):
    from conceptwright.jobs import LocalExecutor, run_batch

    def script(n: int, body: dict):  # job 1 is refused (key echoed), job 2 meets a 500 that echoes it, then works
        text = json.dumps(body.get("messages", []))
        if "library number 1" in text:
            return ECHO_401
        if "library number 2" in text and n < 6:
            return ECHO_500
        return "ok"

    srv = keyed(script)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"id": f"lib-{i}", "target": "xmi", "spec": f"library number {i}",
                                        "metamodel": str(library)}) + "\n" for i in range(4)))
    said: list[str] = []
    out = run_batch(jobs, tmp_path / "out", executor=LocalExecutor(2), model="openai:fake", progress=False, log=said.append)
    assert out["ran"] == 4 and out["valid"] >= 2
    status = json.loads((tmp_path / "out/jobs/lib-1/status.json").read_text())
    assert not status["ok"] and "Incorrect API key provided: Bearer ***" in status["error"]
    assert f"Bearer {ENV_KEY}" in sent_keys(srv)
    assert leaks(tmp_path / "out", *said) == []


def test_a_chat_session_writes_no_key_in_its_session_file_turns_or_output(keyed, library, tmp_path, monkeypatch, capsys):
    store = tmp_path / "sessions"
    monkeypatch.setenv("CONCEPTWRIGHT_SESSIONS", str(store))
    srv = keyed(["ok", ECHO_401, {"kind": "ok", "content": json.dumps(WITH_BO)}])
    monkeypatch.setattr(sys, "stdin", io.StringIO("a library\nadd the writer Bo\nadd the writer Bo\n/quit\n"))
    code = main(["chat", "--target", "xmi", "--metamodel", str(library), "--model", "openai:fake"])
    out = capsys.readouterr()
    assert code == 0 and "error: openai:fake: AuthenticationError" in out.out and "Bearer ***" in out.out
    (session,) = list(store.iterdir())
    data = json.loads((session / "session.json").read_text())
    assert [t["message"] for t in data["turns"]] == ["a library", "add the writer Bo"]
    # the same through the Python API with an explicit key
    s = open_session("xmi", model=OpenAIBackend("fake", base_url=srv.url, api_key=ARG_KEY), store=store, metamodel=library)
    srv.script[:] = [ECHO_401, {"kind": "ok", "content": GOOD}]
    with pytest.raises(LLMError) as err:
        s.send("a library")
    s.send("a library")
    assert f"Bearer {ARG_KEY}" in sent_keys(srv) and len(s.turns) == 1
    assert leaks(tmp_path, out.out, out.err, str(err.value)) == []


def test_redact_masks_keys_headers_and_key_shaped_strings(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345")
    text = ("Authorization: Bearer abc.DEF-123456789 and sk-proj-AbCdEf123456 and tok-abcdefgh12345 "
            '{"api_key": "zzzzzzzzzz9"} and a short k')
    masked = redact(text)
    for secret in ("abc.DEF-123456789", "sk-proj-AbCdEf123456", "tok-abcdefgh12345", "zzzzzzzzzz9"):
        assert secret not in masked
    assert "Bearer ***" in masked and "a short k" in masked  # placeholders and ordinary words are left alone
    assert redact("a library with 3 books and a writer") == "a library with 3 books and a writer"
