"""``conceptwright chat``: a modelling conversation in the terminal.

On a terminal: line editing and history (prompt_toolkit) and a live status line while the model
works (rich). Piped: one message per line, plain text out, so a chat can be scripted. Exit code:
0 when the last turn is valid, 2 when not, 1 on bad arguments or input.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from ..agent import Event, Hooks, InputError
from ..agent.session import Session, Turn, default_store
from ..core.diagnostics import render_all
from ..llm import LLMError, resolve

HELP = """commands:
  /save [PATH]   copy the current artefacts to PATH (a folder, or a file: out.xmi, part.step, sim.mo ...)
  /undo          go back one turn
  /show          print the current conceptual model (JSON)
  /diff          what the last turn changed
  /model NAME    use another model from the next message on (smollm2, gguf:PATH, openai:NAME)
  /help          this text
  /quit          leave (the session is saved after every turn; resume with --session ID)
anything else is a message: the first creates the model, later ones change it"""


def _progress(write: Callable[[str], None], max_repairs: int, editing: bool = False) -> Hooks:
    """Hooks that report the loop's progress as short lines."""
    hooks = Hooks()
    first = "changing the model" if editing else "writing the model"

    def started(e: Event) -> None:
        how = e.data.get("how", "first")
        label = first if how == "first" else "repairing" if how == "repair" else "starting afresh"
        write(f"attempt {e.attempt + 1} of up to {max_repairs + 1}: {label} ...")

    def checked(e: Event) -> None:
        n = e.data.get("errors", 0)
        write("  checked: valid" if e.data.get("ok") else f"  checked: {n} problem(s)")

    hooks.on("attempt_started", started)
    hooks.on("diagnostics", checked)
    return hooks


def describe(turn: Turn, target: str) -> str:
    """What a turn did, for a modeller: valid or not, what changed, the files, problems left."""
    state = "valid" if turn.ok else "NOT valid"
    lines = [f"[turn {turn.index}] {state} {target} ({turn.attempts} attempt(s), {turn.tokens} tokens, {turn.seconds:.1f}s)"]
    lines += [f"  {c}" for c in turn.changes]
    if turn.files:
        lines.append("  files: " + ", ".join(turn.files.values()))
    problems = turn.problems()
    if problems:
        lines.append("  problems left:\n" + "\n".join("    " + line for line in render_all(problems).splitlines()))
    return "\n".join(lines)


def _lines(stdin: TextIO, interactive: bool) -> Iterator[str]:
    if not interactive:
        for line in stdin:
            yield line.rstrip("\n")
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    history = default_store().parent / "chat_history"
    history.parent.mkdir(parents=True, exist_ok=True)
    prompt = PromptSession(history=FileHistory(str(history)))
    while True:
        try:
            yield prompt.prompt("you> ")
        except EOFError:
            return
        except KeyboardInterrupt:
            continue


def run_chat(session: Session, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
             out_dir: str | Path | None = None, interactive: bool | None = None) -> int:
    """Read messages and commands until the input ends or /quit; returns the exit code."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty() and stdout.isatty() if interactive is None else interactive

    def say(text: str) -> None:
        print(text, file=stdout, flush=True)

    say(f"conceptwright chat: target {session.target.name}, model {session.llm.name}, session {session.id}"
        + ("  (/help for commands)" if interactive else ""))
    max_repairs = session.budgets.get("max_repairs") or 3
    for raw in _lines(stdin, interactive):
        line = raw.strip()
        if not line:
            continue
        try:
            if line.startswith("/"):
                cmd, _, arg = line.partition(" ")
                arg = arg.strip()
                if cmd in ("/quit", "/exit"):
                    break
                if cmd == "/help":
                    say(HELP)
                elif cmd == "/save":
                    for p in session.export(arg or out_dir or "."):
                        say(f"saved {p}")
                elif cmd == "/undo":
                    now = session.undo()
                    say(f"undone; now at turn {now.index}" if now else "undone; no turns left")
                elif cmd == "/show":
                    cur = session.current
                    say(json.dumps(cur.conceptual, indent=1, ensure_ascii=False) if cur else "no model yet")
                elif cmd == "/diff":
                    say("\n".join(session.turns[-1].changes) if session.turns else "no turns yet")
                elif cmd == "/model":
                    if not arg:
                        raise InputError("/model needs a name: smollm2, gguf:PATH or openai:NAME")
                    session.llm = resolve(arg)
                    session.data.model = arg
                    session.save()
                    say(f"model: {session.llm.name}")
                else:
                    raise InputError(f"unknown command {cmd} (/help lists them)")
                continue
            editing = session.current is not None
            if interactive:
                from rich.console import Console

                with Console(file=stdout).status("working ...") as status:
                    turn = session.send(line, hooks=_progress(lambda text: status.update(text.strip()), max_repairs, editing))
            else:
                turn = session.send(line, hooks=_progress(say, max_repairs, editing))
            say(describe(turn, session.target.name))
            if out_dir is not None and turn.files:
                session.export(out_dir)
        except (InputError, LLMError, ValueError, OSError) as exc:
            say(f"error: {exc}")
    if not session.turns:
        return 2
    return 0 if session.turns[-1].ok else 2
