"""What changed between two conceptual models, in words a modeller reads. One general diff for
every target: lists of items with an ``id`` (or ``name``) are compared item by item (added,
removed, changed field by field), anything else path by path; the artefacts' key figures
(``Result.facts``: size and volume of a part, KPIs of a simulation) are compared beside."""
from __future__ import annotations

import json
from typing import Any

_KEYS = ("id", "name")
MAX_LINES = 40


def _key(items: list[Any]) -> str | None:
    for k in _KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(k), str) for i in items):
            return k
    return None


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def _label(item: dict[str, Any], key: str) -> str:
    kind = item.get("class") or item.get("op") or item.get("shape") or ""
    return f"{kind} '{item[key]}'".strip() if kind else f"'{item[key]}'"


def _diff(before: Any, after: Any, path: str, out: list[str]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for k in [*before, *(k for k in after if k not in before)]:
            sub = f"{path}.{k}" if path else k
            if k not in after:
                out.append(f"{sub}: removed (was {_text(before[k])})")
            elif k not in before:
                out.append(f"{sub}: {_text(after[k])} (new)")
            else:
                _diff(before[k], after[k], sub, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        key = _key(before + after) if (before or after) else None
        if key is not None:
            old, new = {i[key]: i for i in before}, {i[key]: i for i in after}
            out += [f"added {_label(i, key)}" + (f" to {path}" if path else "") for k, i in new.items() if k not in old]
            out += [f"removed {_label(i, key)}" + (f" from {path}" if path else "") for k, i in old.items() if k not in new]
            for k in (k for k in new if k in old):
                _diff({f: v for f, v in old[k].items() if f != key}, {f: v for f, v in new[k].items() if f != key},
                      f"{k}", out)
            return
        if all(not isinstance(v, (dict, list)) for v in before + after):
            gone = [v for v in before if v not in after]
            came = [v for v in after if v not in before]
            if gone or came:
                parts = [*(f"+{_text(v)}" for v in came), *(f"-{_text(v)}" for v in gone)]
                out.append(f"{path}: {' '.join(parts)}")
                return
    out.append(f"{path}: {_text(before)} -> {_text(after)}")


def changes(before: Any, after: Any, facts_before: dict[str, Any] | None = None,
            facts_after: dict[str, Any] | None = None) -> list[str]:
    """Lines saying what ``after`` changed of ``before`` (None: a new model), then how the key
    figures moved. At most ``MAX_LINES`` lines (the rest counted)."""
    out: list[str] = []
    if before is None:
        out.append("a new model")
    else:
        _diff(before, after, "", out)
        if not out:
            out.append("no change to the model")
    fb, fa = facts_before or {}, facts_after or {}
    for k in [*fa, *(k for k in fb if k not in fa)]:
        if k not in fb and before is None:
            out.append(f"{k}: {_text(fa[k])}")
        elif fb.get(k) != fa.get(k):
            out.append(f"{k}: {_text(fb.get(k)) if k in fb else '-'} -> {_text(fa[k]) if k in fa else '-'}")
    if len(out) > MAX_LINES:
        out = out[:MAX_LINES] + [f"... and {len(out) - MAX_LINES} more"]
    return out
