"""Prompt templates, per-model profiles and calibrated variants."""
from .profiles import Profile, profile_for
from .template import PromptError, Template, template_for
from .variant import Variant, find_variant

__all__ = ["Profile", "PromptError", "Template", "Variant", "find_variant", "profile_for", "template_for"]
