"""Target plugins. Built-in and third-party targets register under the
``conceptwright.targets`` entry-point group (``name = "package.module:TargetClass"``)."""
from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points

from ..agent.protocol import InputError, Target

GROUP = "conceptwright.targets"
_BUILTIN = {
    "xmi": "conceptwright.targets.xmi:XmiTarget",
    "cad": "conceptwright.targets.cad:CadTarget",
    "sim": "conceptwright.targets.sim:SimTarget",
}


def _load(ref: str) -> Target:
    module, _, attr = ref.partition(":")
    obj = getattr(__import__(module, fromlist=[attr]), attr)
    return obj() if isinstance(obj, type) else obj


def available() -> dict[str, str]:
    """Target name -> 'module:object' reference (entry points override nothing built in)."""
    found = {n: r for n, r in _BUILTIN.items() if importlib.util.find_spec(r.partition(":")[0]) is not None}
    for ep in entry_points(group=GROUP):
        if ep.name not in _BUILTIN:  # ours are listed above (their metadata may be stale in a dev install)
            found.setdefault(ep.name, ep.value)
    return found


def get_target(name: str) -> Target:
    refs = available()
    if name not in refs:
        raise InputError(f"unknown target '{name}': {', '.join(sorted(refs))}")
    return _load(refs[name])
