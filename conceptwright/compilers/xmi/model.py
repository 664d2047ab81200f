"""The conceptual instance model: a flat list of objects with ids, class, attribute
values and references by id. Containment is stated on the parent (its containment
reference lists the children's ids). Short keys, shallow nesting: easy for small models.

    {"objects": [
      {"id": "lib", "class": "Library", "attrs": {"name": "City Library"},
       "refs": {"books": ["b1"], "writers": ["w1"]}},
      {"id": "w1", "class": "Writer", "attrs": {"name": "Ann Leckie"}},
      {"id": "b1", "class": "Book", "attrs": {"title": "Ancillary Justice", "pages": 386},
       "refs": {"author": "w1"}}]}
"""
from __future__ import annotations

from collections.abc import Iterator

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from ...core.jsonschema import drop_nulls
from ...core.diagnostics import Diagnostic
from ...core.rules import fix
from .metamodel import Feature, Metamodel

Scalar = str | int | float | bool
RESERVED = ("id", "class", "attrs", "refs")


class Obj(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    cls: str = Field(alias="class", validation_alias=AliasChoices("class", "type", "eClass", "cls"))
    attrs: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, validation_alias=AliasChoices("attrs", "attributes"))
    refs: dict[str, str | list[str]] = Field(default_factory=dict, validation_alias=AliasChoices("refs", "references"))

    def ref_ids(self, name: str) -> list[str]:
        value = self.refs.get(name)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "class": self.cls}
        if self.attrs:
            out["attrs"] = self.attrs
        if self.refs:
            out["refs"] = self.refs
        return out


class InstanceModel(BaseModel):
    objects: list[Obj] = Field(default_factory=list)

    def by_id(self) -> dict[str, Obj]:
        return {o.id: o for o in self.objects}

    def dump(self) -> dict[str, Any]:
        return {"objects": [o.dump() for o in self.objects]}


@fix("xmi", "json-shape", "a bare list of objects, objects keyed by id, missing ids, attributes beside id/class are put in the schema's shape")
def normalize(data: Any) -> tuple[Any, list[str]]:
    """Shape fixes that are certain, before pydantic: a bare list of objects, nulls,
    missing ids, and attribute values written beside id/class instead of under attrs."""
    fixes: list[str] = []
    data = drop_nulls(data)
    if isinstance(data, list):
        data = {"objects": data}
        fixes.append("wrapped the top-level list as {\"objects\": [...]}")
    if isinstance(data, dict) and "objects" not in data and isinstance(data.get("class"), str):
        data = {"objects": [data]}
        fixes.append("wrapped the lone object as {\"objects\": [...]}")
    if isinstance(data, dict) and "objects" not in data and data and all(
            isinstance(v, dict) and isinstance(v.get("class"), str) for v in data.values()):
        data = {"objects": [{"id": k, **{f: x for f, x in v.items() if f != "id"}} for k, v in data.items()]}
        fixes.append("read the objects keyed by id as the object list")
    if isinstance(data, dict) and "objects" not in data:
        lists = [k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if len(lists) == 1:
            data = {"objects": data[lists[0]]}
            fixes.append(f"read the list under '{lists[0]}' as the objects")
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        return data, fixes
    objs = []
    for i, o in enumerate(data["objects"]):
        if not isinstance(o, dict):
            objs.append(o)
            continue
        o = dict(o)
        if "id" not in o or o["id"] in ("", None):
            o["id"] = f"obj{i + 1}"
            fixes.append(f"gave object #{i + 1} the id '{o['id']}'")
        elif not isinstance(o["id"], str):
            o["id"] = str(o["id"])
        extra = [k for k in o if k not in RESERVED and k not in ("type", "eClass", "cls", "attributes", "references")]
        if extra:
            attrs = dict(o.get("attrs") or o.get("attributes") or {})
            for k in extra:
                attrs.setdefault(k, o.pop(k))
            o["attrs" if "attributes" not in o else "attributes"] = attrs
            fixes.append(f"moved {', '.join(extra)} of object '{o['id']}' under attrs")
        objs.append(o)
    return {**data, "objects": objs}, fixes


def parse_model(data: Any) -> tuple[InstanceModel | None, list[Diagnostic], list[str]]:
    """Validate JSON data as an InstanceModel; diagnostics say what is malformed."""
    data, fixes = normalize(data)
    try:
        return InstanceModel.model_validate(data), [], fixes
    except ValidationError as exc:
        diags = []
        for err in exc.errors()[:20]:
            loc = "/".join(str(p) for p in err["loc"])
            diags.append(
                Diagnostic(
                    code="schema-error",
                    obj=loc,
                    message=f"{err['msg']} at {loc}. Each object is "
                    '{"id": "...", "class": "...", "attrs": {name: value}, "refs": {name: id or [ids]}}.',
                )
            )
        return None, diags, fixes


def reference_features(model: InstanceModel, mm: Metamodel) -> Iterator[tuple[Obj, str, Feature]]:
    """(object, reference name, its feature) for every reference an object states whose class and
    feature the metamodel knows. Over a snapshot: callers may add objects and change refs."""
    for o in list(model.objects):
        info = mm.classes.get(o.cls)
        if info is None:
            continue
        for name in list(o.refs):
            f = info.features.get(name)
            if f is not None and f.is_ref:
                yield o, name, f
