"""Validators, sandboxed runners and renderers that the agent and users call."""
from ..core.diagnostics import Diagnostic, errors, render_all

__all__ = ["Diagnostic", "errors", "render_all"]
