"""conceptwright: LLM -> conceptual model -> deterministic compilers -> validated artefacts."""
from .agent import InputError, Result
from .api import generate, save

__version__ = "0.1.0"
__all__ = ["generate", "save", "Result", "InputError", "__version__"]
