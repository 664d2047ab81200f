"""Diagnostics: what a validator found, precise enough for an LLM to fix."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Diagnostic(BaseModel):
    code: str  # stable, kebab-case: "unknown-class", "lower-bound", ...
    message: str  # written for the LLM: what is wrong and how to fix it
    severity: Literal["error", "warning"] = "error"
    obj: str | None = None  # id of the object (or feature/element) at fault
    cls: str | None = None  # its class, when known
    feature: str | None = None  # the attribute/reference/parameter at fault

    def key(self) -> tuple[str, str | None, str | None]:
        """Identity used to tell whether a repair round made progress."""
        return (self.code, self.obj, self.feature)

    def render(self) -> str:
        where = ".".join(p for p in (self.obj, self.feature) if p)
        head = f"[{self.code}]" + (f" {where}" if where else "")
        return f"{head}: {self.message}"


def errors(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity == "error"]


def render_all(diags: list[Diagnostic], limit: int = 25) -> str:
    lines = [f"- {d.render()}" for d in diags[:limit]]
    if len(diags) > limit:
        lines.append(f"- ... and {len(diags) - limit} more")
    return "\n".join(lines)
