"""The sim suite: does the generated script run in the sandbox and match the known answer?

Model ``reference`` answers every case with its stored reference model (no LLM): it checks
the cases, their answers and tolerances, and the engine end to end.
"""
from __future__ import annotations

import json
from pathlib import Path
from statistics import mean
from typing import Any

from ..agent.batch import JobStatus
from ..compilers.sim.units import UnitError, time_factor
from ..llm.base import Completion, Message, Usage
from . import builtin_cases, read_cases
from .report import table

TARGET = "sim"
STRATEGIES = ("conceptual",)
PRIMARY = "pass"
TIME_KPIS = ("wait", "time_in_system")


def load_cases(path: Path | None) -> list[dict[str, Any]]:
    return read_cases(path or builtin_cases("sim"))


def job_options(case: dict[str, Any], strategy: str) -> dict[str, Any]:
    return {}


def backends(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The model this suite answers itself: ``reference``."""
    return {"reference": ReferenceLLM(cases)}


class ReferenceLLM:
    """A stand-in model that answers each case's description with its reference model."""

    provider = "reference"
    name = "reference"

    def __init__(self, cases: list[dict[str, Any]]) -> None:
        self.by_spec = {c["spec"]: c["reference"] for c in cases}

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None,
                 max_tokens: int | None = None, temperature: float = 0.0) -> Completion:
        prompt = messages[1].content
        spec = next((s for s in self.by_spec if f"Description: {s}\nJSON:" in prompt), None)
        text = json.dumps(self.by_spec[spec]) if spec else "{}"
        return Completion(text=text, usage=Usage(input_tokens=len(prompt) // 4, output_tokens=len(text) // 4,
                                                 estimated=True), model=self.name)


def _value(expect: dict[str, Any], results: dict[str, Any]) -> float | None:
    """The simulated value an expectation is about, in the expectation's units."""
    if "kpi" in expect:
        k = (results.get("kpis") or {}).get(expect["kpi"]) or {}
        v = k.get("mean")
        if v is None:
            return None
        if expect["kpi"] in TIME_KPIS and expect.get("unit"):
            v = v * time_factor(results.get("time_unit") or expect["unit"], expect["unit"])
        return float(v)
    series: dict[str, list[float]] = results.get("series") or {}
    times = series.get("time") or []
    names = [n for n in expect["var"] if n in series]
    if not names:  # a model with one state: that is the variable
        states = results.get("states") or []
        names = states if len(states) == 1 else []
    if not names or not times:
        return None
    values = series[names[0]]
    if expect.get("final"):
        return float(values[-1])
    t = float(expect["t"])
    for i in range(1, len(times)):
        if times[i - 1] <= t <= times[i]:
            w = (t - times[i - 1]) / (times[i] - times[i - 1]) if times[i] > times[i - 1] else 0.0
            return float(values[i - 1] + w * (values[i] - values[i - 1]))
    return None


def modelica_parses(text: str | None) -> bool | None:
    """modparc's verdict on a Modelica export (evals only; ``pip install ".[evals]"``).

    None when there is no export (process models) or modparc is not installed.
    """
    if not text:
        return None
    try:
        import modparc  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        modparc.parse(text)
    except Exception:  # modparc raises funcparserlib's NoParseError and lexer errors
        return False
    return True


def score_results(case: dict[str, Any], results_text: str | None) -> dict[str, Any]:
    """matches: every expectation within its tolerance (rel_tol of the answer, or abs_tol)."""
    if not results_text:
        return {"ran": False, "matches": False, "got": {}}
    results = json.loads(results_text)
    got, ok = {}, True
    for e in case["expect"]:
        label = e.get("kpi") or e["var"][0]
        try:
            v = _value(e, results)
        except (UnitError, KeyError, TypeError, ValueError):
            v = None
        got[label] = v
        tol = e.get("abs_tol", abs(e["value"]) * e.get("rel_tol", 0.05))
        ok = ok and v is not None and abs(v - e["value"]) <= tol
    return {"ran": True, "matches": ok, "got": got}



def score(case: dict[str, Any], job_dir: Path, status: JobStatus) -> dict[str, Any]:
    results, modelica, conceptual = job_dir / "sim.json", job_dir / "sim.mo", job_dir / "conceptual.json"
    kind = None
    if conceptual.is_file():
        data = json.loads(conceptual.read_text(encoding="utf-8"))
        kind = data.get("kind") if isinstance(data, dict) else None
    return {"kind": kind, "modelica": modelica_parses(modelica.read_text(encoding="utf-8") if modelica.is_file() else None),
            **score_results(case, results.read_text(encoding="utf-8") if results.is_file() else None)}


def primary(row: dict[str, Any]) -> float:
    return float(bool(row.get("matches")))


def report(rows: list[dict[str, Any]], title: str, strategies: list[str]) -> str:
    n = len(rows)
    passed = sum(r["matches"] for r in rows)

    def pct(k: int) -> str:
        return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-"

    exports = [r["modelica"] for r in rows if r.get("modelica") is not None]
    head = ["cases", "pass (runs and matches)", "ran", "valid", "Modelica export parses (modparc)", "repairs (mean)",
            "tokens (mean)", "seconds (mean)"]
    summary = [n, pct(passed), pct(sum(r["ran"] for r in rows)), pct(sum(r["ok"] for r in rows)),
               f"{sum(exports)}/{len(exports)}" if exports else "- (no export, or modparc not installed)",
               mean(r["repairs"] for r in rows) if rows else 0.0,
               int(mean(r["tokens_in"] + r["tokens_out"] for r in rows)) if rows else 0,
               mean(r["seconds"] for r in rows) if rows else 0.0]

    def got(r: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}=-" for k, v in r.get("got", {}).items())

    parts = [
        f"# sim eval: {title}",
        f"{n} cases with known answers (closed-form queues, analytic ODE and stock solutions). A case passes when "
        "the generated script ran in the sandbox and every expected value is within the case's tolerance; "
        "valid = no error left by the checks.",
        table(head, [summary]),
        "## Per case",
        table(["case", "kind", "pass", "valid", "Modelica", "repairs", "stop", "got", "seconds", "errors left"],
              [[r["id"], r.get("kind") or "-", "yes" if r["matches"] else "no", "yes" if r["ok"] else "no",
                {True: "parses", False: "no", None: "-"}[r.get("modelica")], r["repairs"],
                r.get("stop", r.get("error", "")), got(r), r["seconds"], " ".join(r.get("errors", [])[:4])]
               for r in sorted(rows, key=lambda r: r["id"])]),
    ]
    return "\n\n".join(parts) + "\n"
