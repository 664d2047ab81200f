"""Validators, sandboxed runners and renderers that the agent and users call."""
from .diagnostics import Diagnostic, errors, render_all

__all__ = ["Diagnostic", "errors", "render_all"]
