"""Semantic checks of an instance model against its metamodel, at the level of EMF's
Diagnostician (pyecore checks little of this). One checker serves both the conceptual
model an LLM wrote and the object graph read back from an XMI file."""
from __future__ import annotations

import difflib
from collections import defaultdict

from ...compilers.xmi.model import InstanceModel, Obj, reference_features
from ...compilers.xmi.metamodel import Metamodel
from ...compilers.xmi.values import as_list, coerce
from ...core.diagnostics import Diagnostic

Edge = tuple[str, str, str]  # (source id, feature, target id)


def _d(code: str, o: Obj | None, feature: str | None, message: str, severity: str = "error") -> Diagnostic:
    return Diagnostic(
        code=code,
        obj=o.id if o else None,
        cls=o.cls if o else None,
        feature=feature,
        message=message,
        severity=severity,  # type: ignore[arg-type]
    )


def _who(o: Obj) -> str:
    return f"object '{o.id}' ({o.cls})"


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(close)}?" if close else ""


def check_model(model: InstanceModel, mm: Metamodel) -> list[Diagnostic]:
    """All checks; returns diagnostics (empty when the model is valid)."""
    diags: list[Diagnostic] = []
    index: dict[str, Obj] = {}
    for o in model.objects:
        if o.id in index:
            diags.append(_d("duplicate-id", o, None, f"id '{o.id}' is used by more than one object; give each object its own id."))
        else:
            index[o.id] = o
    if not model.objects:
        return [Diagnostic(code="empty-model", message="the model has no objects; write at least the root object.")]

    known: dict[str, Obj] = {}
    edges: list[Edge] = []
    for o in model.objects:
        info = mm.classes.get(o.cls)
        if info is None:
            concrete = [n for n, c in mm.classes.items() if c.concrete]
            diags.append(_d("unknown-class", o, None, f"{_who(o)}: the metamodel has no class '{o.cls}'.{_suggest(o.cls, concrete)} Classes: {', '.join(concrete)}."))
            continue
        if not info.concrete:
            subs = mm.concrete_subtypes(o.cls)
            hint = f" Use one of: {', '.join(subs)}." if subs else ""
            diags.append(_d("abstract-class", o, None, f"{_who(o)}: {o.cls} is {'an interface' if info.interface else 'abstract'} and cannot be instantiated.{hint}"))
        if o.id in index and index[o.id] is o:
            known[o.id] = o
        diags.extend(_check_attrs(o, mm))
        own_edges: list[Edge] = []
        diags.extend(_check_refs(o, mm, index, own_edges))
        if known.get(o.id) is o:  # a second object with a used id is reported, not followed
            edges.extend(own_edges)

    diags.extend(_id_attributes(known, mm))
    implied = _opposites(known, mm, edges, diags)
    containers = _containment(model, known, mm, edges, diags)
    diags.extend(_bounds(known, mm, edges, implied, containers))
    for c in dict.fromkeys(mm.ocl):  # an invariant is often named in two annotations
        diags.append(Diagnostic(code="ocl-not-checked", severity="warning", message=f"OCL invariant {c} was not checked (no OCL evaluator)."))
    return diags


def _id_attributes(known: dict[str, Obj], mm: Metamodel) -> list[Diagnostic]:
    """EMF resolves references through ID attributes: their values must be unique."""
    seen: dict[str, str] = {}
    out = []
    for o in known.values():
        for name, f in mm.classes[o.cls].features.items():
            if f.is_id and not f.is_ref and name in o.attrs and not isinstance(o.attrs[name], list):
                value = str(o.attrs[name])
                if value in seen:
                    out.append(_d("duplicate-id", o, name, f"{_who(o)}: '{name}' is an ID attribute and '{value}' is already used by '{seen[value]}'; give each object its own value."))
                else:
                    seen[value] = o.id
    return out


def _check_attrs(o: Obj, mm: Metamodel) -> list[Diagnostic]:
    out = []
    feats = mm.classes[o.cls].features
    for name, value in o.attrs.items():
        f = feats.get(name)
        if f is None:
            names = [n for n, g in feats.items() if g.settable and not g.is_ref]
            out.append(_d("unknown-feature", o, name, f"{_who(o)} has no attribute '{name}'.{_suggest(name, names)} Its attributes: {', '.join(names) or 'none'}."))
            continue
        if f.is_ref:
            out.append(_d("feature-kind", o, name, f"{_who(o)}: '{name}' is a reference; put it under refs with the target id(s)."))
            continue
        if not f.settable:
            out.append(_d("read-only-feature", o, name, f"{_who(o)}: '{name}' is {'derived' if f.derived else 'transient'} and is not stored; remove it."))
            continue
        values = as_list(value)
        if not f.many and len(values) > 1:
            out.append(_d("upper-bound", o, name, f"{_who(o)}: '{name}' takes one value, got {len(values)}."))
        for v in values:
            try:
                coerce(f, v)
            except ValueError as exc:
                code = "enum-literal" if f.kind == "enum" else "attribute-type"
                out.append(_d(code, o, name, f"{_who(o)}: '{name}' ({f.type_name}): {exc}."))
    return out


def _check_refs(o: Obj, mm: Metamodel, index: dict[str, Obj], edges: list[Edge]) -> list[Diagnostic]:
    out = []
    feats = mm.classes[o.cls].features
    for name in o.refs:
        f = feats.get(name)
        ids = o.ref_ids(name)
        if f is None:
            names = [n for n, g in feats.items() if g.settable and g.is_ref]
            out.append(_d("unknown-feature", o, name, f"{_who(o)} has no reference '{name}'.{_suggest(name, names)} Its references: {', '.join(names) or 'none'}."))
            continue
        if not f.is_ref:
            out.append(_d("feature-kind", o, name, f"{_who(o)}: '{name}' is an attribute; put its value under attrs."))
            continue
        if f.container:
            out.append(_d("read-only-feature", o, name, f"{_who(o)}: '{name}' is the container side of {f.type_name}.{f.opposite}; state containment on the parent instead (list '{o.id}' in its '{f.opposite}')."))
            continue
        if f.derived or not f.changeable:
            out.append(_d("read-only-feature", o, name, f"{_who(o)}: '{name}' is derived and is not stored; remove it."))
            continue
        if not f.many and len(ids) > 1:
            out.append(_d("upper-bound", o, name, f"{_who(o)}: '{name}' refers to one {f.type_name}, got {len(ids)} ids."))
        elif f.upper > 1 and len(set(ids)) > f.upper:
            out.append(_d("upper-bound", o, name, f"{_who(o)}: '{name}' takes at most {f.upper} ids, got {len(set(ids))}."))
        for tid in dict.fromkeys(ids):
            target = index.get(tid)
            if target is None:
                out.append(_d("dangling-reference", o, name, f"{_who(o)}: '{name}' refers to '{tid}', but no object has that id. Add that object or use an existing id."))
                continue
            if target.cls in mm.classes and not mm.is_a(target.cls, f.type_name):
                subs = mm.concrete_subtypes(f.type_name)
                out.append(_d("reference-type", o, name, f"{_who(o)}: '{name}' must refer to a {f.type_name} ({', '.join(subs)}), but '{tid}' is a {target.cls}."))
                continue
            if target.cls in mm.classes:
                edges.append((o.id, name, tid))
    return out


def _opposites(known: dict[str, Obj], mm: Metamodel, edges: list[Edge], diags: list[Diagnostic]) -> dict[tuple[str, str], set[str]]:
    """Values a feature gets through its eOpposite; report sides that contradict."""
    implied: dict[tuple[str, str], set[str]] = defaultdict(set)
    contradicted: set[tuple[str, str]] = set()
    for src, name, tgt in edges:
        f = mm.classes[known[src].cls].features[name] if src in known else None
        if f is None or not f.opposite or f.containment:
            continue
        implied[(tgt, f.opposite)].add(src)
        target = known.get(tgt)
        if target is None:
            continue
        if f.opposite in target.refs and src not in target.ref_ids(f.opposite):
            contradicted.add((tgt, f.opposite))
            diags.append(_d("opposite-inconsistent", target, f.opposite,
                            f"{_who(target)}: '{f.opposite}' is the opposite of {known[src].cls}.{name}; '{src}' lists '{tgt}' in '{name}', so '{f.opposite}' of '{tgt}' must include '{src}'. State one side only."))
    for (tgt, opp), srcs in implied.items():
        target = known.get(tgt)
        if target is None or (tgt, opp) in contradicted:  # already reported above
            continue
        g = mm.classes[target.cls].features.get(opp)
        explicit = set(target.ref_ids(opp))
        if g is not None and not g.many and len(srcs | explicit) > 1:
            diags.append(_d("opposite-inconsistent", target, opp,
                            f"{_who(target)}: '{opp}' takes one value but is implied by {', '.join(sorted(srcs | explicit))} through the opposite reference; keep one."))
    return implied


def _containment(model: InstanceModel, known: dict[str, Obj], mm: Metamodel, edges: list[Edge], diags: list[Diagnostic]) -> dict[str, list[tuple[str, str]]]:
    containers: dict[str, list[tuple[str, str]]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for src, name, tgt in edges:
        f = mm.classes[known[src].cls].features[name]
        if f.containment:
            containers[tgt].append((src, name))
            children[src].append(tgt)
    for tgt, where in containers.items():
        if len(where) > 1 and tgt in known:
            places = ", ".join(f"{s}.{n}" for s, n in where)
            diags.append(_d("contained-twice", known[tgt], None, f"{_who(known[tgt])} is contained by {places}; an object has exactly one container. Keep one and use a non-containment reference elsewhere."))
    roots = [o for o in model.objects if o.id in known and o.id not in containers]
    if known and not roots:
        diags.append(Diagnostic(code="containment-cycle", message="every object is contained by another: the containment has a cycle and no root. Exactly one object must be the root."))
        return containers
    if len(roots) > 1:
        preferred = mm.root_classes()
        roots.sort(key=lambda o: (o.cls not in preferred, -len(children.get(o.id, []))))
        root = roots[0]
        for o in roots[1:]:
            places = [f"{c}.{n}" for c, n in mm.containers_of.get(o.cls, [])]
            hint = f" List its id in a containment reference: {', '.join(places)}." if places else f" {o.cls} cannot be contained by anything; remove it or make it the only root."
            diags.append(_d("not-contained", o, None, f"{_who(o)} is not contained by any object; the model must have exactly one root ('{root.id}').{hint}"))
    # objects unreachable from the roots sit on a containment cycle
    seen: set[str] = set()
    stack = [o.id for o in roots]
    while stack:
        cur = stack.pop()
        if cur in seen:
            continue
        seen.add(cur)
        stack.extend(children.get(cur, []))
    for oid, o in known.items():
        if oid not in seen:
            diags.append(_d("containment-cycle", o, None, f"{_who(o)} is on a containment cycle (it contains, directly or not, its own container)."))
    return containers


def _bounds(known: dict[str, Obj], mm: Metamodel, edges: list[Edge], implied: dict[tuple[str, str], set[str]], containers: dict[str, list[tuple[str, str]]]) -> list[Diagnostic]:
    out = []
    for o in known.values():
        info = mm.classes[o.cls]
        for name, f in info.features.items():
            if f.derived or f.transient or (f.kind == "other" and f.type_name == "EFeatureMapEntry"):
                continue
            if f.container:
                if f.lower > 0 and not any(mm.classes[known[c].cls].features[n].opposite == name for c, n in containers.get(o.id, []) if c in known):
                    out.append(_d("required", o, name, f"{_who(o)} must be contained through {f.type_name}.{f.opposite}: list '{o.id}' in the '{f.opposite}' of a {f.type_name}."))
                continue
            if f.is_ref:
                count = len(set(o.ref_ids(name)) | implied.get((o.id, name), set()))
            else:
                count = len(as_list(o.attrs.get(name)))
            if f.lower > 0 and count == 0:
                what = f"a value for attribute '{name}' ({f.type_name})" if not f.is_ref else f"reference '{name}' to a {f.type_name}"
                out.append(_d("required", o, name, f"{_who(o)} is missing {what}; it is required ({f.bounds()})."))
            elif count < f.lower:
                out.append(_d("lower-bound", o, name, f"{_who(o)}: '{name}' needs at least {f.lower} values, has {count}."))
            elif f.is_ref and f.upper > 1 and count > f.upper and (o.id, name) in implied:  # upper 1: _opposites reports it
                out.append(_d("upper-bound", o, name, f"{_who(o)}: '{name}' takes at most {f.upper}, has {count} (counting opposite references)."))
    return out


def missing_objects(model: InstanceModel, mm: Metamodel) -> dict[str, tuple[str, str, list[str]]]:
    """Ids that references name but no object has, where that looks like an object never written
    rather than a wrong id: listed in a containment or many-valued reference, or named by two or
    more references. id -> (the first object naming it, the reference, the concrete classes it may
    have). In model order, each id once; a lone single-valued reference to no object is left to
    the repair prompt."""
    index = model.by_id()
    named: dict[str, list[tuple[str, str, list[str], bool]]] = {}
    for o, name, f in reference_features(model, mm):
        for tid in o.ref_ids(name):
            if tid not in index:
                named.setdefault(tid, []).append((o.id, name, mm.concrete_subtypes(f.type_name), f.many or f.containment))
    return {tid: refs[0][:3] for tid, refs in named.items() if len(refs) >= 2 or any(listed for *_, listed in refs)}
