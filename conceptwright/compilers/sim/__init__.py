"""Sim target compilers: conceptual process model -> SimPy script; continuous model ->
SciPy solve_ivp (or Euler) script and Modelica text."""
from __future__ import annotations

from .continuous import AnalysisError, analyse
from .model import ContinuousModel, ProcessModel
from .parse import parse_model
from .schema import sim_schema
from .to_modelica import compile_modelica
from .to_scipy import compile_continuous
from .to_simpy import compile_process

__all__ = ["ProcessModel", "ContinuousModel", "parse_model", "sim_schema", "compile_model", "compile_process",
           "compile_continuous", "compile_modelica", "AnalysisError"]


def compile_model(model: ProcessModel | ContinuousModel, *, script: str = "sim.py", results: str = "results.json",
            plot: str = "plot.png") -> dict[str, str]:
    """Artefacts: ``script`` (always) and ``modelica`` (continuous models). Raises AnalysisError
    on an expression the checks would report."""
    if isinstance(model, ProcessModel):
        return {"script": compile_process(model, script=script, results=results, plot=plot)}
    compiled = analyse(model)
    return {"script": compile_continuous(model, script=script, results=results, plot=plot, compiled=compiled),
            "modelica": compile_modelica(model, compiled)}
