"""The cad target: description -> conceptual part model (JSON) -> parametric CadQuery
script -> STEP, STL, SVG and PNG, checked geometrically. Strategy ``direct`` lets the LLM
write the CadQuery code itself (the baseline); both run in the sandboxed warm worker and
go through the same validator. ``edit_part`` changes an existing part by instruction."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from ..agent.protocol import InputError, Outcome
from .outputs import Destination, destinations, write_artefacts
from .reply import load_model, parse_reply
from ..agent.result import Result
from ..compilers.cad.parse import parse_part
from ..tools.cad.check import check_part
from ..compilers.cad.model import Part
from ..compilers.cad.schema import part_schema
from ..compilers.cad.to_cadquery import compile_part, expected_holes
from ..llm.base import LLM, LLMError, Message
from ..prompts import cad as prompts
from ..prompts.profiles import Profile
from ..tools.cad.runner import CadJob, CadReport, CadRunner, CodeBlock, Export, shared_runner
from ..tools.cad.fact_check import FactContext, facts_enabled, feature_sizes
from ..tools.cad.facts import Fact, apply_labels, extract, label_prompt, label_schema
from ..tools.cad.validate import Expectations, HoleSpec, check_report, from_description
from ..core.diagnostics import Diagnostic, render_all, errors

_ARTEFACTS = {"part.step": "step", "part.stl": "stl", "part.svg": "svg", "part.png": "png"}


class _CadJob:
    """Shared by both strategies: the runner, the exports and the repair prompt."""

    strategy: str
    what: str  # how the reply is called in the repair prompt

    def __init__(self, spec: str, profile: Profile, *, runner: CadRunner | None = None, pictures: bool = True,
                 stl_tolerance: float | None = None, timeout_s: float = 60.0, fact_labeller: LLM | None = None) -> None:
        self.spec = spec
        self.profile = profile
        self.prompt_variant = f"{profile.name}/{profile.variant}"
        self.max_tokens = profile.max_tokens
        self.repair_temperature = profile.repair_temperature
        self.runner = runner or shared_runner()
        self.exports: list[Export] = ["step", "stl"] + (["svg", "png"] if pictures else [])
        self.stl_tolerance = stl_tolerance
        self.timeout_s = timeout_s
        self._first: list[Message] = []
        self.facts: list[Fact] | None = extract(spec)  # the description's stated facts (None: not checked)
        if fact_labeller is not None:
            self.facts = label_facts(spec, self.facts, fact_labeller)

    def description_expectations(self, units: str, features: list[Any] | None = None) -> Expectations:
        """The stated facts checked on the measured solid; the older description checks when every fact rule is off."""
        if self.facts is not None and facts_enabled():
            return Expectations(facts=FactContext(spec=self.spec, facts=self.facts, units=units, features=features or []))
        return from_description(self.spec, units)

    def first_messages(self) -> list[Message]:
        return list(self._first)

    def repair_messages(self, previous: Outcome) -> list[Message]:
        problems = errors(previous.diagnostics)
        return self._first + [Message(role="assistant", content=previous.feedback),
                              prompts.repair_message(self.what, render_all(problems), self.spec, self.profile)]

    def _run(self, blocks: list[CodeBlock], run_name: str, result_names: list[str]) -> CadReport:
        return self.runner.run(CadJob(blocks=blocks, run_name=run_name, result_names=result_names, exports=self.exports,
                                      stl_tolerance=self.stl_tolerance, timeout_s=self.timeout_s))


def label_facts(spec: str, facts: list[Fact], llm: LLM) -> list[Fact]:
    """The optional constrained step: the LLM chooses one role for each span already extracted (its schema has
    no field for a value, so it cannot invent one); any failure keeps the deterministic roles."""
    if not facts:
        return facts
    try:
        reply = llm.complete([Message(role="user", content=label_prompt(spec, facts))], schema=label_schema(facts),
                             max_tokens=40 + 8 * len(facts))
        roles = json.loads(reply.text)["roles"]
    except (LLMError, ValueError, KeyError, TypeError):
        return facts
    return apply_labels(facts, roles) if isinstance(roles, list) else facts


def _artefacts(code: str, report: CadReport) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {"code": code}
    for name, kind in _ARTEFACTS.items():
        if name in report.files:
            out[kind] = report.files[name].decode() if kind == "svg" else report.files[name]
    return out


class ConceptualJob(_CadJob):
    """The LLM writes the part model; our compiler writes the CadQuery script."""

    strategy = "conceptual"
    what = "JSON part model"

    def __init__(self, spec: str, profile: Profile, **kw: Any) -> None:
        super().__init__(spec, profile, **kw)
        self.schema = part_schema() if profile.use_schema else None
        self._first = prompts.conceptual_messages(spec, profile)

    def evaluate(self, raw: str) -> Outcome:
        parsed = parse_reply(raw, parse_part)
        if isinstance(parsed, Outcome):
            return parsed
        part, fixes = parsed
        return self.evaluate_part(part, fixes)

    def expectations(self, part: Part) -> Expectations:
        exp = self.description_expectations(part.units, feature_sizes(part))
        exp.envelope = part.envelope.sizes() if part.envelope else None
        exp.holes += [HoleSpec(feature=f, diameter=d, count=n) for f, d, n in expected_holes(part)]
        return exp

    def evaluate_part(self, part: Part, fixes: list[str] | None = None) -> Outcome:
        """Check, compile, run and validate a part model (no LLM involved)."""
        data = part.dump()
        feedback = json.dumps(data)
        diags = check_part(part)  # the overall size is measured on the solid: a missing envelope is no problem
        if bool(errors(diags)):
            return Outcome(conceptual=data, diagnostics=diags, fixes=list(fixes or []), feedback=feedback)
        script, report = self._build(part)
        found = check_report(report, self.expectations(part), script.code)
        diags += found
        # a fillet, hole or cut that breaks the solid: the files keep the part without it, so the
        # best attempt is still a solid; the error stays, so the LLM is asked to fix it
        dropped: list[str] = []
        while (bad := _finishing_failure(found, part)) is not None and len(dropped) < 3:
            dropped.append(bad)
            reduced = part.model_copy(update={"features": [f for f in part.features if f.id not in dropped]})
            script, report = self._build(reduced)
            found = check_report(report, self.expectations(reduced), script.code)
        if dropped:
            for d in diags:
                if d.obj in dropped and d.severity == "error":
                    d.message += " (the files written leave this feature out)"
            diags += [d for d in found if d.obj not in dropped and d.code not in {x.code for x in diags}]
        return Outcome(conceptual=data, artefacts=_artefacts(script.code, report), diagnostics=diags,
                       fixes=list(fixes or []), feedback=feedback, usable=_one_valid_solid(report), facts=_facts(report))

    def _build(self, part: Part) -> tuple[Any, CadReport]:
        script = compile_part(part, stl_tolerance=self.stl_tolerance)
        blocks = [CodeBlock(**b.model_dump()) for b in script.blocks]
        return script, self._run(blocks, "__cw__", ["result"])


def _facts(report: CadReport) -> dict[str, Any]:
    """Size along X, Y, Z and volume of the solid written (model units)."""
    r = report.final
    if r is None or r.size is None:
        return {}
    return {"size": [round(v, 3) for v in r.size], "volume": round(r.volume, 3), "solids": r.n_solids}


def _one_valid_solid(report: CadReport) -> bool:
    """Whether the STEP written holds exactly one valid solid (what makes an invalid attempt still usable)."""
    r = report.final
    return "part.step" in report.files and r is not None and r.n_solids == 1 and r.valid and r.volume > 0


_DROPPABLE = ("fillet", "chamfer", "hole", "cut", "shell")  # features that only take material away or round it
_BREAKS = ("script-error", "feature-invalid", "feature-empty", "multiple-solids")


def _finishing_failure(diags: list[Diagnostic], part: Part) -> str | None:
    """The id of a finishing feature (fillet, chamfer, hole, cut, shell) that broke the solid:
    leaving it out still gives the rest of the part."""
    ops = {f.id: f.op for f in part.features}
    for d in diags:
        if d.severity == "error" and d.code in _BREAKS and ops.get(d.obj or "") in _DROPPABLE:
            return d.obj
    return None


class EditJob(ConceptualJob):
    """Change an existing part model as instructed; checked like a new one."""

    def __init__(self, part: Part, instruction: str, profile: Profile, **kw: Any) -> None:
        kw.pop("fact_labeller", None)  # no facts to label: see below
        super().__init__(instruction, profile, **kw)
        self.facts = None  # an instruction states changes ("20 mm longer"), not the part's sizes
        self.prompt_variant += "/edit"
        self.current_json = json.dumps(part.dump())  # what the prompt shows (patches apply to it)
        self._first = prompts.edit_messages(self.current_json, instruction, profile)


_FENCE = re.compile(r"```(?:python|py|Python)?\s*\n(.*?)```", re.S)


def extract_code(text: str) -> str:
    """The Python code of a reply: the longest fenced block, else the text itself."""
    blocks = _FENCE.findall(text)
    if not blocks and "```" in text:  # an unclosed fence: the reply was cut off
        blocks = [text.split("```", 1)[1].split("\n", 1)[-1]]
    return (max(blocks, key=len) if blocks else text).strip() + "\n"


class DirectJob(_CadJob):
    """Baseline: the LLM writes CadQuery code; it runs in the sandboxed worker and is checked the same way."""

    strategy = "direct"
    what = "CadQuery code"
    schema = None

    def __init__(self, spec: str, profile: Profile, **kw: Any) -> None:
        super().__init__(spec, profile, **kw)
        self._first = prompts.direct_messages(spec, profile)

    def evaluate(self, raw: str) -> Outcome:
        code = extract_code(raw)
        fixes = []
        if not re.search(r"^\s*(import cadquery|from cadquery)", code, re.M):
            code = "import cadquery as cq\n" + code
            fixes.append("added 'import cadquery as cq'")
        report = self._run([CodeBlock(name="script", code=code)], "__main__", ["result", "part"])
        exp = self.description_expectations("mm")
        exp.direct = True
        diags = check_report(report, exp, code)
        return Outcome(artefacts=_artefacts(code, report), diagnostics=diags, fixes=fixes, feedback=code,
                       usable=_one_valid_solid(report))


def _suffix(path: str | None, flag: str, suffixes: tuple[str, ...]) -> None:
    if path is not None and Path(path).suffix.lower() not in suffixes:
        raise InputError(f"{flag} {path}: the file name must end with {' or '.join(suffixes)}")


class CadTarget:
    name = "cad"
    strategies = ("conceptual", "direct")
    help = "description -> parametric CadQuery part (STEP, STL, PNG)"

    def prepare(self, spec: str, *, strategy: str, profile: Profile, runner: CadRunner | None = None,
                pictures: bool = True, stl_tolerance: float | None = None, timeout_s: float = 60.0, edit: Any = None,
                fact_labeller: LLM | None = None, **_: Any) -> _CadJob:
        if not spec.strip():
            raise InputError("the description (--spec) is empty")
        cls = {"conceptual": ConceptualJob, "direct": DirectJob}.get(strategy)
        if cls is None:
            raise InputError(f"unknown strategy '{strategy}' for cad: {', '.join(self.strategies)}")
        kw = dict(runner=runner, pictures=pictures, stl_tolerance=stl_tolerance, timeout_s=timeout_s, fact_labeller=fact_labeller)
        if edit is not None:
            if strategy != "conceptual":
                raise InputError("an edit changes the conceptual part model: use the conceptual strategy")
            return EditJob(load_part(edit), spec, profile, **kw)
        return cls(spec, profile, **kw)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", required=True, metavar="PART.step", help="where to write the STEP file")
        parser.add_argument("--stl", metavar="PART.stl", help="also write an STL mesh")
        parser.add_argument("--png", metavar="PART.png", help="also write a picture of the part")
        parser.add_argument("--code", metavar="PART.py", help="also write the CadQuery script")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        _suffix(args.out, "--out", (".step", ".stp"))
        _suffix(args.stl, "--stl", (".stl",))
        _suffix(args.png, "--png", (".png",))
        _suffix(args.code, "--code", (".py",))
        return {"pictures": bool(args.png)}

    outputs = {"step": "part.step", "stl": "part.stl", "png": "part.png", "code": "part.py", "svg": "part.svg"}

    def outputs_from_args(self, args: argparse.Namespace) -> dict[str, str | None]:
        return {"step": args.out, "stl": args.stl, "png": args.png, "code": args.code}

    def write_outputs(self, result: Result, dest: Destination) -> list[Path]:
        return write_artefacts(result.artefacts, destinations(dest, self.outputs))


def load_part(part: Part | dict[str, Any] | str | Path) -> Part:
    """A Part from a Part, JSON data, JSON text or a .json file; InputError when it is not one."""
    return load_model(part, Part, parse_part, "a part model")
