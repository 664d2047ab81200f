"""A modelling conversation: the first message creates a model, each later one edits it through
the same entry point, loop and budgets as ``generate``. The session knows no target: it holds a
``Target``, its options, a model backend and the turns, and is saved on disk after every turn
(JSON, written atomically) so it can be resumed by id; ``undo`` goes back one turn.

Layout of a session folder::

    <store>/<id>/session.json        the session: target, options, model, turns
    <store>/<id>/turn-<n>/           that turn's artefacts (the target's default names) and trace.jsonl
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..core.diagnostics import Diagnostic, errors
from ..llm.base import LLM
from .changes import changes
from .events import Hooks
from .protocol import InputError, Target
from .run import run_target

SESSIONS_ENV = "CONCEPTWRIGHT_SESSIONS"


def default_store() -> Path:
    """Where sessions live: ``$CONCEPTWRIGHT_SESSIONS`` or ``~/.local/share/conceptwright/sessions``."""
    return Path(os.environ.get(SESSIONS_ENV) or Path.home() / ".local/share/conceptwright/sessions")


class Turn(BaseModel):
    """One message and what became of it."""

    index: int
    message: str
    edit: bool  # changed the previous turn's model (else created one)
    ok: bool
    stop_reason: str = ""
    model: str = ""
    conceptual: Any = None
    facts: dict[str, Any] = Field(default_factory=dict)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list)  # what changed, in words (agent.changes)
    files: dict[str, str] = Field(default_factory=dict)  # artefact kind -> file in the session folder
    attempts: int = 0
    tokens: int = 0
    seconds: float = 0.0
    created: str = ""

    def problems(self) -> list[Diagnostic]:
        return errors(self.diagnostics)


class SessionData(BaseModel):
    """What ``session.json`` holds."""

    id: str
    target: str
    model: str | None = None  # the model string, when the session was opened with one
    options: dict[str, Any] = Field(default_factory=dict)
    created: str = ""
    turns: list[Turn] = Field(default_factory=list)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    """The options a session can store and resume with: plain values, and any option that names
    an existing file as its absolute path (a resumed session may run from another folder)."""
    out: dict[str, Any] = {}
    for k, v in options.items():
        if isinstance(v, Path) or (isinstance(v, str) and v and Path(v).is_file()):
            out[k] = str(Path(v).resolve())
        elif v is None or isinstance(v, (str, int, float, bool)):
            out[k] = v
    return out


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Session:
    """A conversation with one target. ``send`` runs a turn; ``undo`` drops the last one."""

    def __init__(self, target: Target, llm: LLM, *, options: dict[str, Any] | None = None,
                 store: str | Path | None = None, data: SessionData | None = None, model: str | None = None,
                 max_repairs: int = 3, max_tokens: int | None = None, max_seconds: float | None = None,
                 edit_mode: str = "whole") -> None:
        self.target = target
        self.llm = llm
        self.options = dict(options or {})
        self.budgets = {"max_repairs": max_repairs, "max_tokens": max_tokens, "max_seconds": max_seconds}
        self.edit_mode = edit_mode  # later messages: the whole changed model, or a JSON Patch
        self.data = data or SessionData(id=uuid.uuid4().hex[:10], target=target.name, model=model,
                                        options=_jsonable(self.options), created=_now())
        if model is not None:
            self.data.model = model
        self.folder = Path(store or default_store()) / self.data.id
        self.save()

    # -- reading -----------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.data.id

    @property
    def turns(self) -> list[Turn]:
        return self.data.turns

    @property
    def current(self) -> Turn | None:
        """The latest turn that holds a model (a turn whose reply never parsed holds none)."""
        return next((t for t in reversed(self.turns) if t.conceptual is not None), None)

    @staticmethod
    def load(session_id: str, store: str | Path | None = None) -> SessionData:
        """The stored session ``session_id``; InputError (one line) when it is missing or unreadable."""
        path = Path(store or default_store()) / session_id / "session.json"
        if not path.is_file():
            raise InputError(f"no session '{session_id}' in {path.parent.parent}")
        try:
            return SessionData.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as exc:
            raise InputError(f"session '{session_id}' is unreadable ({path}): {str(exc).splitlines()[0]}") from None

    # -- changing ----------------------------------------------------------------------------
    def send(self, message: str, *, hooks: Hooks | None = None) -> Turn:
        """Create the model (first message) or change it as ``message`` says; the turn is saved."""
        if not message.strip():
            raise InputError("the message is empty")
        base = self.current
        index = len(self.turns)
        folder = self.folder / f"turn-{index}"
        if folder.exists():  # left by an undone turn
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        result = run_target(self.target, message, self.llm, edit=base.conceptual if base else None,
                            edit_mode=self.edit_mode, trace=folder / "trace.jsonl", hooks=hooks, **self.budgets, **self.options)
        paths = self.target.write_outputs(result, folder)
        names = getattr(self.target, "outputs", {})
        written = {p.resolve() for p in paths}
        files = {kind: str(folder / name) for kind, name in names.items() if (folder / name).resolve() in written}
        turn = Turn(
            index=index, message=message, edit=base is not None, ok=result.ok, stop_reason=result.stop_reason,
            model=result.model, conceptual=result.conceptual, facts=result.facts, diagnostics=result.diagnostics,
            changes=changes(base.conceptual if base else None, result.conceptual, base.facts if base else None, result.facts)
            if result.conceptual is not None else ["no model: the reply did not parse"],
            files=files, attempts=result.attempts, tokens=result.usage.total, seconds=result.seconds, created=_now())
        self.turns.append(turn)
        self.save()
        return turn

    def undo(self) -> Turn | None:
        """Drop the last turn (its files go too); returns the turn that is now the latest, if any."""
        if not self.turns:
            return None
        gone = self.turns.pop()
        shutil.rmtree(self.folder / f"turn-{gone.index}", ignore_errors=True)
        self.save()
        return self.turns[-1] if self.turns else None

    def save(self) -> Path:
        path = self.folder / "session.json"
        write_json_atomic(path, self.data.model_dump(mode="json"))
        return path

    def export(self, dest: str | Path) -> list[Path]:
        """Copy the current artefacts: to a folder (all of them), or to a file whose suffix names
        the artefact (``out.xmi``, ``part.step``, ``sim.mo``)."""
        turn = next((t for t in reversed(self.turns) if t.files), None)
        if turn is None:
            raise InputError("nothing to save yet: no turn has written an artefact")
        dest = Path(dest)
        if dest.is_dir() or not dest.suffix:
            dest.mkdir(parents=True, exist_ok=True)
            return [Path(shutil.copyfile(src, dest / Path(src).name)) for src in turn.files.values()]
        match = [src for src in turn.files.values() if Path(src).suffix.lower() == dest.suffix.lower()]
        if not match:
            have = ", ".join(sorted({Path(s).suffix for s in turn.files.values()}))
            raise InputError(f"no {dest.suffix} artefact in this session (it has {have})")
        dest.parent.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copyfile(match[0], dest))]
