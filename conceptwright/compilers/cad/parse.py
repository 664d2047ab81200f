"""Parse LLM JSON into a Part, after the certain fixes of ``fixes.py``."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ...core.diagnostics import Diagnostic
from .fixes import holes_along_cylinders, normalize
from .model import OPS, Part

def parse_part(data: Any) -> tuple[Part | None, list[Diagnostic], list[str]]:
    """JSON data -> Part, or None with one diagnostic per schema problem."""
    data, fixes = normalize(data)
    try:
        part = Part.model_validate(data)
    except ValidationError as exc:
        return None, [_schema_diag(e, data) for e in exc.errors()[:15]], fixes
    holes_along_cylinders(part, fixes)
    return part, [], fixes


def _schema_diag(err: Any, data: Any) -> Diagnostic:
    loc = list(err["loc"])
    obj = None
    if len(loc) >= 2 and loc[0] == "features" and isinstance(loc[1], int):
        try:
            obj = str(data["features"][loc[1]].get("id"))
        except (KeyError, IndexError, TypeError, AttributeError):
            obj = None
    # drop pydantic's union tags ('extrude', 'rectangle') from the path shown to the LLM
    where = ".".join(str(p) for p in loc if not (isinstance(p, str) and (p in OPS or p in _SHAPES or p in ("linear", "polar"))))
    return Diagnostic(code="schema-error", message=f"{where}: {err['msg']}", obj=obj)


_SHAPES = ("rectangle", "circle", "polygon", "slot", "polyline", "profile")
