"""Validate XMI text against a metamodel: read it with lxml into an object graph
(independently of pyecore, which silently drops much), run the semantic checks, and
confirm pyecore can load it."""
from __future__ import annotations

import itertools
from typing import Any

from lxml import etree

from ...compilers.xmi.model import InstanceModel, Obj
from ...compilers.xmi.memuri import MemoryURI
from ...compilers.xmi.metamodel import Metamodel
from ...core.diagnostics import Diagnostic
from ...core.errors import InputError
from ...core.safexml import parse_xml
from .check import check_model

XMI_NS = "http://www.omg.org/XMI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_counter = itertools.count()


def read_xmi(text: str | bytes, mm: Metamodel) -> tuple[InstanceModel | None, list[Diagnostic]]:
    """Read XMI into an InstanceModel whose ids are xmi:ids or EMF fragment paths."""
    try:  # the one safe pre-parse: no DTD/entities, no network, size and depth caps
        root = parse_xml(text, "the XMI")
    except InputError as exc:
        return None, [Diagnostic(code="parse-error", message=str(exc))]
    reader = _Reader(mm)
    elements = list(root) if root.tag == f"{{{XMI_NS}}}XMI" else [root]
    elements = [e for e in elements if isinstance(e.tag, str)]
    for i, el in enumerate(elements):
        path = "/" if len(elements) == 1 else f"/{i}"
        reader.read_root(el, path)
    return reader.finish()


class _Reader:
    def __init__(self, mm: Metamodel) -> None:
        self.mm = mm
        self.objects: list[Obj] = []
        self.diags: list[Diagnostic] = []
        self.by_key: dict[str, str] = {}  # xmi:id / path / ID-attribute value -> object id
        self.pending: list[tuple[Obj, str, list[str]]] = []

    def _class_of(self, el: Any, default: str | None) -> str | None:
        xsi_type = el.get(f"{{{XSI_NS}}}type")
        if xsi_type:
            prefix, _, local = xsi_type.rpartition(":")
            uri = el.nsmap.get(prefix or None)
            found = self.mm.eclass_by_qname(uri, local) or self.mm.eclass_by_qname(None, local)
            return found or local
        return default

    def read_root(self, el: Any, path: str) -> None:
        qn = etree.QName(el)
        cls = self._class_of(el, None) or self.mm.eclass_by_qname(qn.namespace, qn.localname) or qn.localname
        self._read(el, cls, path)

    def _read(self, el: Any, cls: str, path: str) -> str:
        oid = el.get(f"{{{XMI_NS}}}id") or path
        obj = Obj(id=oid, cls=cls)
        self.objects.append(obj)
        self.by_key[path] = oid
        self.by_key[oid] = oid
        info = self.mm.classes.get(cls)
        for qname, value in el.attrib.items():
            q = etree.QName(qname)
            if q.namespace in (XMI_NS, XSI_NS):
                continue
            name = q.localname
            f = info.features.get(name) if info else None
            if f is None or not f.is_ref:
                obj.attrs[name] = value.split() if (f is not None and f.many) else value
                if f is not None and f.is_id:
                    self.by_key.setdefault(value, oid)
            else:
                self.pending.append((obj, name, value.split()))
        counters: dict[str, int] = {}
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            f = info.features.get(name) if info else None
            if f is not None and f.is_ref and f.containment:
                idx = counters.get(name, 0)
                counters[name] = idx + 1
                # EMF fragment: //@books.0/@chapters.2; a single-valued containment has no index (//@body)
                child_path = f"{path}/@{name}.{idx}" if f.many else f"{path}/@{name}"
                child_cls = self._class_of(child, f.type_name) or f.type_name
                cid = self._read(child, child_cls, child_path)
                if not f.many:
                    self.by_key.setdefault(f"{path}/@{name}.{idx}", cid)
                obj.refs.setdefault(name, [])
                obj.refs[name].append(cid)  # type: ignore[union-attr]
            elif f is not None and f.is_ref:
                href = child.get("href")
                self.pending.append((obj, name, [href] if href else []))
            else:
                value = (child.text or "").strip()
                if f is not None and f.many:
                    obj.attrs.setdefault(name, [])
                    obj.attrs[name].append(value)  # type: ignore[union-attr]
                else:
                    obj.attrs[name] = value
        return oid

    def finish(self) -> tuple[InstanceModel, list[Diagnostic]]:
        for obj, name, raws in self.pending:
            ids = [self._resolve(r) for r in raws]
            f = self.mm.classes[obj.cls].features[name] if obj.cls in self.mm.classes else None
            obj.refs[name] = ids if (f is None or f.many) else (ids[0] if len(ids) == 1 else ids)
        return InstanceModel(objects=self.objects), self.diags

    def _resolve(self, raw: str) -> str:
        ref = raw
        if "#" in ref:
            doc, _, frag = ref.partition("#")
            ref = frag if doc in ("", "model.xmi") or not doc else raw
        return self.by_key.get(ref, raw)


def external_references(text: str | bytes, mm: Metamodel) -> list[str]:
    """hrefs and reference values into other documents or URLs (pyecore would open or fetch them)."""
    ref_names = {f.name for c in mm.classes.values() for f in c.features.values() if f.is_ref} | {"href"}
    try:
        root = parse_xml(text, "the XMI")
    except InputError:
        return []
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            q = etree.QName(name)
            if q.namespace in (XMI_NS, XSI_NS) or q.localname not in ref_names:
                continue
            for tok in value.split():
                doc = tok.partition("#")[0] if "#" in tok else ""
                if doc and doc != "model.xmi":
                    out.append(tok)
    return out


def pyecore_load_check(text: str | bytes, mm: Metamodel) -> list[Diagnostic]:
    """Load the XMI with pyecore (what a Python user would do); report what it raises.
    Never when the XMI refers to another file or a URL: pyecore would read it."""
    external = external_references(text, mm)
    if external:
        return [Diagnostic(code="external-reference",
                           message=f"the XMI refers to another document or URL ({external[0]}): write one self-contained model")]
    if isinstance(text, str):
        root = parse_xml(text, "the XMI")  # str with an encoding declaration: re-serialise as UTF-8 bytes
        text = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    data = text
    uri = MemoryURI(f"check{next(_counter)}.xmi", data)
    resource = mm.rset.create_resource(uri)
    try:
        resource.load()
    except RecursionError:
        return [Diagnostic(code="pyecore-load", message="pyecore cannot load the XMI: nested too deeply")]
    except Exception as exc:  # pyecore raises many kinds
        return [Diagnostic(code="pyecore-load", message=f"pyecore cannot load the XMI: {type(exc).__name__}: {exc}")]
    finally:
        mm.rset.remove_resource(resource)
    return []


def validate_xmi(text: str | bytes, mm: Metamodel, *, load_check: bool = True) -> tuple[InstanceModel | None, list[Diagnostic]]:
    """All checks on XMI text. Returns the graph read (for scoring) and the diagnostics."""
    model, diags = read_xmi(text, mm)
    if model is None:
        return None, diags
    diags = diags + check_model(model, mm)
    if load_check and not any(d.code == "parse-error" for d in diags):
        diags += pyecore_load_check(text, mm)
    return model, diags
