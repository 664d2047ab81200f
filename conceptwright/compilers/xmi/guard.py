"""What pyecore must never see in a metamodel: checks on the pre-parsed (lxml) tree.

- references into another file or a URL (``eSuperTypes="other.ecore#//A"``, ``<eType
  href="http://...">``): pyecore would open that file or fetch that URL. References to
  Ecore itself and to EMF's XMLType (whatever path names them: ``platform:/plugin/...
  /Ecore.ecore``, ``../../org.eclipse.emf.ecore/model/Ecore.ecore``) are rewritten to the
  registered nsURIs; a reference to the file itself becomes local; anything else is refused;
- supertype cycles (pyecore recurses forever in ``eAllSuperTypes``);
- two classifiers of one package, or two features of one class, with the same name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import InputError

ECORE_NS = "http://www.eclipse.org/emf/2002/Ecore"
XMLTYPE_NS = "http://www.eclipse.org/emf/2003/XMLType"
REF_ATTRS = ("eSuperTypes", "eType", "eOpposite", "eKeys", "eExceptions", "eClassifier", "eTypeParameter",
             "eReferenceType", "eAttributeType", "eRawType", "href")
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XMI_ID = "{http://www.omg.org/XMI}id"


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _doc_target(doc: str, own: str) -> str | None:
    """The replacement of a reference's document part, or None when it must be refused."""
    if doc in ("", ECORE_NS, XMLTYPE_NS):
        return doc
    name = doc.replace("\\", "/").rsplit("/", 1)[-1]
    if name == "Ecore.ecore":
        return ECORE_NS
    if name == "XMLType.ecore":
        return XMLTYPE_NS
    if name == own and "://" not in doc and ":" not in doc.split("/", 1)[0]:
        return ""
    return None


def guard_metamodel(root: Any, path: Path) -> bool:
    """Check (and where safe rewrite) the tree in place; True when something was rewritten."""
    rewritten = _external_refs(root, path)
    index, packages = _index(root, path)
    _duplicates(packages, path)
    _supertype_cycles(index, path)
    return rewritten


def _external_refs(root: Any, path: Path) -> bool:
    changed = False
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in REF_ATTRS:
            value = el.get(attr)
            if not value or ("#" not in value and "://" not in value):
                continue
            tokens = value.split()
            out = []
            for tok in tokens:
                if "#" not in tok:
                    if "://" in tok:
                        raise InputError(f"cannot read metamodel {path}: {attr}={tok!r} (on {_who(el)}) names a URL: "
                                         "refused (no network); put the whole metamodel in one .ecore file")
                    out.append(tok)
                    continue
                doc, _, frag = tok.partition("#")
                target = _doc_target(doc, path.name)
                if target is None:
                    kind = "a URL" if "://" in doc else "another file"
                    raise InputError(f"cannot read metamodel {path}: {attr} of {_who(el)} refers to {kind} ({doc}): "
                                     "refused (only one file is read); put the whole metamodel in one .ecore file")
                out.append(f"{target}#{frag}")
            new = " ".join(out)
            if new != " ".join(tokens):
                el.set(attr, new)
                changed = True
    return changed


def _who(el: Any) -> str:
    names = []
    while el is not None and isinstance(el.tag, str):
        if el.get("name"):
            names.append(el.get("name"))
        el = el.getparent()
    return ".".join(reversed(names)) or _local(el.tag if el is not None else "") or "an element"


def _index(root: Any, path: Path) -> tuple[dict[str, Any], list[Any]]:
    """Fragment paths (and xmi:ids) of every classifier -> its element; all package elements."""
    index: dict[str, Any] = {}
    packages: list[Any] = []
    if _local(root.tag) == "EPackage":
        tops = [(root, "/")]
    else:
        tops = [(el, f"/{i}") for i, el in enumerate(e for e in root if isinstance(e.tag, str))
                if _local(el.tag) == "EPackage" or "EPackage" in (el.get(XSI_TYPE) or "")]
    stack = list(tops)
    while stack:
        pkg, prefix = stack.pop()
        packages.append(pkg)
        for child in pkg:
            tag = _local(child.tag)
            name = child.get("name") or ""
            if tag == "eClassifiers":
                for key in (f"{prefix}/{name}", child.get(XMI_ID)):
                    if key:
                        index[key] = child
            elif tag == "eSubpackages":
                stack.append((child, f"{prefix}/{name}"))
    return index, packages


def _duplicates(packages: list[Any], path: Path) -> None:
    for pkg in packages:
        seen: set[str] = set()
        for child in pkg:
            if _local(child.tag) != "eClassifiers":
                continue
            name = child.get("name") or ""
            if name in seen:
                raise InputError(f"cannot read metamodel {path}: package {pkg.get('name')} declares two classifiers "
                                 f"named {name!r}")
            seen.add(name)
            features: set[str] = set()
            for f in child:
                if _local(f.tag) == "eStructuralFeatures":
                    fname = f.get("name") or ""
                    if fname in features:
                        raise InputError(f"cannot read metamodel {path}: class {name} declares two features named {fname!r}")
                    features.add(fname)


def _supertype_cycles(index: dict[str, Any], path: Path) -> None:
    def supers(el: Any) -> list[Any]:
        out = []
        for tok in (el.get("eSuperTypes") or "").split():
            target = index.get(tok.partition("#")[2] if "#" in tok else tok)
            if target is not None:
                out.append(target)
        for child in el:
            if _local(child.tag) == "eGenericSuperTypes":
                tok = child.get("eClassifier") or ""
                target = index.get(tok.partition("#")[2] if "#" in tok else tok)
                if target is not None:
                    out.append(target)
        return out

    state: dict[int, int] = {}  # 1 on the path, 2 done
    for start in set(index.values()):
        if state.get(id(start)):
            continue
        trail = [start]
        its = [iter(supers(start))]
        state[id(start)] = 1
        while its:
            nxt = next(its[-1], None)
            if nxt is None:
                state[id(trail.pop())] = 2
                its.pop()
                continue
            s = state.get(id(nxt))
            if s == 1:
                cycle = trail[trail.index(nxt):] + [nxt]
                names = " -> ".join(e.get("name") or "?" for e in cycle)
                raise InputError(f"cannot read metamodel {path}: supertype cycle {names}")
            if s is None:
                state[id(nxt)] = 1
                trail.append(nxt)
                its.append(iter(supers(nxt)))
