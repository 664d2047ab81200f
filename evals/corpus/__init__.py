"""The corpus eval: public Ecore metamodels through the xmi target's machinery, no LLM (``python -m evals corpus``)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "conceptwright" / "corpus"
DEFAULT_MIRRORS = Path(os.environ.get("CONCEPTWRIGHT_MIRRORS", "/work/.mirror"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m evals corpus`` (light: no conceptwright import at parser time)."""
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="where the corpus is extracted (default ~/.cache/conceptwright/corpus)")
    p.add_argument("--mirrors", default=str(DEFAULT_MIRRORS), help="folder of bare mirrors owner+name/repo (default /work/.mirror)")
    p.add_argument("--only", help="comma-separated source names (default all)")
    p.add_argument("--limit", type=int, default=0, help="the first N metamodels of each source only")
    p.add_argument("--out", help="markdown report (default evals/reports/corpus.md)")
