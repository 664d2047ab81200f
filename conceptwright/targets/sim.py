"""The sim target: description -> conceptual simulation model -> runnable SimPy or SciPy
script, run in the sandbox and checked (invariants, closed forms, units, step halving)."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..agent.protocol import InputError, Outcome
from .outputs import Destination, destinations, write_artefacts
from .reply import load_model, parse_reply
from ..agent.result import Result
from ..compilers import sim as simc
from ..compilers.sim import fixes as from_spec
from ..compilers.sim.model import ContinuousModel, ProcessModel
from ..llm.base import Message
from ..prompts import sim as prompts
from ..prompts.profiles import Profile
from ..core.diagnostics import Diagnostic, render_all, errors
from ..core import rules
from ..tools.sim.check import check, kind_check, percent_routes, spec_numbers, step_asked_for
from ..tools.sim.facts import Fact, agreement, extract, facts_carried
from ..tools.sim.validate import validate


# errors that leave the script runnable: it still runs, so the best attempt has results too
RUNS_DESPITE = frozenset({"unit-mismatch", "bad-unit", "number-missing", "rate-mismatch", "unused-resource",
                          "probability-missing", "fact-missing"})
FACTS = "sim.facts-carried"


def _relative(path: str | Path, script: str | Path) -> str:
    """``path`` as seen from the script's folder (the script resolves it against its own location)."""
    return os.path.relpath(Path(path).resolve(), Path(script).resolve().parent)


class SimJob:
    """The LLM writes the conceptual model; our compilers write the script; the sandbox runs it."""

    strategy = "conceptual"

    def __init__(self, spec: str, profile: Profile, *, out: str | Path | None = None, results: str | Path | None = None,
                 plot: str | Path | None = None, timeout_s: float = 90.0) -> None:
        self.spec = spec
        self.profile = profile
        self.prompt_variant = f"{profile.name}/{profile.variant}"
        self.max_tokens = profile.max_tokens
        self.repair_temperature = profile.repair_temperature
        self.schema = simc.sim_schema() if profile.use_schema else None
        self.timeout_s = timeout_s
        script = Path(out) if out else Path("sim.py")
        self.paths = {
            "script": script.name,
            "results": _relative(results, script) if results else f"{script.stem}.json",
            "plot": _relative(plot, script) if plot else f"{script.stem}.png",
        }
        self._first = prompts.first_messages(spec, profile)
        self.facts: list[Fact] = extract(spec)  # the description's stated quantities, read once

    def first_messages(self) -> list[Message]:
        return list(self._first)

    def repair_messages(self, previous: Outcome) -> list[Message]:
        problems = errors(previous.diagnostics)
        return self._first + [Message(role="assistant", content=previous.feedback),
                              prompts.repair_message(render_all(problems), self.spec, self.profile)]

    def evaluate(self, raw: str) -> Outcome:
        parsed = parse_reply(raw, simc.parse_model)
        if isinstance(parsed, Outcome):
            return parsed
        model, fixes = parsed
        from_spec.apply(self.spec, model, fixes)
        return self.evaluate_model(model, fixes)

    def evaluate_model(self, model: ProcessModel | ContinuousModel, fixes: list[str] | None = None) -> Outcome:
        """Check, compile, run and validate a conceptual model (no LLM involved)."""
        diags = check(model)
        diags += self.description_checks(model)
        diags += kind_check(self.spec, model)
        artefacts: dict[str, str | bytes] = {}
        try:
            artefacts.update(simc.compile_model(model, **self.paths))
        except simc.AnalysisError as exc:
            if not bool(errors(diags)):
                diags.append(Diagnostic(code=exc.code, obj=exc.obj, feature=exc.feature, message=str(exc)))
        except ValueError as exc:  # e.g. a unit the checks reported already; the model cannot compile
            if not bool(errors(diags)):
                diags.append(Diagnostic(code="compile-error", message=str(exc)))
        blocking = [d for d in diags if d.severity == "error" and d.code not in RUNS_DESPITE]
        facts: dict[str, Any] = {}
        if artefacts and not blocking:
            report = validate(model, str(artefacts["script"]), timeout_s=self.timeout_s)
            diags += step_asked_for(self.spec, model, report.diagnostics)
            if report.results_text is not None:
                artefacts["results"] = report.results_text
            if report.plot is not None:
                artefacts["plot"] = report.plot
            facts = _facts(report.results)
        data = model.model_dump(by_alias=True, exclude_defaults=False)
        return Outcome(conceptual=data, artefacts=artefacts, diagnostics=diags, fixes=list(fixes or []),
                       feedback=json.dumps(model.model_dump(by_alias=True, exclude_none=True)), facts=facts)


    def description_checks(self, model: ProcessModel | ContinuousModel) -> list[Diagnostic]:
        """The stated facts, each carried by the model (``sim.facts-carried``); with that rule
        switched off, the wording checks it replaced (``sim.description-times``, ``-shares``).
        evals/reports/sim-facts.md: the facts check catches 70 of 71 seeded wrong variants of the
        suite's reference models, the wording checks 9, with no false alarm on either."""
        if rules.is_on(FACTS):
            return facts_carried(self.spec, model, self.facts)
        return spec_numbers(self.spec, model) + percent_routes(self.spec, model)

    def agreement(self, outcome: Outcome) -> float:
        """The share of the description's stated facts the attempt's model carries (search ranks by it)."""
        if not isinstance(outcome.conceptual, dict):
            return 0.0
        model, _diags, _fixes = simc.parse_model(outcome.conceptual)
        return agreement(self.spec, model, self.facts) if model is not None else 0.0


def _facts(results: dict[str, Any] | None) -> dict[str, Any]:
    """The KPI means (process) or the final values (continuous), rounded to 4 significant digits."""
    if not results:
        return {}
    if "kpis" in results:
        values = {k: v.get("mean") if isinstance(v, dict) else v for k, v in results["kpis"].items()}
    else:
        values = dict(results.get("final") or {})
    return {k: float(f"{v:.4g}") if isinstance(v, (int, float)) else v for k, v in values.items() if v is not None}


def _sim_json(value: Any) -> str:
    """The JSON text of a sim model given as a model, its data or its text; InputError when it is none."""
    model = load_model(value, (ProcessModel, ContinuousModel), simc.parse_model, "a simulation model")
    data = model.model_dump(by_alias=True, exclude_none=True)
    if "flows" in data:  # shown as the schema asks for them: "" is outside the model
        data["flows"] = [{"id": f["id"], "from": f.get("from", ""), "to": f.get("to", ""), **f} for f in data["flows"]]
    return json.dumps(data)


class SimTarget:
    name = "sim"
    strategies = ("conceptual",)
    help = "description -> simulation model -> runnable SimPy / SciPy script, results and plot"

    def prepare(self, spec: str, *, strategy: str, profile: Profile, out: str | Path | None = None,
                results: str | Path | None = None, plot: str | Path | None = None, timeout_s: float = 90.0,
                edit: Any = None, **_: Any) -> SimJob:
        if strategy not in self.strategies:
            raise InputError(f"unknown strategy '{strategy}' for sim: {', '.join(self.strategies)}")
        if not spec or not spec.strip():
            raise InputError("the description (--spec) is empty")
        given = [Path(p).resolve() for p in (out, results, plot) if p]
        if len(set(given)) != len(given):
            raise InputError("--out, --results and --plot must be different files")
        if plot and Path(plot).suffix.lower() != ".png":
            raise InputError(f"--plot must name a .png file, not '{plot}'")
        job = SimJob(spec, profile, out=out, results=results, plot=plot, timeout_s=timeout_s)
        if edit is not None:  # the instruction is the description the checks read
            job.prompt_variant += "/edit"
            job.current_json = _sim_json(edit)  # what the prompt shows (patches apply to it)
            job._first = prompts.edit_messages(job.current_json, spec, profile)
        return job

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", required=True, metavar="SIM.py", help="where to write the simulation script")
        parser.add_argument("--results", required=True, metavar="RESULTS.json", help="where to write the results")
        parser.add_argument("--plot", metavar="PLOT.png", help="also write the plot")
        parser.add_argument("--modelica", metavar="MODEL.mo", help="also write a Modelica export (continuous models)")

    def options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"out": args.out, "results": args.results, "plot": args.plot}

    # a folder destination gets the names the script expects when prepared without paths
    outputs = {"script": "sim.py", "results": "sim.json", "plot": "sim.png", "modelica": "sim.mo"}

    def outputs_from_args(self, args: argparse.Namespace) -> dict[str, str | None]:
        return {"script": args.out, "results": args.results, "plot": getattr(args, "plot", None),
                "modelica": getattr(args, "modelica", None)}

    def write_outputs(self, result: Result, dest: Destination) -> list[Path]:
        return write_artefacts(result.artefacts, destinations(dest, self.outputs))
