"""Prompt templates, per-model profiles and calibrated variants."""
from .profiles import Profile, profile_for

__all__ = ["Profile", "profile_for"]
