"""Where a target's artefacts go: a folder (each artefact under the target's default name) or a
mapping of artefact kind -> path. No argparse here: the CLI maps its flags onto a mapping."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..agent.protocol import InputError

Destination = str | Path | Mapping[str, "str | Path | None"]


def destinations(dest: Destination, defaults: Mapping[str, str]) -> dict[str, Path]:
    """Artefact kind -> path: every default name inside a folder, or the kinds a mapping names."""
    if isinstance(dest, Mapping):
        unknown = sorted(set(dest) - set(defaults))
        if unknown:
            raise InputError(f"unknown output(s) {', '.join(unknown)}: use {', '.join(defaults)}")
        return {kind: Path(path) for kind, path in dest.items() if path}
    folder = Path(dest)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder for the outputs")
    return {kind: folder / name for kind, name in defaults.items()}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_artefacts(artefacts: Mapping[str, str | bytes], paths: Mapping[str, Path]) -> list[Path]:
    """Write each artefact that has a path; return the paths written, in the order of ``paths``."""
    return [write(path, artefacts[kind]) for kind, path in paths.items() if artefacts.get(kind) is not None]
