"""Running eval cases with a prompt candidate (section texts + decoding settings) through the real
jobs, and scoring each run as one number: validity first, then quality, then fewer tokens.

Each (candidate, case) run is a batch job in ``out/runs`` (atomic, kept): running it again, in
this process or after a kill, reads the finished job instead of calling the model."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..agent.batch import BatchStore, JobStatus
from ..prompts.profiles import Profile
from ..prompts.template import Template
from ..prompts.variant import Decoding, Variant, model_key, save_variant
from . import slug
from .xmi_score import prf

DECODING = "decoding"  # the candidate component holding the decoding settings (JSON)
TUNED_DECODING = ("max_tokens", "repair_temperature", "example")  # what a reflection may change: not the sections used
SWEPT = ("mentions", "faithful_strings")  # on/off settings the calibration tries itself (calibrate.sweep_switches)
TOKEN_SCALE = 8000  # tokens at which the token term of a score reaches 0


def case_score(ok: bool, quality: float, tokens: int) -> float:
    """One scalar in [0, 1], ordered by validity, then quality (F1, pass), then fewer tokens."""
    return round(0.5 * bool(ok) + 0.45 * max(0.0, min(1.0, quality)) + 0.04 * max(0.0, 1 - tokens / TOKEN_SCALE), 6)


def quality(target: str, suite: Any, row: dict[str, Any]) -> float:
    """How much of the case's answer a run holds: xmi the mean of object recall, attribute and link F1;
    otherwise the suite's primary figure (cad IoU of a valid solid, sim: matches the known answer)."""
    if target == "xmi" and "attr_tp" in row:
        return (suite.primary(row) + prf(row["attr_tp"], row["attr_pred"], row["attr_gold"])[2]
                + prf(row["link_tp"], row["link_pred"], row["link_gold"])[2]) / 3
    return float(suite.primary(row))


def seed_candidate(template: Template, profile: Profile) -> dict[str, str]:
    """The defaults a search starts from: the tunable sections the profile renders, and its decoding settings."""
    candidate = {name: template.raw(name, profile) for name in template.in_use(profile)}
    candidate[DECODING] = json.dumps({k: getattr(profile, k) for k in TUNED_DECODING})

    return candidate


def to_variant(candidate: dict[str, str], *, name: str, target: str, template: Template, model: str,
               source: str = "calibrate", base: dict[str, str] | None = None) -> Variant:
    """A candidate as a variant: the sections that differ from ``base`` (default: the template's defaults)."""
    base = base if base is not None else {}
    sections = {k: v for k, v in candidate.items() if k != DECODING and v != base.get(k, template.sections.get(k))}
    decoding = Decoding.model_validate_json(candidate[DECODING]) if DECODING in candidate else Decoding()
    if base and DECODING in base:  # keep only the settings that changed
        before = json.loads(base[DECODING])
        decoding = Decoding(**{k: v for k, v in decoding.settings().items() if before.get(k) != v})
    return Variant(name=name, target=target, template_version=template.version, model=model_key(model), source=source,  # type: ignore[arg-type]
                   sections=sections, decoding=decoding)


def candidate_key(candidate: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(candidate, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class CaseRun:
    """One case run with one candidate: its score and what a reflection needs to see."""

    case_id: str
    spec: str
    ok: bool
    quality: float
    tokens: int
    calls: int  # LLM calls it made (0: read from an earlier run)
    score: float
    output: str  # the model's last reply
    feedback: str  # the validator's diagnostics and the score, in words


class CaseRunner:
    """Runs cases of ``suite`` with ``model`` and a candidate, as real jobs kept under ``out``."""

    def __init__(self, suite: Any, template: Template, model: str, out: Path, *, max_repairs: int = 1,
                 on_calls: Callable[[int, int], None] | None = None) -> None:
        self.suite, self.template, self.model, self.out = suite, template, model, Path(out)
        self.max_repairs = max_repairs
        self.store = BatchStore(self.out / "runs")
        self.on_calls = on_calls or (lambda calls, tokens: None)
        self.calls = 0
        self.tokens = 0

    def variant_file(self, candidate: dict[str, str]) -> Path:
        key = candidate_key(candidate)
        path = self.out / "candidates" / f"{key}.json"
        if not path.is_file():
            variant = to_variant(candidate, name=f"{model_key(self.model)}-cand-{key}", target=self.suite.TARGET,
                                 template=self.template, model=self.model)
            save_variant(variant, path)
        return path

    def run(self, case: dict[str, Any], candidate: dict[str, str]) -> CaseRun:
        from .. import jobs as engine

        job_id = slug(f"{case['id']}.{candidate_key(candidate)}")
        status = self.store.status(job_id) if self.store.finished(job_id) else None
        calls = 0
        if status is None:
            options = {**self.suite.job_options(case, "conceptual"), "variant": str(self.variant_file(candidate))}
            data = {"id": job_id, "target": self.suite.TARGET, "spec": case["spec"], "model": self.model,
                    "max_repairs": self.max_repairs, "options": options}
            status = JobStatus.model_validate(engine.execute(data, str(self.store.out), self.model))
            calls = status.attempts
            self.calls += calls
            self.tokens += status.tokens
            self.on_calls(calls, status.tokens)
        row = self.suite.score(case, self.store.jobs / job_id, status) if status.error is None or status.attempts else {}
        q = quality(self.suite.TARGET, self.suite, row) if row else 0.0
        score = case_score(status.ok, q, status.tokens)
        return CaseRun(case_id=case["id"], spec=case["spec"], ok=status.ok, quality=round(q, 4), tokens=status.tokens,
                       calls=calls, score=score, output=self._last_reply(job_id), feedback=self._feedback(status, q))

    def mean(self, cases: list[dict[str, Any]], candidate: dict[str, str]) -> float:
        runs = [self.run(c, candidate) for c in cases]
        return round(sum(r.score for r in runs) / max(1, len(runs)), 6)

    def _last_reply(self, job_id: str) -> str:
        trace = self.store.jobs / job_id / "trace.jsonl"
        if not trace.is_file():
            return ""
        lines = trace.read_text(encoding="utf-8").splitlines()
        return json.loads(lines[-1]).get("raw_output", "") if lines else ""

    @staticmethod
    def _feedback(status: JobStatus, q: float) -> str:
        if status.ok:
            head = f"Valid after {status.attempts} call(s); it holds {q:.0%} of the expected answer."
        else:
            head = f"Not valid after {status.attempts} call(s) (stopped: {status.stop_reason or 'error'})."
        problems = status.error or ", ".join(status.errors)
        return head + (f" Problems: {problems[:1200]}" if problems else "") + f" Tokens: {status.tokens}."


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")
