"""conceptwright: LLM -> conceptual model -> deterministic compilers -> validated artefacts."""
from .agent import InputError, Result
from .agent.session import Session, Turn
from .api import agenerate, generate, open_session, resume_session, save

__version__ = "0.1.0"
__all__ = ["generate", "agenerate", "save", "open_session", "resume_session", "Session", "Turn", "Result", "InputError", "__version__"]
