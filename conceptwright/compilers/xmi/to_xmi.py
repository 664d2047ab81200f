"""Compile a conceptual instance model to XMI with pyecore.

Deterministic: same model, same bytes. Opposite references are completed by pyecore;
containment comes from the parent's containment references. Best effort on an invalid
model (unknown classes/features and bad values are skipped, extra roots are kept as
additional roots) so the best failed attempt can still be written.
"""
from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from types import MethodType

from lxml import etree
from pyecore.ecore import EModelElement, EObject
from pyecore.resources.xmi import XMIOptions, XMIResource
from pyecore.valuecontainer import BadValueError

from .model import InstanceModel
from .memuri import MemoryURI
from .metamodel import Feature, Metamodel
from .values import as_list, coerce

XSI = "http://www.w3.org/2001/XMLSchema-instance"


def build_objects(model: InstanceModel, mm: Metamodel) -> tuple[dict[str, object], list[object]]:
    """Create pyecore objects; return (id -> EObject, roots in model order)."""
    objs: dict[str, object] = {}
    made_from: dict[str, object] = {}  # id -> the Obj its EObject was made from (a duplicate id is skipped)
    for o in model.objects:
        info = mm.classes.get(o.cls)
        if info is None or not info.concrete or o.id in objs:
            continue
        e = info.eclass()
        objs[o.id] = e
        made_from[o.id] = o
        for name, value in o.attrs.items():
            f = info.features.get(name)
            if f is None or f.is_ref or not f.settable:
                continue
            vals = []
            for v in as_list(value):
                try:
                    vals.append(coerce(f, v))
                except ValueError:
                    continue
            if f.kind == "enum":
                enum = f.efeature.eType
                vals = [enum.getEEnumLiteral(v) for v in vals]
            else:
                vals = [_python(f, _xml_chars(v) if isinstance(v, str) else v) for v in vals]
            try:
                if f.many:
                    e.eGet(name).extend(vals)
                elif vals:
                    e.eSet(name, vals[0])
            except (BadValueError, TypeError, ValueError):  # a value pyecore refuses for this datatype: skipped
                continue
    contained: set[str] = set()
    # containment first, so that opposite container references are set by it
    for pass_containment in (True, False):
        for o in model.objects:
            e = objs.get(o.id)
            info = mm.classes.get(o.cls)
            if e is None or info is None or made_from.get(o.id) is not o:
                continue
            for name in o.refs:
                f = info.features.get(name)
                if f is None or not f.is_ref or not f.settable or f.containment != pass_containment:
                    continue
                targets = []
                for tid in dict.fromkeys(o.ref_ids(name)):
                    t = objs.get(tid)
                    if t is None or not mm.is_a(t.eClass.name, f.type_name):
                        continue
                    if f.containment and (tid in contained or tid == o.id):
                        continue
                    targets.append((tid, t))
                if f.containment:
                    contained.update(tid for tid, _ in targets)
                if f.many:
                    current = e.eGet(name)
                    for _, t in targets:
                        if t not in current:
                            current.append(t)
                elif targets:
                    e.eSet(name, targets[0][1])
    roots = [objs[o.id] for o in model.objects if o.id in objs and o.id not in contained and objs[o.id].eContainer() is None]
    for e in objs.values():
        if isinstance(e, EModelElement):  # a class extending Ecore's own: pyecore would write name paths (#//a b)
            e.eURIFragment = MethodType(EObject.eURIFragment, e)
    return objs, roots


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_chars(text: str) -> str:
    """Without the characters XML 1.0 cannot hold (NUL, control characters, lone surrogates)."""
    return _NOT_XML.sub("", text)


def _python(f: Feature, value: object) -> object:
    """The Python value pyecore wants for the attribute's datatype (EBigDecimal: Decimal, EFloat: float,
    XMLType IDREFS/NMTOKENS: a list of tokens)."""
    py = getattr(f.efeature.eType, "eType", None)
    if py is Decimal and not isinstance(value, Decimal) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except (ArithmeticError, ValueError):
            return value
    if py is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if py in (list, tuple) and isinstance(value, str):
        return value.split()
    return value


def to_xmi(model: InstanceModel, mm: Metamodel, *, metamodel_location: str | None = None) -> str:
    """Serialise the model as XMI text (UTF-8 XML)."""
    _, roots = build_objects(model, mm)
    uri = MemoryURI()
    resource = XMIResource(uri)
    for r in roots:
        resource.append(r)
    resource.save(options={XMIOptions.SERIALIZE_DEFAULT_VALUES: True})  # keep stated values equal to defaults
    data = uri.data
    if metamodel_location and roots:
        data = _add_schema_location(data, mm, metamodel_location)
    return data.decode("utf-8")


def _add_schema_location(data: bytes, mm: Metamodel, location: str) -> bytes:
    """Point EMF at the metamodel (as 'Create Dynamic Instance' does)."""
    tree = etree.fromstring(data)
    pairs = []
    for i, pkg in enumerate(mm.top_packages):
        if pkg.nsURI and pkg.nsURI in tree.nsmap.values():
            frag = f"#/{i}" if len(mm.top_packages) > 1 else ""
            pairs.append(f"{pkg.nsURI} {location}{frag}")
    if not pairs:
        return data
    nsmap = dict(tree.nsmap)
    nsmap.setdefault("xsi", XSI)
    root = etree.Element(tree.tag, nsmap=nsmap, attrib=dict(tree.attrib))
    root[:] = tree[:]
    root.text = tree.text
    root.set(f"{{{XSI}}}schemaLocation", " ".join(pairs))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def relative_location(metamodel: str | Path, out: str | Path) -> str:
    """Metamodel path relative to the output file's folder, with forward slashes."""
    rel = os.path.relpath(Path(metamodel).resolve(), Path(out).resolve().parent)
    return rel.replace(os.sep, "/")
