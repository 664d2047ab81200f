"""The xmi target: Ecore metamodel + description -> valid XMI instance model."""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..agent.protocol import InputError, Outcome
from .outputs import Destination, destinations, write, write_artefacts
from .reply import load_model, parse_reply
from ..agent.result import Result
from ..compilers.xmi.fixes import autofix, materialize_children, prune_dangling
from ..compilers.xmi.model import InstanceModel, parse_model
from ..compilers.xmi.example import example_instance
from ..compilers.xmi import mentions
from ..compilers.xmi.metamodel import Metamodel
from ..compilers.xmi.schema import instance_schema, objects_by_id_schema, summary
from ..compilers.xmi.to_dot import to_dot
from ..compilers.xmi.to_xmi import relative_location, to_xmi
from ..llm.base import Message
from ..prompts import xmi as prompts
from ..prompts.profiles import Profile
from ..core import rules
from ..core.diagnostics import Diagnostic, errors, render_all
from ..core.spans import restrict_strings, stated_names, stated_strings
from ..core.jsonparse import extract_json
from ..tools.xmi.check import check_model, missing_objects
from ..tools.render import render
from ..tools.xmi.validate import validate_xmi


MAX_ASKED = 20  # missing objects asked for in one follow-up


def _merge(base: InstanceModel, extra: InstanceModel) -> tuple[InstanceModel, int] | None:
    """The previous answer plus the follow-up's objects whose ids it did not have; None when the
    follow-up is a whole new answer instead (most of its objects are ones the previous had)."""
    have = {o.id for o in base.objects}
    new = [o for o in extra.objects if o.id not in have]
    if len(extra.objects) - len(new) > len(new):
        return None
    return InstanceModel(objects=[*base.objects, *new]), len(new)


class _XmiJob:
    _merge_into: InstanceModel | None = None

    def __init__(self, mm: Metamodel, spec: str, profile: Profile, metamodel_location: str | None) -> None:
        self.mm = mm
        self.spec = spec
        self.profile = profile
        self.prompt_variant = f"{profile.name}/{profile.variant}"
        self.max_tokens = profile.max_tokens
        self.repair_temperature = profile.repair_temperature
        self.metamodel_location = metamodel_location
        self.summary = summary(mm)
        roots = mm.root_classes()
        self.root = roots[0] if roots else next(n for n, c in mm.classes.items() if c.concrete)
        self._first: list[Message] = []

    def repair_messages(self, previous: Outcome) -> list[Message]:
        problems = errors(previous.diagnostics)
        return prompts.repair_messages(self._first, previous.feedback, render_all(problems), self.previous_label,
                                       self.profile)


STATED_STRINGS = rules.register(
    "xmi", "stated-strings", "fix",
    "with a profile's faithful_strings (tiny models): string attributes may only take the description's own names and "
    "phrases under the grammar, and the worked example is written with them, so the model cannot copy placeholders",
    reads_description=True)


MENTIONS = rules.register(
    "xmi", "mentions", "fix",
    "with a profile's mentions (tiny models): the first answer labels the description's own names, numbers and enum "
    "words with this metamodel's classes, attributes and containment references (the grammar allows nothing else), "
    "and our lowering builds the objects, so no object or string is invented and none the description names is skipped",
    reads_description=True)


def profile_mentions(profile: Profile) -> bool:
    return profile.mentions and profile.use_schema


def _stated(spec: str, profile: Profile) -> list[str]:
    """The description's own strings, when this profile holds string attributes to them (and the rule is on)."""
    if not (profile.faithful_strings and profile.use_schema and rules.is_on(STATED_STRINGS.name)):
        return []
    return stated_strings(spec)


def _with_values(model: InstanceModel, mm: Metamodel, values: list[str]) -> InstanceModel:
    """The example with the description's strings in place of synthetic ones (in order, cycling)."""
    data = model.dump()
    i = 0
    for obj in data["objects"]:
        info = mm.classes[obj["class"]]
        for name, value in list(obj.get("attrs", {}).items()):
            f = info.settable().get(name)
            if f is not None and f.kind == "string" and isinstance(value, str):
                obj["attrs"][name] = values[i % len(values)]
                i += 1
    return InstanceModel.model_validate(data)


class ConceptualJob(_XmiJob):
    """The LLM writes the conceptual model; our compiler writes the XMI."""

    strategy = "conceptual"
    previous_label = "JSON"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._stated = _stated(self.spec, self.profile)
        self._schema = self._restrict(instance_schema(self.mm)) if self.profile.use_schema else None
        self.schema = self._schema  # narrowed for a follow-up that asks for missing objects
        own = example_instance(self.mm) if self.profile.example_kind == "metamodel" else None
        if own is not None and self._stated:
            own = _with_values(own, self.mm, self._stated)
        if own is not None and errors(check_model(own, self.mm)):  # never show a model an invalid example
            own = None
        own_json = json.dumps(own.dump(), ensure_ascii=False) if own is not None else None
        self._first = prompts.conceptual_messages(self.summary, self.root, self.spec, self.profile, own_json)
        self._mentions = (mentions.prepare(self.spec, self.mm, self.root)
                          if profile_mentions(self.profile) and rules.is_on(MENTIONS.name) else [])
        self._labelling = False  # the reply in hand answers the mentions prompt
        self._answering = False  # ... or the question what the lowered model's references point to
        self._lowered: InstanceModel | None = None
        self._questions: list[mentions.RefQuestion] = []

    def _restrict(self, schema: dict[str, Any]) -> dict[str, Any]:
        return restrict_strings(schema, self._stated) if self._stated else schema

    def first_messages(self) -> list[Message]:
        self._merge_into, self.schema = None, self._schema
        if self._mentions:  # a tiny model labels the description's mentions; repairs are ordinary JSON
            self._labelling, self.schema = True, mentions.mentions_schema(self._mentions)
            return prompts.mentions_messages(self.summary, self.spec, [(m.key, m.options) for m in self._mentions], self.profile)
        return list(self._first)

    def repair_messages(self, previous: Outcome) -> list[Message]:
        """Objects the previous answer lists but never wrote are asked for by id, alone (and merged
        into that answer); any other problem gets the usual repair prompt. Under constrained decoding
        the follow-up's schema holds exactly those ids, each with the classes its reference allows."""
        self._merge_into, self.schema = None, self._schema
        if self._lowered is not None and previous.incomplete:
            return self._reference_messages()
        self._lowered = None
        base = InstanceModel.model_validate(previous.conceptual) if previous.incomplete else None
        missing = missing_objects(base, self.mm) if base is not None else {}
        if not missing:
            return super().repair_messages(previous)
        self._merge_into = base
        asked = list(missing.items())[:MAX_ASKED]
        if self._schema is not None:
            self.schema = self._restrict(objects_by_id_schema(self.mm, {oid: classes for oid, (_, _, classes) in asked}))
        lines = [f'- "{oid}": a {" or ".join(classes) or "object"} (listed in {owner}.{ref})'
                 for oid, (owner, ref, classes) in asked]
        return prompts.missing_objects_messages(self._first, previous.feedback, lines, self.root, self.profile)

    def evaluate(self, raw: str) -> Outcome:
        if self._labelling:
            return self._evaluate_labels(raw)
        if self._answering:
            return self._evaluate_references(raw)
        if self._stated:  # the reply was decoded under the description's strings
            rules.record(STATED_STRINGS)
        base, self._merge_into = self._merge_into, None
        parsed = parse_reply(raw, parse_model)
        if isinstance(parsed, Outcome):
            return parsed
        model, fixes = parsed
        merged = _merge(base, model) if base is not None else None
        if merged is not None:
            model, added = merged
            fixes.append(f"merged the {added} missing object(s) the follow-up wrote into the previous answer")
        out = self.evaluate_model(model, fixes)
        out.continued = merged is not None
        return out

    def agreement(self, outcome: Outcome) -> float:
        """The share of the description's stated names that some string value of the model carries
        (test-time search ranks valid samples by it)."""
        names = {n for n, _ in stated_names(self.spec)}
        if not names or not isinstance(outcome.conceptual, dict):
            return 0.0
        values = {str(v) for o in outcome.conceptual.get("objects", []) if isinstance(o, dict)
                  for a in (o.get("attrs") or {}).values() for v in (a if isinstance(a, list) else [a])}
        return len(names & values) / len(names)

    def _evaluate_labels(self, raw: str) -> Outcome:
        self._labelling, self.schema = False, self._schema
        try:
            labels = extract_json(raw)
        except ValueError as exc:
            return Outcome(diagnostics=[Diagnostic(code="bad-json", message=f"the labels are not JSON: {exc}")], feedback=raw)
        if not isinstance(labels, dict):
            return Outcome(diagnostics=[Diagnostic(code="bad-json", message="the labels are not a JSON object")], feedback=raw)
        rules.record(MENTIONS)
        model = mentions.lower(labels, self._mentions, self.mm, self.root)
        out = self.evaluate_model(model, [f"built {len(model.objects)} object(s) from the labels of "
                                          f"{len(self._mentions)} mention(s) of the description"])
        self._questions = mentions.reference_questions(model, self.mm)
        if self._questions:  # the next call says what the references point to (a continuation, not a repair)
            self._lowered, out.incomplete = model, True
        return out

    def _reference_messages(self) -> list[Message]:
        self._answering, self.schema = True, mentions.references_schema(self._questions)
        objects = "\n".join(f"- {o.cls} {mentions.name_of(o, self.mm) or o.id}" for o in self._lowered.objects)
        return prompts.references_messages(self.summary, self.spec, objects,
                                           [(q.key, list(q.targets) + ([] if q.required or q.many else [mentions.NONE]))
                                            for q in self._questions], self.profile)

    def _evaluate_references(self, raw: str) -> Outcome:
        self._answering, self.schema = False, self._schema
        model, self._lowered = self._lowered, None
        try:
            answers = extract_json(raw)
        except ValueError:
            answers = {}
        added = mentions.add_references(model, self._questions, answers if isinstance(answers, dict) else {})
        set_refs = sum(1 for q in self._questions if q.ref in added.by_id()[q.obj].refs)
        out = self.evaluate_model(added, [f"set {set_refs} of {len(self._questions)} reference(s) the answer names"])
        out.continued = True
        return out

    def last_resort(self, best: Outcome) -> Outcome | None:
        """When no attempt passed: drop the ids no object has, and say what was lost (a warning)."""
        if not best.conceptual:
            return None
        for with_shells in (True, False):  # empty objects for the ids keep more, where they can be valid
            model = InstanceModel.model_validate(best.conceptual)
            shells: list[str] = []
            if with_shells:
                materialize_children(model, self.mm, shells)
            pruned: list[str] = []
            prune_dangling(model, self.mm, pruned)
            if not shells and not pruned:
                continue
            out = self.evaluate_model(model, [*best.fixes, *shells, *pruned])
            if out.ok:
                lost = [*(f"{s} (empty: nothing of it was written)" for s in shells), *pruned]
                out.diagnostics.append(Diagnostic(
                    code="content-pruned", severity="warning",
                    message="no attempt wrote every object it listed; to make the model valid: " + "; ".join(lost)))
                return out
        return None

    def evaluate_model(self, model: InstanceModel, fixes: list[str] | None = None) -> Outcome:
        """Auto-fix, check, compile and validate a conceptual model (no LLM involved)."""
        fixes = list(fixes or [])
        model, more = autofix(model, self.mm)
        fixes += more
        diags = check_model(model, self.mm)
        artefacts: dict[str, str | bytes] = {}
        xmi = to_xmi(model, self.mm, metamodel_location=self.metamodel_location)
        artefacts["xmi"] = xmi
        artefacts["dot"] = to_dot(model, self.mm)
        if not bool(errors(diags)):
            # the compiled artefact must pass the same validator a hand-written XMI would
            _, xdiags = validate_xmi(xmi, self.mm)
            diags += errors(xdiags)
        data = model.dump()
        return Outcome(conceptual=data, artefacts=artefacts, diagnostics=diags, fixes=fixes,
                       feedback=json.dumps(data, ensure_ascii=False), score=len(model.objects),
                       incomplete=bool(missing_objects(model, self.mm)),
                       facts={"objects": len(model.objects), "links": sum(len(o.ref_ids(n)) for o in model.objects for n in o.refs)})


class EditJob(ConceptualJob):
    """Change an existing instance model as instructed; checked like a new one."""

    def __init__(self, mm: Metamodel, instruction: str, profile: Profile, metamodel_location: str | None,
                 current: InstanceModel) -> None:
        super().__init__(mm, instruction, profile, metamodel_location)
        self.prompt_variant += "/edit"
        self.current_json = json.dumps(current.dump(), ensure_ascii=False)  # what the prompt shows (patches apply to it)
        self._first = prompts.edit_messages(self.summary, self.root, self.current_json, instruction, profile)


def _instance(value: Any) -> InstanceModel:
    return load_model(value, InstanceModel, parse_model, "an instance model")


_XML_FENCE = re.compile(r"```(?:xml|xmi|XML)?\s*\n(.*?)```", re.S)


def extract_xml(text: str) -> str:
    m = _XML_FENCE.search(text)
    body = m.group(1) if m else text
    start = body.find("<")
    return body[start:].strip() if start >= 0 else body.strip()


class DirectJob(_XmiJob):
    """Baseline: the LLM writes the XMI itself; same validator and repair loop."""

    strategy = "direct"
    previous_label = "XMI"
    schema = None

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        packages = ", ".join(f"{p.nsPrefix} = {p.nsURI}" for p in self.mm.packages if p.nsURI)
        self._first = prompts.direct_messages(self.summary, packages, self.root, self.spec, self.profile)

    def first_messages(self) -> list[Message]:
        return list(self._first)

    def evaluate(self, raw: str) -> Outcome:
        xml = extract_xml(raw)
        model, diags = validate_xmi(xml, self.mm)
        artefacts: dict[str, str | bytes] = {"xmi": xml} if model is not None else {}
        return Outcome(conceptual=model.dump() if model else None, artefacts=artefacts, diagnostics=diags, feedback=xml)


class XmiTarget:
    name = "xmi"
    strategies = ("conceptual", "direct")
    help = "Ecore metamodel + description -> XMI instance model"

    def prepare(self, spec: str, *, strategy: str, profile: Profile, metamodel: str | Path | Metamodel | None = None,
                out: str | Path | None = None, edit: Any = None, **_: Any) -> _XmiJob:
        if metamodel is None:
            raise InputError("the xmi target needs --metamodel M.ecore")
        mm = metamodel if isinstance(metamodel, Metamodel) else Metamodel(metamodel)
        if not spec.strip():
            raise InputError("the description (--spec) is empty")
        location = relative_location(mm.path, out) if out else mm.path.name
        cls = {"conceptual": ConceptualJob, "direct": DirectJob}.get(strategy)
        if cls is None:
            raise InputError(f"unknown strategy '{strategy}' for xmi: {', '.join(self.strategies)}")
        if edit is not None:
            if strategy != "conceptual":
                raise InputError("an edit changes the conceptual model: use the conceptual strategy")
            return EditJob(mm, spec, profile, location, _instance(edit))
        return cls(mm, spec, profile, location)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--metamodel", required=True, metavar="M.ecore", help="the Ecore metamodel")
        parser.add_argument("--out", required=True, metavar="OUT.xmi", help="where to write the XMI")
        parser.add_argument("--diagram", metavar="OUT.svg|OUT.png|OUT.dot", help="also write an object diagram")

    outputs = {"xmi": "model.xmi", "diagram": "model.svg"}  # a folder destination gets these names

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"metamodel": args.metamodel, "out": args.out}

    def outputs_from_args(self, args: argparse.Namespace) -> dict[str, str | None]:
        return {"xmi": args.out, "diagram": getattr(args, "diagram", None)}

    def write_outputs(self, result: Result, dest: Destination) -> list[Path]:
        """The XMI, and the object diagram rendered as its path's suffix says (.svg, .png, .dot)."""
        paths = destinations(dest, self.outputs)
        written = write_artefacts(result.artefacts, {k: v for k, v in paths.items() if k == "xmi"})
        dot, path = result.artefacts.get("dot"), paths.get("diagram")
        if path is not None and isinstance(dot, str):
            fmt = path.suffix.lstrip(".").lower()
            try:
                data = dot.encode() if fmt == "dot" else render(dot, fmt if fmt in ("svg", "png") else "svg")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:  # the XMI stands without its picture
                print(f"conceptwright: warning: diagram {path} not written: {exc}", file=sys.stderr)
            else:
                written.append(write(path, data))
        return written
