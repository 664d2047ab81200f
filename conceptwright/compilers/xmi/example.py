"""A small valid instance synthesised from the metamodel itself, used as the worked
example in prompts for very small models (they copy shapes well, names poorly)."""
from __future__ import annotations

from typing import Any

from .model import InstanceModel
from .metamodel import Feature, Metamodel

_PLACEHOLDER = {"string": "text", "int": 1, "float": 1.5, "bool": True, "date": "2024-01-31", "other": "text"}


def _value(f: Feature) -> Any:
    if f.kind == "enum":
        return f.literals[0] if f.literals else "text"
    if f.kind == "string":
        return f.name.capitalize() + " 1"
    return _PLACEHOLDER.get(f.kind or "other", "text")


def example_instance(mm: Metamodel, depth: int = 2) -> InstanceModel | None:
    """Root object, one child per containment reference (to ``depth``), required
    references filled with existing objects; None where the metamodel has no root class.
    The caller checks it (``tools/xmi/check.py``) before showing it to a model."""
    roots = mm.root_classes()
    if not roots:
        return None
    objs: list[dict[str, Any]] = []
    counts: dict[str, int] = {}

    def make(cls: str, level: int) -> str:
        counts[cls] = counts.get(cls, 0) + 1
        oid = f"{cls[:1].lower()}{cls[1:]}{counts[cls]}"
        info = mm.classes[cls]
        attrs = {n: (_value(f) if not f.many else [_value(f)]) for n, f in info.settable().items()
                 if not f.is_ref and (f.lower > 0 or f.kind in ("string", "enum", "int"))}
        obj: dict[str, Any] = {"id": oid, "class": cls, "attrs": attrs, "refs": {}}
        objs.append(obj)
        if level < depth:
            for n, f in info.settable().items():
                if f.is_ref and f.containment:
                    subs = mm.concrete_subtypes(f.type_name)
                    if subs and subs[0] != cls:
                        child = make(subs[0], level + 1)
                        obj["refs"][n] = [child] if f.many else child
        return oid

    make(roots[0], 0)
    for obj in objs:
        for n, f in mm.classes[obj["class"]].settable().items():
            if f.is_ref and not f.containment and f.lower > 0 and n not in obj["refs"]:
                target = next((o["id"] for o in objs if mm.is_a(o["class"], f.type_name)), None)
                if target is not None:
                    obj["refs"][n] = [target] if f.many else target
    return InstanceModel.model_validate({"objects": objs})
