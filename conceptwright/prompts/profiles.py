"""Per-model prompt profiles. A prompt tuned for one model loses accuracy on another, so
each model family gets its own settings; ``profiles.json`` ships the calibrated ones and a
user file (``$CONCEPTWRIGHT_PROFILES`` or ``~/.config/conceptwright/profiles.json``) can
override them. Calibrated prompt variants (``variant.py``, ``conceptwright calibrate``) are
applied on top of a profile: their decoding settings replace its own."""
from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field


class Profile(BaseModel):
    name: str
    match: list[str] = Field(default_factory=list)  # lower-case substrings of the model name
    variant: str = "v1"  # prompt variant, recorded in traces
    example: bool = True  # include a worked example in the prompt
    example_kind: str = "generic"  # "generic" (another domain) or "metamodel" (synthesised from the metamodel)
    compact: bool = False  # terser instructions for very small models
    use_schema: bool = True  # constrained decoding / structured outputs
    faithful_strings: bool = False  # string attributes drawn from the description's own words (rule xmi.stated-strings)
    mentions: bool = False  # xmi: the first answer labels the description's mentions (rule xmi.mentions)
    max_tokens: int = 3072  # output budget per call
    temperature: float = 0.0
    repair_temperature: float = 0.3  # a little sampling so a repair does not repeat the previous answer
    sections: dict[str, str] = Field(default_factory=dict)  # prompt section overrides of the variant in use (template.py)


def _load(path: Path | None = None) -> list[Profile]:
    text = path.read_text() if path else resources.files("conceptwright.prompts").joinpath("profiles.json").read_text()
    return [Profile.model_validate(p) for p in json.loads(text)]


def profiles() -> list[Profile]:
    found = _load()
    user = os.environ.get("CONCEPTWRIGHT_PROFILES") or str(Path.home() / ".config/conceptwright/profiles.json")
    if Path(user).is_file():
        found = _load(Path(user)) + found  # user profiles win
    return found


def profile_for(model_name: str, override: str | None = None) -> Profile:
    """The first profile whose name equals ``override`` or whose match hits the model name."""
    all_profiles = profiles()
    if override:
        for p in all_profiles:
            if p.name == override:
                return p
        raise ValueError(f"unknown prompt profile '{override}': {', '.join(p.name for p in all_profiles)}")
    name = model_name.lower()
    for p in all_profiles:
        if any(m in name for m in p.match):
            return p
    return next(p for p in all_profiles if p.name == "default")
