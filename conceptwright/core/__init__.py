"""The bottom layer every other one may use: diagnostics, input errors, JSON extraction,
JSON-schema helpers. It imports nothing of conceptwright."""
from .diagnostics import Diagnostic, errors, render_all
from .errors import InputError

__all__ = ["Diagnostic", "errors", "render_all", "InputError"]
