"""Prompts as data: a target's prompt is a versioned template of named sections, each a text
with ``{placeholders}`` filled from the rendering's context. A profile may carry section
overrides (from a calibrated prompt variant); without them a rendering is the default text."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.errors import InputError

if TYPE_CHECKING:
    from .profiles import Profile

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PromptError(InputError):
    """A section cannot be rendered (a placeholder the rendering does not provide, an unknown section)."""


@dataclass(frozen=True)
class Template:
    """``target``'s prompt, version ``version``: section name -> default text.

    ``placeholders``: the names a section may use; ``{name}`` of any other word is literal
    text (JSON examples hold braces). ``tunable``: the sections a calibration may rewrite."""

    target: str
    version: str
    sections: dict[str, str]
    placeholders: frozenset[str]
    tunable: tuple[str, ...] = ()
    forms: dict[str, Callable[["Profile"], str]] = field(default_factory=dict)  # section -> the form a profile uses
    uses: dict[str, Callable[["Profile"], bool]] = field(default_factory=dict)  # section -> whether a profile renders it (default: yes)

    def section_name(self, name: str, profile: "Profile | None" = None) -> str:
        """The section that ``name`` stands for under ``profile`` (e.g. its compact form for a compact profile)."""
        if profile is not None and name in self.forms:
            return self.forms[name](profile)
        return name

    def in_use(self, profile: "Profile") -> list[str]:
        """The tunable sections a prompt under ``profile`` renders (what a calibration rewrites)."""
        return list(dict.fromkeys(self.section_name(n, profile) for n in self.tunable
                                  if n not in self.uses or self.uses[n](profile)))

    def raw(self, name: str, profile: "Profile | None" = None) -> str:
        """The unrendered text of section ``name`` (no form mapping): the profile's override, else the default."""
        if name not in self.sections:
            raise PromptError(f"the {self.target} prompt template v{self.version} has no section '{name}'")
        overrides = profile.sections if profile is not None else {}
        return overrides.get(name, self.sections[name])

    def text(self, name: str, profile: "Profile | None" = None, **context: str) -> str:
        """Section ``name`` in the form ``profile`` uses, rendered with ``context``."""
        return self.exact(self.section_name(name, profile), profile, **context)

    def exact(self, name: str, profile: "Profile | None" = None, **context: str) -> str:
        """Section ``name`` itself (no form mapping), rendered with ``context``."""
        return self.fill(name, self.raw(name, profile), context)

    def fill(self, name: str, text: str, context: dict[str, str]) -> str:
        """Substitute the placeholders of ``text`` in one pass (values holding braces stay as they are)."""

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in self.placeholders:
                return m.group(0)
            if key not in context:
                raise PromptError(f"prompt section '{name}' of {self.target} v{self.version} uses {{{key}}}, "
                                  f"which this prompt does not provide ({', '.join(sorted(context)) or 'none'})")
            return context[key]

        return _FIELD.sub(sub, text)

    def fields(self, text: str) -> set[str]:
        """The placeholders ``text`` uses."""
        return {m.group(1) for m in _FIELD.finditer(text) if m.group(1) in self.placeholders}

    def check_override(self, name: str, text: str) -> str | None:
        """Why ``text`` cannot replace section ``name`` (None when it can): it must be non-empty and
        use exactly the placeholders of the default, so it renders wherever the default does and
        keeps what the default passes on (the description, the diagnostics)."""
        if name not in self.sections:
            return f"no section '{name}' in the {self.target} template"
        if not text.strip():
            return f"section '{name}' is empty"
        have, want = self.fields(text), self.fields(self.sections[name])
        if have != want:
            shown = ", ".join("{" + f + "}" for f in sorted(want)) or "no placeholders"
            return f"section '{name}' must use {shown} like its default"
        return None


TEMPLATES: dict[str, Template] = {}


def register(template: Template) -> Template:
    TEMPLATES[template.target] = template
    return template


def template_for(target: str) -> Template | None:
    """The prompt template of a built-in target (None for a target without one)."""
    if not TEMPLATES:
        from . import cad, sim, xmi  # noqa: F401  (each registers its template)
    return TEMPLATES.get(target)
