"""What a target plugin gives the agent loop. The loop knows nothing else of a target."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ..llm.base import Message
from ..core.diagnostics import Diagnostic, errors
from ..core.errors import InputError  # noqa: F401  (re-exported: targets raise it from here)

if TYPE_CHECKING:
    from ..prompts.profiles import Profile
    from .result import Result


class Outcome(BaseModel):
    """What became of one LLM reply: parsed, auto-fixed, compiled and validated."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    conceptual: Any = None  # the (auto-fixed) conceptual model as JSON data, if it parsed
    artefacts: dict[str, str | bytes] = Field(default_factory=dict)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)  # certain fixes applied without the LLM
    rules: list[str] = Field(default_factory=list)  # the named rules (fixes, description checks) that fired
    feedback: str = ""  # the previous answer as shown back to the LLM in a repair prompt
    usable: bool | None = None  # whether the artefacts are usable though invalid (a valid solid); None: unknown
    score: float = 0.0  # how much of the task the attempt holds (job-defined; xmi: objects written); the last resort tries the highest first
    incomplete: bool = False  # the answer is unfinished (xmi: objects listed, never written): the next call continues it
    continued: bool = False  # this attempt continued an unfinished answer (it is not a repair of errors)
    facts: dict[str, Any] = Field(default_factory=dict)  # key figures of the artefact, for "what changed" (cad: size, volume; sim: KPIs)

    @property
    def error_count(self) -> int:
        return len(errors(self.diagnostics))

    @property
    def ok(self) -> bool:
        return bool(self.artefacts) and self.error_count == 0


@runtime_checkable
class Job(Protocol):
    """One task bound to one strategy: builds prompts and judges replies."""

    strategy: str
    prompt_variant: str
    schema: dict[str, Any] | None  # JSON schema for constrained decoding, or None; read before every call (a job may narrow it for a follow-up)
    max_tokens: int
    repair_temperature: float  # sampling temperature of repair calls (first call: 0)

    def first_messages(self) -> list[Message]: ...

    def repair_messages(self, previous: Outcome) -> list[Message]: ...

    def evaluate(self, raw: str) -> Outcome: ...

    # optional: ``last_resort(best: Outcome) -> Outcome | None``, called once when no attempt
    # passed; what it gives up must be named in a warning (the xmi job prunes ids nobody wrote)
    # optional: ``agreement(outcome) -> float`` in [0, 1], how well an attempt agrees with the
    # description (sim: the share of stated facts carried); test-time search ranks samples by it
    # optional: ``sample_messages(i) -> list[Message]``, another first prompt (another example) for sample i > 0


@runtime_checkable
class Target(Protocol):
    """A target plugin (registered under the ``conceptwright.targets`` entry point)."""

    name: str
    strategies: tuple[str, ...]
    help: str

    def prepare(self, spec: str, *, strategy: str, profile: "Profile", **options: Any) -> Job:
        """Load inputs (raise InputError when they are bad) and return a job."""
        ...

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the target's own CLI options (--spec/--out/... are added by the CLI)."""
        ...

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]: ...

    def outputs_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        """Artefact kind -> path, from the CLI flags (what ``write_outputs`` takes)."""
        ...

    def write_outputs(self, result: "Result", dest: Any) -> list[Path]:
        """Write the artefacts to ``dest``: a folder (default names) or a mapping kind -> path;
        return the paths written. No argparse: the Python API calls it too."""
        ...
