"""Rendering shared by the targets: Graphviz DOT -> SVG/PNG."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def renderer() -> list[str] | None:
    """The Graphviz command available: system ``dot``, else the pip ``graphviz-pure``, looked
    up on PATH and then beside the running interpreter (a venv's ``bin/`` that is not on PATH
    when ``.venv/bin/conceptwright`` runs without activating the venv)."""
    here = [str(Path(sys.executable).parent), sysconfig.get_path("scripts")]
    for exe in ("dot", "graphviz-pure"):
        path = shutil.which(exe) or next((p for d in here if (p := shutil.which(exe, path=d))), None)
        if path:
            return [path]
    return None


def render(dot_source: str, fmt: str = "svg", timeout: float = 60.0) -> bytes:
    """Render DOT to ``svg`` or ``png`` bytes; raise RuntimeError if no renderer works."""
    cmd = renderer()
    if cmd is None:
        raise RuntimeError("no Graphviz renderer: install graphviz-pure (pip) or graphviz (apt)")
    proc = subprocess.run(cmd + [f"-T{fmt}"], input=dot_source.encode(), capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"graphviz failed: {proc.stderr.decode(errors='replace')[:300]}")
    return proc.stdout
