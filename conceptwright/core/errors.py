"""Errors every layer may raise."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input (arguments, metamodel, spec, model file): reported in one line, exit code 1."""
