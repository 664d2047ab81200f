"""The terminal chat: scripted through a pipe (plain text, exit 0/2/1) and on a pseudo-terminal."""
from __future__ import annotations

import io
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from conceptwright.cli import main

from .test_loop import GOOD
from .test_session import WITH_BO

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def library(metamodels: Path) -> Path:
    return metamodels / "library.ecore"


def _chat(monkeypatch, capsys, lines: str, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code = main(["chat", *args])
    return code, capsys.readouterr().out


def test_a_piped_chat_creates_edits_and_saves(monkeypatch, capsys, script, library, tmp_path):
    monkeypatch.setenv("CONCEPTWRIGHT_SESSIONS", str(tmp_path / "sessions"))
    script([GOOD, json.dumps(WITH_BO)])
    out_xmi = tmp_path / "out.xmi"
    code, out = _chat(monkeypatch, capsys, f"a library\n/diff\nadd the writer Bo\n/show\n/save {out_xmi}\n",
                      "--target", "xmi", "--metamodel", str(library))
    assert code == 0
    assert "[turn 0] valid xmi" in out and "[turn 1] valid xmi" in out and "added Writer 'w2' to objects" in out
    assert "attempt 1 of up to 4: changing the model" in out and '"Bo"' in out
    assert out_xmi.read_text().count("<writers ") == 2 and f"saved {out_xmi}" in out


def test_the_exit_code_is_2_when_the_last_turn_is_not_valid(monkeypatch, capsys, script, library, tmp_path):
    monkeypatch.setenv("CONCEPTWRIGHT_SESSIONS", str(tmp_path))
    script([GOOD, "no json at all", "none", "none", "none"])
    code, out = _chat(monkeypatch, capsys, "a library\nmake it odd\n", "--target", "xmi", "--metamodel", str(library))
    assert code == 2 and "[turn 1] NOT valid" in out and "problems left" in out


def test_undo_unknown_commands_and_model_errors_keep_the_chat_going(monkeypatch, capsys, script, library, tmp_path):
    monkeypatch.setenv("CONCEPTWRIGHT_SESSIONS", str(tmp_path))
    from conceptwright.llm.base import LLMError

    script([GOOD, LLMError("the model process died with signal SIGSEGV"), json.dumps(WITH_BO)])
    code, out = _chat(monkeypatch, capsys, "a library\nadd Bo\n/frob\n/undo\n/save\n/model\n/help\n/quit\nnever read\n",
                      "--target", "xmi", "--metamodel", str(library))
    assert "error: the model process died with signal SIGSEGV" in out and "error: unknown command /frob" in out
    assert "undone; no turns left" in out and "error: nothing to save yet" in out and "/model needs a name" in out
    assert "/undo          go back one turn" in out and code == 2  # no turn left


def test_resuming_by_id_goes_on_from_the_saved_model(monkeypatch, capsys, script, library, tmp_path):
    monkeypatch.setenv("CONCEPTWRIGHT_SESSIONS", str(tmp_path))
    script([GOOD])
    _chat(monkeypatch, capsys, "a library\n", "--target", "xmi", "--metamodel", str(library))
    (sid,) = [p.name for p in tmp_path.iterdir() if p.is_dir()]
    llm = script([json.dumps(WITH_BO)])
    code, out = _chat(monkeypatch, capsys, "add Bo\n", "--session", sid)
    assert code == 0 and "[turn 1] valid" in out and '"Dune"' in llm.calls[0]["messages"][-1].content


@pytest.mark.parametrize("args, needle", [
    (["--target", "xmi"], "needs --metamodel"),
    ([], "needs --target"),
    (["--session", "nope"], "no session 'nope'"),
    (["--target", "sim", "--max-repairs", "-1"], "--max-repairs"),
])
def test_bad_arguments_exit_1_with_one_line(monkeypatch, capsys, tmp_path, args, needle):
    monkeypatch.setenv("CONCEPTWRIGHT_SESSIONS", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["chat", *args]) == 1
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


PTY_CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {root!r})
    from tests.scripted import ScriptedLLM
    from conceptwright import open_session
    from conceptwright.ui.terminal import run_chat
    s = open_session("xmi", model=ScriptedLLM([{good!r}]), store={store!r}, metamodel={mm!r})
    sys.exit(run_chat(s))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_on_a_pseudo_terminal_the_chat_edits_lines_and_shows_progress(library, tmp_path):
    import pty
    import select
    import time

    code = PTY_CHILD.format(root=str(ROOT), good=GOOD, store=str(tmp_path / "s"), mm=str(library))
    env = {**os.environ, "TERM": "xterm", "HOME": str(tmp_path), "COLUMNS": "100", "LINES": "30"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: a chat on the terminal
        os.execve(sys.executable, [sys.executable, "-c", code], env)
    seen = b""

    def read_until(needle: bytes, timeout: float = 60) -> None:
        nonlocal seen
        end = time.monotonic() + timeout
        while needle not in seen and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        assert needle in seen, seen[-2000:]

    read_until(b"you>")
    os.write(fd, b"a library\r")
    read_until(b"[turn 0] valid xmi")
    read_until(b"you>")
    os.write(fd, b"/quit\r")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0 and b"/help for commands" in seen
    assert (tmp_path / ".local/share/conceptwright/chat_history").exists() or any((tmp_path / "s").iterdir())
