"""``conceptwright prompts transfer``: a prompt variant for a new model without a search.

From the calibrated variants of one or more models (one model: its changes against the
defaults), derive what they change systematically: a section every source rewrote the same way
(the same text, or the same lines added and removed), a decoding setting every source moved
(their mean). That rule, in plain words with its evidence, gives the new model's variant; it is
run against the defaults on the cases and made active only when it does not score worse."""
from __future__ import annotations

import difflib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent.protocol import InputError
from ..llm.base import Message
from ..prompts.profiles import Profile, profile_for
from ..prompts.template import PromptError, Template, template_for
from ..prompts.variant import (Decoding, Evidence, SplitScores, Variant, find_variant, home, load_variant, locate,
                               model_key, store_result)
from . import get_suite
from .prompt_runs import SWEPT, DECODING, CaseRunner, seed_candidate, stamp


@dataclass
class TransferRule:
    """What the sources change systematically, and the words that say so."""

    sections: dict[str, str] = field(default_factory=dict)
    decoding: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.lines) or "the sources change nothing in common: the defaults"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _common_edit(default: str, texts: list[str]) -> tuple[list[str], list[str]]:
    """The lines every text adds to ``default`` and the lines every text removes from it."""
    added: set[str] | None = None
    removed: set[str] | None = None
    for text in texts:
        diff = list(difflib.ndiff(default.splitlines(), text.splitlines()))
        plus = {d[2:] for d in diff if d.startswith("+ ") and d[2:].strip()}
        minus = {d[2:] for d in diff if d.startswith("- ") and d[2:].strip()}
        added = plus if added is None else added & plus
        removed = minus if removed is None else removed & minus
    order = texts[0].splitlines()
    return [line for line in order if line in (added or set())], sorted(removed or set())


def derive_rule(sources: list[Variant], template: Template, sections_too: bool = True) -> TransferRule:
    """The transfer rule of ``sources`` (variants of one template) against ``template``'s defaults."""
    rule = TransferRule()
    names = [f"{v.model} ({v.name})" for v in sources]
    every = "its calibration" if len(sources) == 1 else f"all {len(sources)} calibrations ({', '.join(names)})"
    if sections_too:
        for name in sorted({n for v in sources for n in v.sections}):
            changed = [v for v in sources if name in v.sections]
            default = template.sections.get(name)
            if default is None:
                continue
            if len(changed) < len(sources):
                rule.lines.append(f"Section '{name}' was changed only for {', '.join(v.model for v in changed)}: not carried over.")
                continue
            texts = [v.sections[name] for v in changed]
            if all(t == texts[0] for t in texts):
                rule.sections[name] = texts[0]
                rule.lines.append(f"Section '{name}': {every} rewrote it to the same text "
                                  f"({len(_lines(texts[0]))} lines against {len(_lines(default))}): carried over.")
                continue
            added, removed = _common_edit(default, texts)
            if not added and not removed:
                rule.lines.append(f"Section '{name}' was rewritten differently by each: not carried over.")
                continue
            kept = [line for line in default.splitlines() if line not in removed]
            rule.sections[name] = "\n".join(kept + added)
            rule.lines.append(f"Section '{name}': every source added {len(added)} line(s) ("
                              + "; ".join(f'"{a[:60]}"' for a in added[:3]) + f") and removed {len(removed)}: carried over.")
    for key in Decoding.model_fields:
        values = [getattr(v.decoding, key) for v in sources]
        if any(x is None for x in values):
            continue
        if all(isinstance(x, bool) for x in values) or all(isinstance(x, str) for x in values):
            if len(set(values)) == 1:
                rule.decoding[key] = values[0]
                rule.lines.append(f"Decoding: {every} set {key} = {values[0]}.")
            continue
        mean = sum(values) / len(values)
        rule.decoding[key] = round(mean) if all(isinstance(x, int) for x in values) else round(mean, 3)
        rule.lines.append(f"Decoding: {every} set {key} (to {', '.join(str(x) for x in values)}): {rule.decoding[key]}.")
    return rule


def _source(ref: str, target: str) -> Variant:
    """A source: the calibrated variant of a model (active or shipped), or a variant by name or path."""
    found = find_variant(target, ref)
    if found is not None:
        return found
    try:
        return load_variant(locate(ref))
    except PromptError:
        raise InputError(f"no calibrated {target} prompt variant for '{ref}': run conceptwright calibrate --model {ref} "
                         f"--target {target} first (or name a variant)") from None


@dataclass
class Transfer:
    variant: Variant
    path: Path
    accepted: bool
    rule: TransferRule
    evidence: Evidence


def transfer(sources: list[str], to_model: str, target: str, *, from_target: str | None = None,
             cases: str | Path | None = None, limit: int = 0, max_repairs: int = 1, reflect_model: str | None = None,
             out: str | Path | None = None, resume: bool = False) -> Transfer:
    """Derive a variant of ``target`` for ``to_model`` from ``sources``' variants, evaluate it against the defaults, store it."""
    from .. import jobs as engine

    template = template_for(target)
    if template is None:
        raise InputError(f"the {target} target has no prompt template")
    if not sources:
        raise InputError("transfer needs at least one source model (--from)")
    src_target = from_target or target
    variants = [_source(ref, src_target) for ref in sources]
    rule = derive_rule(variants, template, sections_too=src_target == target)
    if src_target != target:
        rule.lines.insert(0, f"From the {src_target} target only the decoding settings carry over (its sections are another template's).")
    started = time.perf_counter()
    llm_calls = 0
    if reflect_model:
        summary = engine._backend(reflect_model).complete([Message(role="user", content=(
            "In two sentences of plain language, say what these prompt changes for other models do and why they might "
            f"help a new model:\n{rule.text}"))], max_tokens=200, temperature=0.0)
        rule.lines.append(f"Summary: {summary.text.strip()}")
        llm_calls += 1
    profile: Profile = profile_for(engine._backend(to_model).name)
    base = seed_candidate(template, profile)
    sections = {k: v for k, v in rule.sections.items() if template.check_override(k, v) is None}
    carried = set(json.loads(base[DECODING])) | set(SWEPT)  # the tuned settings and the swept on/off ones
    decoding = {**json.loads(base[DECODING]), **{k: v for k, v in rule.decoding.items() if k in carried}}
    candidate = {**base, **sections, DECODING: json.dumps(decoding)}
    suite = get_suite(target)
    case_list = suite.load_cases(Path(cases) if cases else None)
    case_list = case_list[:limit] if limit else case_list
    out = Path(out) if out else home() / "transfers" / target / model_key(to_model)
    if out.exists() and not resume:
        shutil.rmtree(out)
    runner = CaseRunner(suite, template, to_model, out, max_repairs=max_repairs)
    default_score = runner.mean(case_list, base)
    variant_score = runner.mean(case_list, candidate) if candidate != base else default_score
    if candidate == base:
        accepted, reason = False, "the sources change nothing in common that applies here: the defaults stay"
    elif variant_score < default_score:
        accepted, reason = False, (f"scored {variant_score:.3f} against the defaults' {default_score:.3f}: the defaults stay "
                                   f"(try a short calibration: conceptwright calibrate --model {to_model} --target {target} --budget 20)")
    else:
        accepted, reason = True, f"scored {variant_score:.3f} against the defaults' {default_score:.3f} (not worse)"
    evidence = Evidence(cases=str(cases or f"built-in {target} suite"), heldout_cases=[c["id"] for c in case_list],
                        default=SplitScores(heldout=default_score), variant=SplitScores(heldout=variant_score),
                        llm_calls=runner.calls + llm_calls, tokens=runner.tokens, minutes=round((time.perf_counter() - started) / 60, 2),
                        accepted=accepted, reason=reason, rule=rule.text, sources=[v.name for v in variants])
    changed = {k: v for k, v in decoding.items() if json.loads(base[DECODING]).get(k) != v}
    key = model_key(engine._backend(to_model).name)  # the name runs look variants up by
    variant = Variant(name=f"{key}-{target}-transfer-{stamp()}", target=target,
                      template_version=template.version, model=key, source="transfer",
                      sections=sections, decoding=Decoding(**changed), evidence=evidence)
    return Transfer(variant, store_result(variant, activate=accepted), accepted, rule, evidence)
