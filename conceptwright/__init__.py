"""conceptwright: LLM -> conceptual model -> deterministic compilers -> validated artefacts."""
from .agent import InputError, Result
from .api import generate

__version__ = "0.1.0"
__all__ = ["generate", "Result", "InputError", "__version__"]
