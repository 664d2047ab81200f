"""Fixes that are certain, applied without an LLM call and recorded.

Each fix has exactly one sensible reading: a unique case-insensitive class, feature or
enum-literal match; a feature under the wrong key (attrs vs refs); a one-element list for
a single-valued feature; a container reference stated on the child; and an uncontained
object that only one object in the model can contain.
"""
from __future__ import annotations

import re

from .model import InstanceModel, Obj, reference_features
from .metamodel import Feature, Metamodel
from ...core.rules import fix


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _unique(name: str, options: list[str]) -> str | None:
    hits = [o for o in options if _norm(o) == _norm(name)]
    return hits[0] if len(hits) == 1 else None


def autofix(model: InstanceModel, mm: Metamodel) -> tuple[InstanceModel, list[str]]:
    model = model.model_copy(deep=True)
    fixes: list[str] = []
    for o in model.objects:
        _fix_class(o, mm, fixes)
        if o.cls in mm.classes:
            _fix_features(o, mm, fixes)
            _fix_values(o, mm, fixes)
    _fix_ref_names(model, mm, fixes)
    _fix_class_by_refs(model, mm, fixes)
    _fix_containers(model, mm, fixes)
    _prune_double_containment(model, mm, fixes)
    _fix_roots(model, mm, fixes)
    _add_missing_root(model, mm, fixes)
    return model, fixes


@fix("xmi", "class-name", "a class written with other case or spacing that matches exactly one class becomes it")
def _fix_class(o: Obj, mm: Metamodel, fixes: list[str]) -> None:
    if o.cls not in mm.classes:
        found = mm.find_class(o.cls)
        if found:
            fixes.append(f"{o.id}: class '{o.cls}' -> '{found}'")
            o.cls = found


@fix("xmi", "feature-name", "a feature matching exactly one feature case-insensitively is renamed; a reference under attrs, or an attribute under refs, moves")
def _fix_features(o: Obj, mm: Metamodel, fixes: list[str]) -> None:
    feats = mm.classes[o.cls].features
    names = list(feats)
    for bucket in ("attrs", "refs"):
        values: dict = getattr(o, bucket)
        for name in list(values):
            if name not in feats:
                found = _unique(name, names)
                if found and found not in values:
                    values[found] = values.pop(name)
                    fixes.append(f"{o.id}: feature '{name}' -> '{found}'")
    for name in list(o.attrs):  # a reference written under attrs
        f = feats.get(name)
        if f is not None and f.is_ref and name not in o.refs:
            value = o.attrs.pop(name)
            if isinstance(value, list) and all(isinstance(v, str) for v in value) or isinstance(value, str):
                o.refs[name] = value  # type: ignore[assignment]
                fixes.append(f"{o.id}: moved reference '{name}' from attrs to refs")
            else:
                o.attrs[name] = value
    for name in list(o.refs):  # an attribute written under refs
        f = feats.get(name)
        if f is not None and not f.is_ref and name not in o.attrs:
            o.attrs[name] = o.refs.pop(name)
            fixes.append(f"{o.id}: moved attribute '{name}' from refs to attrs")


def _fix_values(o: Obj, mm: Metamodel, fixes: list[str]) -> None:
    """Dispatch each value to the value fixes (not a rule itself)."""
    feats = mm.classes[o.cls].features
    for name, value in list(o.attrs.items()):
        f = feats.get(name)
        if f is None or f.is_ref:
            continue
        value = _shape(f, value, o, fixes)
        if f.kind == "string":
            value = _unquote(value, o, f, fixes)
        if f.kind == "enum":
            value = _literal(f, value, o, fixes)
        o.attrs[name] = value
    for name, value in list(o.refs.items()):
        f = feats.get(name)
        if f is not None and f.is_ref:
            o.refs[name] = _shape(f, value, o, fixes)


@fix("xmi", "single-value", "a one-element list for a single-valued feature is unwrapped")
def _shape(f: Feature, value, o: Obj, fixes: list[str]):
    if not f.many and isinstance(value, list) and len(value) == 1:
        fixes.append(f"{o.id}.{f.name}: single value unwrapped from a list")
        return value[0]
    if f.many and not isinstance(value, list):
        return [value]
    return value


@fix("xmi", "unquote", "quotes copied from the description around a string value are removed")
def _unquote(value, o: Obj, f: Feature, fixes: list[str]):
    """'Dune' -> Dune: quotes copied from the description are not part of the value."""
    def one(v):
        if isinstance(v, str) and len(v) > 2 and v[0] == v[-1] and v[0] in "'\"`" and v[0] not in v[1:-1]:
            fixes.append(f"{o.id}.{f.name}: removed the quotes around {v}")
            return v[1:-1]
        return v

    return [one(v) for v in value] if isinstance(value, list) else one(value)


@fix("xmi", "enum-literal", "an enum value matching exactly one literal case-insensitively becomes that literal")
def _literal(f: Feature, value, o: Obj, fixes: list[str]):
    def fix_one(v):
        if isinstance(v, str) and v not in f.literals:
            found = _unique(v, list(f.literals))
            if found:
                fixes.append(f"{o.id}.{f.name}: enum literal '{v}' -> '{found}'")
                return found
        return v

    return [fix_one(v) for v in value] if isinstance(value, list) else fix_one(value)


@fix("xmi", "reference-by-name", "a reference written as the name of exactly one fitting object uses its id")
def _fix_ref_names(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """A reference written as the target's name instead of its id: use the id when
    exactly one object of a fitting class has that name."""
    index = model.by_id()
    for o, name, f in reference_features(model, mm):
        changed = False
        new_ids = []
        for rid in o.ref_ids(name):
            if rid not in index:
                hits = [p.id for p in model.objects if p.id != o.id and mm.is_a(p.cls, f.type_name)
                        and any(isinstance(v, str) and _norm(v) == _norm(rid) for v in p.attrs.values())]
                if len(hits) == 1:
                    fixes.append(f"{o.id}.{name}: '{rid}' is the name of '{hits[0]}'; used its id")
                    rid, changed = hits[0], True
            new_ids.append(rid)
        if changed:
            o.refs[name] = new_ids if isinstance(o.refs[name], list) else new_ids[0]


@fix("xmi", "class-from-references", "an object whose references fit exactly one other class of its kind (and not its own) "
     "gets that class (an arc from a transition to a place is a TransitionToPlace)")
def _fix_class_by_refs(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    index = model.by_id()
    holders: dict[str, list[Feature]] = {}  # child id -> the containment references listing it
    for o in model.objects:
        info = mm.classes.get(o.cls)
        for name in o.refs if info else ():
            f = info.features.get(name)
            if f is not None and f.is_ref and f.containment:
                for cid in o.ref_ids(name):
                    holders.setdefault(cid, []).append(f)

    def fits(cls: str, o: Obj) -> bool:
        feats = mm.classes[cls].features
        if any(n not in feats or feats[n].is_ref for n in o.attrs) or any(n not in feats or not feats[n].is_ref for n in o.refs):
            return False
        for name in o.refs:
            allowed = mm.concrete_subtypes(feats[name].type_name)
            if any(t in index and index[t].cls not in allowed for t in o.ref_ids(name)):
                return False
        return all(cls in mm.concrete_subtypes(h.type_name) for h in holders.get(o.id, []))

    concrete = [n for n, c in mm.classes.items() if c.concrete]
    for o in model.objects:
        if o.cls not in mm.classes or not o.refs or fits(o.cls, o):
            continue
        if not all(o.cls in mm.concrete_subtypes(h.type_name) for h in holders.get(o.id, [])):
            continue  # misplaced rather than mistyped: not this rule's case
        others = [c for c in concrete if c != o.cls and fits(c, o)]
        if len(others) == 1:
            fixes.append(f"{o.id}: class '{o.cls}' -> '{others[0]}' (what its references point to)")
            o.cls = others[0]


@fix("xmi", "last-resort-shells", "last resort: an id listed in a containment reference of one concrete class becomes an empty object")
def materialize_children(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """Part of the last resort (before pruning): an id listed in a containment reference whose
    object was never written, where the reference admits exactly one concrete class: create that
    (empty) child. Its name is
    the id when the class has a 'name' attribute and the id reads like a name."""
    index = model.by_id()
    for o, name, f in reference_features(model, mm):
        subs = mm.concrete_subtypes(f.type_name) if f.containment else []
        if len(subs) != 1:
            continue
        for cid in o.ref_ids(name):
            if cid in index:
                continue
            child = Obj(id=cid, cls=subs[0])
            naming = mm.classes[subs[0]].features.get("name")
            if naming is not None and naming.kind == "string" and naming.settable and not re.fullmatch(rf"{subs[0].lower()}_?\d+", cid.lower()):
                child.attrs["name"] = cid
            model.objects.append(child)
            index[cid] = child
            fixes.append(f"{o.id}.{name}: created the {subs[0]} '{cid}' it lists but never wrote")


@fix("xmi", "last-resort-prune", "last resort: ids no object has are dropped from many-valued references (reported as lost)")
def prune_dangling(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """The last resort, never a certain fix: ids listed in a many-valued reference that name no
    object (small models list ids ahead and never write those objects) are dropped when the
    lower bound still holds. This loses what the description asked for, so the agent first asks
    the LLM for exactly those objects and prunes only when that failed (reported as a warning)."""
    index = model.by_id()
    for o, name, f in reference_features(model, mm):
        value = o.refs[name]
        if not f.many or not isinstance(value, list):
            continue
        kept = [i for i in value if i in index]
        if len(kept) < len(value) and len(kept) >= f.lower:
            gone = [i for i in value if i not in index]
            o.refs[name] = kept
            fixes.append(f"{o.id}.{name}: dropped {', '.join(repr(i) for i in gone)} (no object has that id)")


@fix("xmi", "double-containment", "an object contained twice stays in the first container only")
def _prune_double_containment(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """An object listed by two containment references stays in the first (in model
    order, the root first) and is removed from the others, where the bound allows."""
    owner: dict[str, str] = {}
    for o in model.objects:
        info = mm.classes.get(o.cls)
        if info is None:
            continue
        for name in list(o.refs):
            f = info.features.get(name)
            if f is None or not f.is_ref or not f.containment or not f.many or not isinstance(o.refs[name], list):
                continue
            ids = o.refs[name]
            again = [i for i in ids if i in owner and owner[i] != o.id]
            if again and len(ids) - len(again) >= f.lower:
                o.refs[name] = [i for i in ids if i not in again]
                fixes.append(f"{o.id}.{name}: removed {', '.join(again)} (already contained by {', '.join(sorted({owner[i] for i in again}))})")
            for i in o.refs[name]:
                owner.setdefault(i, o.id)


@fix("xmi", "container-side", "a container reference stated on the child is listed on the parent instead")
def _fix_containers(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """A child naming its container (e.g. Element.net): list it in the parent instead."""
    index = model.by_id()
    for o in model.objects:
        if o.cls not in mm.classes:
            continue
        for name in list(o.refs):
            f = mm.classes[o.cls].features.get(name)
            if f is None or not f.container:
                continue
            ids = o.ref_ids(name)
            parent = index.get(ids[0]) if len(ids) == 1 else None
            if parent is None or parent.cls not in mm.classes:
                continue
            pf = mm.classes[parent.cls].features.get(f.opposite or "")
            if pf is None or not pf.containment:
                continue
            del o.refs[name]
            if o.id not in parent.ref_ids(pf.name):
                _add_ref(parent, pf, o.id)
                fixes.append(f"{o.id}: container reference '{name}' -> listed in {parent.id}.{pf.name}")
            else:
                fixes.append(f"{o.id}: dropped container reference '{name}' (already in {parent.id}.{pf.name})")


def _add_ref(parent: Obj, f: Feature, child: str) -> None:
    if f.many:
        parent.refs[f.name] = parent.ref_ids(f.name) + [child]
    else:
        parent.refs[f.name] = child


@fix("xmi", "only-container", "an uncontained object that exactly one object can contain is added to it")
def _fix_roots(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """Put each uncontained object into the only object+feature that can contain it."""
    changed = True
    while changed:
        changed = False
        contained: dict[str, str] = {}
        for o in model.objects:
            info = mm.classes.get(o.cls)
            if info is None:
                continue
            for name in o.refs:
                f = info.features.get(name)
                if f is not None and f.is_ref and f.containment:
                    for cid in o.ref_ids(name):
                        contained.setdefault(cid, o.id)
        uncontained = [o for o in model.objects if o.id not in contained and o.cls in mm.classes]
        if len(uncontained) <= 1:
            return
        roots = set(mm.root_classes())
        for o in uncontained:
            if o.cls in roots:  # a root candidate is never put inside something by guess
                continue
            slots = []
            for owner, fname in mm.containers_of.get(o.cls, []):
                for p in model.objects:
                    if p.cls != owner or p.id == o.id or _descends(p.id, o.id, contained):
                        continue
                    f = mm.classes[owner].features[fname]
                    if not f.many and p.ref_ids(fname):
                        continue
                    slots.append((p, f))
            if len(slots) == 1:
                parent, f = slots[0]
                _add_ref(parent, f, o.id)
                fixes.append(f"{o.id}: was not contained; added to {parent.id}.{f.name} (the only possible container)")
                changed = True
                break


def _descends(node: str, ancestor: str, contained: dict[str, str]) -> bool:
    seen = set()
    while node in contained and node not in seen:
        seen.add(node)
        node = contained[node]
        if node == ancestor:
            return True
    return False


@fix("xmi", "missing-root", "a root is added when exactly one root class can hold all top-level objects")
def _add_missing_root(model: InstanceModel, mm: Metamodel, fixes: list[str]) -> None:
    """Several top-level objects and no root: when the metamodel has a single root class
    with no required features, and each loose object fits exactly one of its containment
    references, create that root and put them there."""
    roots = mm.root_classes()
    if len(roots) != 1:
        return
    root_cls = roots[0]
    info = mm.classes[root_cls]
    if any(f.lower > 0 for f in info.settable().values()):
        return
    contained = {cid for o in model.objects if o.cls in mm.classes for name in o.refs
                 if (f := mm.classes[o.cls].features.get(name)) is not None and f.is_ref and f.containment
                 for cid in o.ref_ids(name)}
    loose = [o for o in model.objects if o.id not in contained]
    if len(loose) < 2 or any(o.cls == root_cls or o.cls not in mm.classes for o in loose):
        return
    slots: dict[str, Feature] = {}
    for o in loose:
        fits = [f for f in info.settable().values() if f.containment and mm.is_a(o.cls, f.type_name)]
        if len(fits) != 1:
            return
        slots[o.id] = fits[0]
    ids = {o.id for o in model.objects}
    rid = next(c for c in ("root", "root1", "root2", "root_obj") if c not in ids)
    root = Obj(id=rid, cls=root_cls)
    for o in loose:
        _add_ref(root, slots[o.id], o.id)
    model.objects.insert(0, root)
    fixes.append(f"added the missing root '{rid}' ({root_cls}) holding {', '.join(o.id for o in loose)}")
