"""Prompt variants: section texts and decoding settings for one target's template version and one
model, with the evidence that chose them; where they are stored and which one a run uses.

Lookup (``find_variant``): an explicit variant (a name or a JSON path, ``--variant``, or
``$CONCEPTWRIGHT_VARIANT``; ``default`` means the template's defaults) > the user store
(``$CONCEPTWRIGHT_HOME/prompts/<target>/<model-key>.json``, default home
``~/.local/share/conceptwright``) > the variants shipped in ``conceptwright/prompts/variants/``
> none (the template's defaults). A variant for another template version is skipped with a
one-line warning."""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .profiles import Profile
from .template import PromptError, template_for

Source = Literal["default", "calibrate", "transfer", "hand"]


class Decoding(BaseModel):
    """The decoding part of a variant: each set field replaces the profile's (None keeps it)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(None, ge=64, le=32768)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    repair_temperature: float | None = Field(None, ge=0.0, le=2.0)
    example: bool | None = None
    example_kind: Literal["generic", "metamodel"] | None = None
    compact: bool | None = None
    faithful_strings: bool | None = None  # xmi: string attributes held to the description's own words
    mentions: bool | None = None  # xmi: the first answer labels the description's mentions (tiny models)

    def settings(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SplitScores(BaseModel):
    calibration: float | None = None
    heldout: float | None = None


class Evidence(BaseModel):
    """What a variant was measured on and how it did against the template's defaults."""

    cases: str = ""  # the cases file
    calibration_cases: list[str] = Field(default_factory=list)
    heldout_cases: list[str] = Field(default_factory=list)
    default: SplitScores = Field(default_factory=SplitScores)
    variant: SplitScores = Field(default_factory=SplitScores)
    llm_calls: int = 0  # task calls of the search and the checks
    reflection_calls: int = 0
    tokens: int = 0
    minutes: float = 0.0
    accepted: bool = False
    reason: str = ""
    rule: str = ""  # transfer: the plain-language rule it was derived by
    sources: list[str] = Field(default_factory=list)  # transfer: the variants it came from


class Variant(BaseModel):
    """A prompt variant of ``target``'s template version ``template_version`` for ``model`` (a model key)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._-]+$")
    target: str
    template_version: str
    model: str
    source: Source = "hand"
    sections: dict[str, str] = Field(default_factory=dict)
    decoding: Decoding = Field(default_factory=Decoding)
    evidence: Evidence | None = None

    def apply(self, profile: Profile) -> Profile:
        """``profile`` with this variant's decoding settings and section overrides; traces name the variant."""
        return profile.model_copy(update={**self.decoding.settings(), "sections": dict(self.sections), "variant": self.name})

    def problems(self) -> list[str]:
        """Why this variant cannot be used with the installed template (empty: it can)."""
        template = template_for(self.target)
        if template is None:
            return [f"no prompt template for target '{self.target}'"]
        return [p for name, text in self.sections.items() if (p := template.check_override(name, text))]


def model_key(model_name: str) -> str:
    """The file name a model's variants are stored under: ``gguf:/m/qwen2.5-coder.gguf`` -> ``qwen2.5-coder``."""
    name = model_name.strip()
    for prefix in ("gguf:",):
        name = name.removeprefix(prefix)
    name = name.rsplit("/", 1)[-1].removesuffix(".gguf")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-").lower() or "model"


def home() -> Path:
    return Path(os.environ.get("CONCEPTWRIGHT_HOME") or Path.home() / ".local/share/conceptwright")


def user_dir(target: str) -> Path:
    return home() / "prompts" / target


def shipped_dir(target: str | None = None) -> Path:
    base = Path(str(resources.files("conceptwright.prompts").joinpath("variants")))
    return base / target if target else base


def load_variant(path: str | Path) -> Variant:
    """A variant file; a missing or malformed one is a one-line PromptError."""
    path = Path(path)
    try:
        return Variant.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PromptError(f"cannot read the prompt variant {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise PromptError(f"{path} is not a prompt variant: {where}: {first['msg']}") from None


def save_variant(variant: Variant, path: str | Path) -> Path:
    """Write atomically (a killed run never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".variant-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(variant.model_dump_json(indent=1, exclude_none=True) + "\n")
    os.replace(tmp, path)
    return path


def candidates_dir(target: str) -> Path:
    """Every calibration and transfer result (accepted or not) is kept here; the active one is ``<model-key>.json``."""
    return user_dir(target) / "candidates"


def store_result(variant: Variant, *, activate: bool) -> Path:
    """Keep ``variant`` among the candidates and, when ``activate``, make it the model's active variant."""
    path = save_variant(variant, candidates_dir(variant.target) / f"{variant.name}.json")
    if activate:
        save_variant(variant, user_dir(variant.target) / f"{variant.model}.json")
    return path


def _named(name: str, target: str | None) -> Path | None:
    """A variant by name: a candidate or an active file of the user store, or a shipped one."""
    targets = [target] if target else sorted({p.parent.name for p in shipped_dir().glob("*/*.json")} |
                                              {p.name for p in (home() / "prompts").glob("*") if p.is_dir()})
    folders = [folder for t in targets for folder in (candidates_dir(t), user_dir(t), shipped_dir(t))]
    for folder in folders:
        if (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    for folder in folders:  # an active or shipped file is named by its model: look inside
        for path in sorted(folder.glob("*.json")):
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("name") == name:
                    return path
            except (OSError, ValueError, AttributeError):
                continue
    return None


def locate(ref: str, target: str | None = None) -> Path:
    """The file of a variant given as a path or a name; PromptError when there is none."""
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return path
    found = _named(ref, target)
    if found is None:
        raise PromptError(f"no prompt variant '{ref}' (not a file, not in {home() / 'prompts'} or the shipped variants)")
    return found


def _usable(variant: Variant, where: Path, target: str) -> bool:
    template = template_for(target)
    if variant.target != target:
        raise PromptError(f"prompt variant {variant.name} ({where}) is for the {variant.target} target, not {target}")
    if template is not None and variant.template_version != template.version:
        print(f"conceptwright: warning: prompt variant {variant.name} ({where}) is for {target} template "
              f"v{variant.template_version}, this is v{template.version}: ignored", file=sys.stderr)
        return False
    if problems := variant.problems():
        raise PromptError(f"prompt variant {variant.name} ({where}): {problems[0]}")
    return True


DEFAULT = "default"  # the explicit variant that means the template's defaults (no lookup)


def find_variant(target: str, model_name: str, explicit: str | None = None) -> Variant | None:
    """The variant a run of ``target`` with ``model_name`` uses (None: the template's defaults).
    ``explicit`` (else ``$CONCEPTWRIGHT_VARIANT``): a name, a JSON path, or "default"."""
    explicit = explicit or os.environ.get("CONCEPTWRIGHT_VARIANT") or None
    if explicit == DEFAULT:
        return None
    if explicit:
        path = locate(explicit, target)
        variant = load_variant(path)
        return variant if _usable(variant, path, target) else None
    key = model_key(model_name)
    for path in (user_dir(target) / f"{key}.json", shipped_dir(target) / f"{key}.json"):
        if path.is_file():
            variant = load_variant(path)
            if _usable(variant, path, target):
                return variant
    return None


def with_variant(profile: Profile, target: str, model_name: str, explicit: str | None = None) -> Profile:
    """``profile`` with the variant ``find_variant`` picks applied (unchanged when there is none)."""
    if template_for(target) is None and not (explicit or os.environ.get("CONCEPTWRIGHT_VARIANT")):
        return profile
    variant = find_variant(target, model_name, explicit)
    return variant.apply(profile) if variant is not None else profile


def all_variants(target: str | None = None) -> list[tuple[str, Path, Variant]]:
    """(where, path, variant) of every stored variant: ``active`` and ``candidate`` (user store), ``shipped``."""
    rows: list[tuple[str, Path, Variant]] = []
    targets = [target] if target else ["xmi", "cad", "sim"]
    for t in targets:
        for where, folder in (("active", user_dir(t)), ("candidate", candidates_dir(t)), ("shipped", shipped_dir(t))):
            for path in sorted(folder.glob("*.json")):
                try:
                    rows.append((where, path, load_variant(path)))
                except PromptError as exc:
                    print(f"conceptwright: warning: {exc}", file=sys.stderr)
    return rows


def promote(ref: str, target: str | None = None) -> Path:
    """Copy a stored variant into the shipped variants (``conceptwright/prompts/variants/<target>/<model-key>.json``)."""
    variant = load_variant(locate(ref, target))
    if problems := variant.problems():
        raise PromptError(f"prompt variant {variant.name}: {problems[0]}")
    return save_variant(variant, shipped_dir(variant.target) / f"{variant.model}.json")


def default_variant(target: str, model_name: str, profile: Profile) -> Variant:
    """The template's defaults as a variant (what a calibration starts from)."""
    template = template_for(target)
    if template is None:
        raise PromptError(f"no prompt template for target '{target}'")
    sections = {name: template.raw(name, profile) for name in template.in_use(profile)}
    return Variant(name=f"{model_key(model_name)}-default", target=target, template_version=template.version,
                   model=model_key(model_name), source="default", sections=sections)


def as_json(variant: Variant) -> str:
    return json.dumps(variant.model_dump(exclude_none=True), indent=1, ensure_ascii=False)
