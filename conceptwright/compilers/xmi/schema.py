"""From a metamodel: (a) a JSON Schema with one variant per concrete class, for
constrained decoding and strict structured outputs; (b) a compact readable summary
for the prompt."""
from __future__ import annotations

from typing import Any

from .metamodel import Feature, Metamodel

# Bounds keep a small model from decoding one endless string or list under the grammar.
MAX_STRING, MAX_ID, MAX_ITEMS = 200, 40, 100
_JSON_TYPES = {"string": "string", "int": "integer", "float": "number", "bool": "boolean", "date": "string", "other": "string"}


def _attr_schema(f: Feature) -> dict[str, Any]:
    if f.kind == "enum":
        one: dict[str, Any] = {"type": "string", "enum": list(f.literals)}
    elif f.kind == "date":
        one = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    else:
        one = {"type": _JSON_TYPES[f.kind or "other"]}
        if one["type"] == "string":
            one["maxLength"] = MAX_STRING
    return {"type": "array", "items": one, "maxItems": MAX_ITEMS} if f.many else one


def _ref_schema(f: Feature) -> dict[str, Any]:
    one = {"type": "string", "maxLength": MAX_ID}
    return {"type": "array", "items": one, "maxItems": MAX_ITEMS} if f.many else one


def label_attribute(attrs: dict[str, Feature]) -> str | None:
    """The attribute a modeller knows an object by: its ID attribute, else a single-valued string
    attribute called ``name``. The decoding schema asks for it (a small model that uses a name as
    the object's id tends to leave the name itself out)."""
    for f in attrs.values():
        if f.is_id and f.kind == "string" and not f.many:
            return f.name
    f = attrs.get("name")
    return "name" if f is not None and f.kind == "string" and not f.many else None


def class_variant(mm: Metamodel, cls: str) -> dict[str, Any]:
    info = mm.classes[cls]
    feats = {n: f for n, f in info.settable().items() if not f.implied}
    attrs = {n: f for n, f in feats.items() if not f.is_ref}
    refs = {n: f for n, f in feats.items() if f.is_ref}
    props: dict[str, Any] = {"id": {"type": "string", "maxLength": MAX_ID}, "class": {"const": cls}}
    required = ["id", "class"]
    if attrs:
        label = label_attribute(attrs)
        props["attrs"] = {
            "type": "object",
            "properties": {n: _attr_schema(f) for n, f in attrs.items()},
            "required": [n for n, f in attrs.items() if f.lower > 0 or n == label],
            "additionalProperties": False,
        }
        if props["attrs"]["required"]:
            required.append("attrs")
    if refs:
        props["refs"] = {
            "type": "object",
            "properties": {n: _ref_schema(f) for n, f in refs.items()},
            "required": [n for n, f in refs.items() if f.lower > 0],
            "additionalProperties": False,
        }
        if props["refs"]["required"]:
            required.append("refs")
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def instance_schema(mm: Metamodel, max_objects: int = 200) -> dict[str, Any]:
    """JSON Schema of a conceptual instance model for this metamodel."""
    variants = [class_variant(mm, n) for n, c in mm.classes.items() if c.concrete]
    return {
        "type": "object",
        "properties": {"objects": {"type": "array", "items": {"anyOf": variants}, "minItems": 1, "maxItems": max_objects}},
        "required": ["objects"],
        "additionalProperties": False,
    }


def objects_by_id_schema(mm: Metamodel, wanted: dict[str, list[str]]) -> dict[str, Any]:
    """Schema of a follow-up that writes exactly the ``wanted`` objects (id -> the classes it may
    have; empty: any concrete class), as a JSON object keyed by id, in that order: the decoder
    cannot skip one, rename it or write one of another type."""
    concrete = [n for n, c in mm.classes.items() if c.concrete]

    def value(classes: list[str]) -> dict[str, Any]:
        variants = []
        for cls in [c for c in classes if c in concrete] or concrete:
            v = class_variant(mm, cls)
            props = {k: x for k, x in v["properties"].items() if k != "id"}
            variants.append({**v, "properties": props, "required": [r for r in v["required"] if r != "id"]})
        return variants[0] if len(variants) == 1 else {"anyOf": variants}

    return {"type": "object", "properties": {oid: value(classes) for oid, classes in wanted.items()},
            "required": list(wanted), "additionalProperties": False}


def _type_text(f: Feature) -> str:
    if f.kind == "date":
        return "Date"
    if f.kind in ("int", "float", "bool", "string"):
        return {"int": "Int", "float": "Real", "bool": "Boolean", "string": "String"}[f.kind]
    return f.type_name


def feature_line(f: Feature, mm: Metamodel) -> str:
    mult = f"[{f.lower}..{'*' if f.upper == -1 else f.upper}]"
    text = f"{f.name}: {_type_text(f)}{mult}"
    notes = []
    if f.is_ref:
        if f.containment:
            notes.append("contains")
        subs = mm.concrete_subtypes(f.type_name)
        if subs and subs != [f.type_name]:
            notes.append("one of " + "|".join(subs))
        if f.opposite and not f.containment:
            notes.append(f"also sets {f.type_name}.{f.opposite}")
    if notes:
        text += " (" + ", ".join(notes) + ")"
    return text


def summary(mm: Metamodel) -> str:
    """A compact, readable description of the metamodel for the prompt."""
    lines: list[str] = []
    roots = mm.root_classes()
    abstract = [n for n, c in mm.classes.items() if not c.concrete]
    for name, info in mm.classes.items():
        if not info.concrete:
            continue
        feats = {n: f for n, f in info.settable().items() if not f.implied}
        direct = [s.name for s in info.eclass.eSuperTypes]
        head = f"class {name}" + (f" extends {', '.join(direct)}" if direct else "")
        if name in roots[:1]:
            head += "  <- root"
        lines.append(head)
        attrs = [feature_line(f, mm) for f in feats.values() if not f.is_ref]
        refs = [feature_line(f, mm) for f in feats.values() if f.is_ref]
        if attrs:
            lines.append("  attrs: " + "; ".join(attrs))
        if refs:
            lines.append("  refs: " + "; ".join(refs))
    if abstract:
        lines.append("abstract (never use as class): " + ", ".join(abstract))
    for enum, lits in mm.enums.items():
        lines.append(f"enum {enum}: " + " | ".join(lits))
    return "\n".join(lines)
