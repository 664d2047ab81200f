"""``conceptwright calibrate``: adapt a target's prompt sections to one model with GEPA.

GEPA (reflective prompt evolution, ``gepa`` package) searches over the dict of section texts (and
the decoding settings, as JSON): each candidate is scored by running our real jobs on the
calibration cases (``prompt_runs``); the reflection model (our own backends, offline) reads the
validator's diagnostics and the model's replies of a minibatch and rewrites one section at a time
(round robin); GEPA keeps the Pareto front across cases. The best candidate is accepted only if
the held-out split (disjoint, seeded) does not get worse than the defaults; both scores, the
calls, tokens and minutes are stored with it in the user store."""
from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent.protocol import InputError
from ..llm.base import Message
from ..prompts.profiles import profile_for
from ..prompts.template import Template, template_for
from ..prompts.variant import Decoding, Evidence, SplitScores, Variant, home, model_key, store_result
from . import get_suite
from .prompt_runs import DECODING, SWEPT, TUNED_DECODING, CaseRun, CaseRunner, seed_candidate, stamp, to_variant

REFLECT_PROMPT = """You improve one section of the prompt that a small language model is given for this task: {task}.
The section is called '{name}'. Its current text:
```
{text}
```
Here is how the model did with it on some descriptions (its reply, and what our validator and scorer said):
{records}
Write a new text for the section '{name}' that would help the model write valid, complete answers.
{keep}Keep it short and general (it is used for every description, not only these). Answer with the new text between ``` lines."""
TASKS = {"xmi": "write an instance model of a metamodel as JSON", "cad": "write a mechanical part as a JSON part model",
         "sim": "write a simulation model (queueing process or continuous system) as JSON"}


def split_cases(cases: list[dict[str, Any]], *, heldout: float = 1 / 3, seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Calibration and held-out cases: disjoint, the same for the same cases and seed."""
    if len(cases) < 2:
        raise InputError("calibration needs at least 2 cases (one to tune on, one held out)")
    order = sorted(cases, key=lambda c: c["id"])
    random.Random(seed).shuffle(order)
    n_held = min(len(order) - 1, max(1, round(len(order) * heldout)))
    return order[n_held:], order[:n_held]


class State:
    """Our own resumable state beside GEPA's run_dir: calls spent and the reflection replies (by prompt)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        self.task_calls: int = data.get("task_calls", 0)
        self.reflection_calls: int = data.get("reflection_calls", 0)
        self.tokens: int = data.get("tokens", 0)
        self.seconds: float = data.get("seconds", 0.0)
        self.replies: dict[str, str] = data.get("replies", {})
        self.run: dict[str, Any] = data.get("run", {})  # what the run is of (model, target, cases): a resume must match

    @property
    def calls(self) -> int:
        return self.task_calls + self.reflection_calls

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"task_calls": self.task_calls, "reflection_calls": self.reflection_calls,
                                   "tokens": self.tokens, "seconds": round(self.seconds, 2), "run": self.run,
                                   "replies": self.replies}),
                       encoding="utf-8")
        tmp.replace(self.path)


class Reflector:
    """The reflection model: our LLM backend as a callable prompt -> text, each reply kept in the state."""

    def __init__(self, llm: Any, state: State, on_call: Any = None) -> None:
        self.llm, self.state, self.on_call = llm, state, on_call or (lambda: None)

    def __call__(self, prompt: str, max_tokens: int = 1200) -> str:
        key = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        if key not in self.state.replies:
            completion = self.llm.complete([Message(role="user", content=prompt)], max_tokens=max_tokens, temperature=0.7)
            self.state.replies[key] = completion.text
            self.state.reflection_calls += 1
            self.state.tokens += completion.usage.total
            self.on_call()
        return self.state.replies[key]


def _fenced(text: str) -> str | None:
    """The text between the first pair of ``` lines (a language tag allowed); None when there is none
    (a reply cut off by its budget has no closing line and is not a section)."""
    m = re.search(r"```[A-Za-z]*\n(.*?)\n?```", text, re.S)
    return m.group(1).strip() if m else None


class PromptAdapter:
    """GEPA's adapter: a candidate is the dict of section texts (plus ``decoding``, JSON)."""

    def __init__(self, runner: CaseRunner, template: Template, reflector: Reflector) -> None:
        self.runner, self.template, self.reflector = runner, template, reflector
        self.rejected: list[str] = []  # proposals that could not be used, and why

    def evaluate(self, batch: list[dict[str, Any]], candidate: dict[str, str], capture_traces: bool = False) -> Any:
        from gepa.core.adapter import EvaluationBatch

        runs = [self.runner.run(case, candidate) for case in batch]
        return EvaluationBatch(outputs=[r.output for r in runs], scores=[r.score for r in runs],
                               trajectories=runs if capture_traces else None)

    def make_reflective_dataset(self, candidate: dict[str, str], eval_batch: Any,
                                components_to_update: list[str]) -> dict[str, list[dict[str, Any]]]:
        runs: list[CaseRun] = sorted(eval_batch.trajectories or [], key=lambda r: r.score)  # failures first
        records = [{"Description": r.spec, "Model reply": r.output[:1500], "Feedback": r.feedback, "score": r.score}
                   for r in runs]
        return {name: records for name in components_to_update}

    def propose_new_texts(self, candidate: dict[str, str], reflective_dataset: Mapping[str, Sequence[Mapping[str, Any]]],
                          components_to_update: list[str]) -> dict[str, str]:
        new: dict[str, str] = {}
        for name in components_to_update:
            records = "\n".join(f"- Description: {r['Description']}\n  Reply: {r['Model reply']}\n  Feedback: {r['Feedback']}"
                                for r in reflective_dataset.get(name, []))
            budget = max(600, len(candidate[name]) // 2 + 400)  # room to rewrite the whole section (about 4 characters a token)
            text = _fenced(self.reflector(self._prompt(name, candidate[name], records), max_tokens=budget))
            why = f"{name}: the reply has no text between ``` lines" if text is None else self._why_not(name, text)
            if why or text is None:
                self.rejected.append(why or name)
                text = candidate[name]
            new[name] = text
        return new

    def _prompt(self, name: str, text: str, records: str) -> str:
        if name == DECODING:
            keep = (f"It is JSON with the keys {', '.join(TUNED_DECODING)} (max_tokens: the output budget per call; "
                    "repair_temperature: sampling temperature of a repair; example: show a worked example). ")
        else:
            fields = sorted(self.template.fields(self.template.sections[name]))
            keep = (f"Keep these placeholders exactly as written, each once or more: {', '.join('{' + f + '}' for f in fields)}. "
                    if fields else "Do not write placeholders in braces. ")
        return REFLECT_PROMPT.format(task=TASKS.get(self.template.target, self.template.target), name=name, text=text,
                                     records=records, keep=keep)

    def _why_not(self, name: str, text: str) -> str | None:
        if name == DECODING:
            try:
                data = json.loads(text)
                Decoding.model_validate(data)
            except ValueError as exc:
                return f"decoding: not valid settings ({str(exc).splitlines()[0]})"
            if not isinstance(data, dict) or set(data) - set(TUNED_DECODING) - set(SWEPT):
                return f"decoding: only {', '.join(TUNED_DECODING)} may change"
            return None
        return self.template.check_override(name, text)


class CallBudget:
    """GEPA stopper: stop once the LLM calls (task + reflection) reach the budget."""

    def __init__(self, state: State, budget: int) -> None:
        self.state, self.budget = state, budget

    def __call__(self, gepa_state: Any) -> bool:
        return self.state.calls >= self.budget


@dataclass
class Calibration:
    """What ``calibrate`` did: the variant (accepted or not), where it is stored, the evidence."""

    variant: Variant
    path: Path
    accepted: bool
    evidence: Evidence
    rejected_proposals: list[str] = field(default_factory=list)


def calibrate(model: str, target: str, *, cases: str | Path | None = None, budget: int = 40, minibatch: int = 3,
              reflect_model: str | None = None, out: str | Path | None = None, resume: bool = False, limit: int = 0,
              max_repairs: int = 1, heldout: float = 1 / 3, seed: int = 0, progress: bool = True) -> Calibration:
    """Search section texts for ``model`` on ``target``'s cases with GEPA, then accept or reject on held-out cases."""
    import gepa

    from .. import jobs as engine

    template = template_for(target)
    if template is None:
        raise InputError(f"the {target} target has no prompt template to calibrate")
    if budget < 1 or minibatch < 1:
        raise InputError("--budget and --minibatch must be 1 or more")
    suite = get_suite(target)
    case_list = suite.load_cases(Path(cases) if cases else None)
    case_list = case_list[:limit] if limit else case_list
    calib, held = split_cases(case_list, heldout=heldout, seed=seed)
    out = Path(out) if out else home() / "calibrations" / target / model_key(model)
    if out.exists() and not resume:
        shutil.rmtree(out)
    (out / "gepa").mkdir(parents=True, exist_ok=True)
    state = State(out / "state.json")
    run = {"model": model, "target": target, "calibration": [c["id"] for c in calib], "heldout": [c["id"] for c in held],
           "max_repairs": max_repairs, "minibatch": minibatch}
    if state.run and state.run != run:
        raise InputError(f"{out} holds a calibration of other settings or cases ({_differs(state.run, run)}): "
                         "use another --out or drop --resume")
    state.run = run
    started, seconds_before = time.perf_counter(), state.seconds
    bar = _bar(budget, state.calls, f"calibrate {target}") if progress else None

    def spent(calls: int, tokens: int = 0, reflected: bool = False) -> None:
        """Count calls as they are made (the state survives a kill); reflections are counted by the Reflector."""
        state.task_calls += calls
        state.tokens += tokens
        state.seconds = seconds_before + time.perf_counter() - started
        state.save()
        if bar is not None:
            bar.update(calls + reflected)

    profile = profile_for(engine._backend(model).name)
    runner = CaseRunner(suite, template, model, out, max_repairs=max_repairs, on_calls=spent)
    reflector = Reflector(engine._backend(reflect_model or model), state, on_call=lambda: spent(0, reflected=True))
    adapter = PromptAdapter(runner, template, reflector)
    default_cand = seed_candidate(template, profile)
    seed_cand = sweep_switches(runner, calib, default_cand, SWITCHES.get(target, ()))
    try:
        result = gepa.optimize(
            seed_candidate=seed_cand, trainset=calib, valset=calib, adapter=adapter,
            candidate_selection_strategy="pareto", module_selector="round_robin", reflection_minibatch_size=minibatch,
            max_metric_calls=budget * 4, stop_callbacks=[CallBudget(state, budget)], run_dir=str(out / "gepa"),
            display_progress_bar=False, seed=seed, raise_on_exception=True, logger=_QuietLogger(out / "gepa.log"))
        best = dict(result.candidates[result.best_idx])
        cal_default, cal_best = runner.mean(calib, default_cand), float(result.val_aggregate_scores[result.best_idx])
        held_default, held_best = runner.mean(held, default_cand), runner.mean(held, best)
    finally:
        if bar is not None:
            bar.close()
    state.seconds = seconds_before + time.perf_counter() - started
    state.save()
    if best == default_cand or cal_best <= cal_default:
        accepted, reason = False, f"no candidate beat the defaults on the calibration cases ({cal_best:.3f} vs {cal_default:.3f})"
    elif held_best < held_default:
        accepted, reason = False, f"held-out got worse: {held_best:.3f} vs the defaults' {held_default:.3f}"
    else:
        accepted, reason = True, (f"calibration {cal_default:.3f} -> {cal_best:.3f}; held-out {held_default:.3f} -> "
                                  f"{held_best:.3f} (not worse)")
    evidence = Evidence(cases=str(cases or f"built-in {target} suite"), calibration_cases=[c["id"] for c in calib],
                        heldout_cases=[c["id"] for c in held], default=SplitScores(calibration=cal_default, heldout=held_default),
                        variant=SplitScores(calibration=cal_best, heldout=held_best), llm_calls=state.task_calls,
                        reflection_calls=state.reflection_calls, tokens=state.tokens, minutes=round(state.seconds / 60, 2),
                        accepted=accepted, reason=reason)
    key = model_key(engine._backend(model).name)  # the name runs look variants up by
    variant = to_variant(best, name=f"{key}-{target}-cal-{stamp()}", target=target, template=template,
                         model=key, base=default_cand).model_copy(update={"evidence": evidence})
    variant = _with_profile_sections(variant, default_cand, best, template)
    path = store_result(variant, activate=accepted)
    return Calibration(variant, path, accepted, evidence, adapter.rejected)


SWITCHES: dict[str, tuple[str, ...]] = {"xmi": SWEPT}  # profile settings tried on and off before the section search


def sweep_switches(runner: CaseRunner, cases: list[dict[str, Any]], candidate: dict[str, str],
                   switches: tuple[str, ...]) -> dict[str, str]:
    """The candidate with each on/off setting of ``switches`` set the way that scores better on ``cases``
    (one at a time, kept only when strictly better): the search for section texts starts from there."""
    best, best_score = candidate, runner.mean(cases, candidate)
    for name in switches:
        settings = json.loads(best[DECODING])
        flipped = {**best, DECODING: json.dumps({**settings, name: not settings.get(name, False)})}
        score = runner.mean(cases, flipped)
        if score > best_score:
            best, best_score = flipped, score
    return best


def _with_profile_sections(variant: Variant, seed_cand: dict[str, str], best: dict[str, str], template: Template) -> Variant:
    """Sections the profile overrode before the search stay in the variant when the search kept them."""
    keep = {k: v for k, v in best.items() if k != DECODING and k not in variant.sections and v != template.sections.get(k)}
    return variant.model_copy(update={"sections": {**keep, **variant.sections}}) if keep else variant


def _differs(before: dict[str, Any], now: dict[str, Any]) -> str:
    return ", ".join(f"{k} was {before.get(k)}" for k in now if before.get(k) != now[k])


def _bar(total: int, done: int, desc: str) -> Any:
    import sys

    from tqdm import tqdm

    return tqdm(total=total, initial=min(done, total), unit="call", desc=desc, file=sys.stderr)


class _QuietLogger:
    """GEPA's log goes to a file in the run folder, not the terminal (the progress bar is ours)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def log(self, *args: Any, **kw: Any) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(" ".join(str(a) for a in args) + "\n")
