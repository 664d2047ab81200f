"""What every target's edit prompt ends with: the whole changed model, or a JSON Patch of it."""
from __future__ import annotations

WHOLE_TAIL = "Write the complete changed JSON.\nJSON:"
PATCH_TAIL = (
    "Do not write the whole model: write only the change, as a JSON Patch (RFC 6902) of the current model: "
    'a JSON list of operations like [{"op": "replace", "path": "/parameters/0/value", "value": 35}, '
    '{"op": "add", "path": "/objects/-", "value": {...}}, {"op": "remove", "path": "/features/2"}]. '
    "Paths are JSON Pointers into the current model above; list items are numbered from 0 and \"-\" appends.\nJSON:"
)


def tail(mode: str) -> str:
    """The closing instruction of an edit prompt for ``mode`` ("whole" or "patch")."""
    return PATCH_TAIL if mode == "patch" else WHOLE_TAIL
