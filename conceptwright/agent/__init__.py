"""The agent: loop, stop policy, traces, results."""
from .events import Event, Hooks
from .loop import run_job
from .policy import StopPolicy
from .protocol import InputError, Job, Outcome, Target
from .result import Result
from .trace import AttemptRecord, TraceWriter

__all__ = ["Event", "Hooks", "run_job", "StopPolicy", "InputError", "Job", "Outcome", "Target", "Result", "AttemptRecord", "TraceWriter"]
