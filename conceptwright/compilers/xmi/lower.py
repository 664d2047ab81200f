"""Rewrite a checked .ecore tree into the subset pyecore 0.15 reads, before it is loaded.

Found on the public corpus (``python -m evals corpus``):

* ``eOperations`` are dropped: an instance model never states them, and pyecore compiles each into
  Python code (RestrictedPython), which fails on an operation called ``print``;
* ``eKeys`` are dropped: pyecore 0.15 has no such feature and refuses the whole file;
* generic types: a feature typed only by ``<eGenericType eClassifier=...>`` gets that classifier as
  its ``eType`` (a type parameter: its first bound, else EObject / EJavaObject), and
  ``eGenericSuperTypes`` become ``eSuperTypes``: pyecore would leave the feature untyped and the class
  without its supertypes;
* annotations' ``references`` are dropped (never needed; they often point into other plugins);
* a feature whose name is not an XML name (``/name``) is left out, with a note;
* Ecore's own metamodel is refused with a clear line: pyecore has it built in.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pyecore.ecore import EObject

from ...core.errors import InputError

ECORE_NS = "http://www.eclipse.org/emf/2002/Ecore"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_ANY_OBJECT = f"ecore:EClass {ECORE_NS}#//EObject"
_ANY_VALUE = f"ecore:EDataType {ECORE_NS}#//EJavaObject"
# EObject's own API: a feature of that name shadows it on the instances pyecore builds
PYECORE_RESERVED = frozenset(n for n in dir(EObject) if not n.startswith("_"))
_XML_NAME = re.compile(r"^[^\W\d][\w.\-]*$")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c.tag) == name]


def lower_metamodel(root: Any, path: Path) -> list[str]:
    """Rewrite ``root`` in place; return notes of what was lowered (for warnings)."""
    notes: list[str] = []
    for el in root.iter():
        if _local(el.tag) == "EPackage" or _local(el.tag) == "eSubpackages":
            if el.get("nsURI") == ECORE_NS:
                raise InputError(f"cannot read metamodel {path}: it is Ecore's own metamodel (nsURI {ECORE_NS}), which "
                                 "pyecore has built in; an instance of Ecore is a metamodel: write it as an .ecore file")
    ops = [op for op in root.iter() if _local(op.tag) == "eOperations"]
    for op in ops:
        op.getparent().remove(op)
    for ann in [a for a in root.iter() if _local(a.tag) == "eAnnotations"]:
        # what an annotation points at (often UML.ecore in another plugin) is never needed: not resolved, not opened
        if ann.get("references") is not None:
            del ann.attrib["references"]
        for ref in _children(ann, "references"):
            ann.remove(ref)
    _drop_unnamable_features(root, path, notes)
    for el in list(root.iter()):  # a list: generic types are removed on the way
        if not isinstance(el.tag, str) or el.getparent() is None and el is not root:
            continue
        if el.get("eKeys") is not None:
            del el.attrib["eKeys"]
        if _local(el.tag) == "eStructuralFeatures":
            _lower_feature_type(el, notes)
        elif _local(el.tag) == "eClassifiers":
            _lower_super_types(el)
    return notes


def _classifier_of(generic: Any, owner: Any) -> str | None:
    """The classifier reference a generic type stands for, or None."""
    if generic.get("eClassifier"):
        return generic.get("eClassifier")
    href = next((c.get("href") for c in _children(generic, "eClassifier") if c.get("href")), None)
    if href:
        return href
    param_ref = generic.get("eTypeParameter")
    if param_ref:
        name = param_ref.rsplit("/", 1)[-1]
        cur = owner
        while cur is not None:  # the parameter is declared on an enclosing class (or operation)
            for p in _children(cur, "eTypeParameters"):
                if p.get("name") == name:
                    for bound in _children(p, "eBounds"):
                        found = _classifier_of(bound, owner)
                        if found:
                            return found
                    return None
            cur = cur.getparent()
    return None


def _lower_feature_type(feature: Any, notes: list[str]) -> None:
    generics = _children(feature, "eGenericType")
    if not generics:
        return
    if not feature.get("eType") and not _children(feature, "eType"):
        is_ref = (feature.get(XSI_TYPE) or "").endswith("EReference")
        ref = _classifier_of(generics[0], feature.getparent())
        if ref is None:
            ref = _ANY_OBJECT if is_ref else _ANY_VALUE
            notes.append(f"feature {feature.get('name')} is typed by a bare type parameter: read as {'EObject' if is_ref else 'EJavaObject'}")
        feature.set("eType", ref)
    for g in generics:
        feature.remove(g)


def _lower_super_types(cls: Any) -> None:
    generics = _children(cls, "eGenericSuperTypes")
    if not generics:
        return
    tokens = (cls.get("eSuperTypes") or "").split()
    for g in generics:
        ref = _classifier_of(g, cls)
        if ref and ref not in tokens:
            tokens.append(ref)
        cls.remove(g)
    if tokens:
        cls.set("eSuperTypes", " ".join(tokens))


def _drop_unnamable_features(root: Any, path: Path, notes: list[str]) -> None:
    """A feature whose name is no XML name (UML's derived ``/name``) cannot be an XMI attribute or element,
    and one named like pyecore's own EObject methods (``notify``, ``delete``, ``eContainer``) replaces that
    method on every instance (pyecore then crashes): such a feature is left out (and any eOpposite naming
    it), with a note."""
    dropped: set[str] = set()
    for f in [e for e in root.iter() if _local(e.tag) == "eStructuralFeatures"]:
        name = f.get("name") or ""
        why = None
        if name and not _XML_NAME.match(name):
            why = f"'{name}' is not an XML name, XMI cannot hold it"
        elif name in PYECORE_RESERVED:
            why = f"pyecore reserves the name '{name}' for its own EObject method"
        if why:
            cls = f.getparent()
            notes.append(f"feature {cls.get('name')}.{name} is left out: {why}")
            cls.remove(f)
            dropped.add(name)
    if dropped:
        for el in root.iter():
            opp = el.get("eOpposite") if isinstance(el.tag, str) else None
            if opp and opp.rsplit("/", 1)[-1] in dropped:
                del el.attrib["eOpposite"]
