"""Load an Ecore metamodel with pyecore and present the facts the target needs.

Handles plain ``.ecore`` files and the ATL-zoo form (one ``xmi:XMI`` holding several
EPackages with their own String/Integer/Boolean types), nested packages, inheritance,
interfaces, enums, eOpposites and containment. Works around pyecore 0.15 pitfalls:
custom datatypes without an instance class are mapped to Python types, and EDate values
are written in the format EMF reads (``yyyy-MM-dd'T'HH:mm:ss.SSSZ``).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pyecore.ecore import EClass, EDataType, EEnum, EPackage, EReference
import pyecore.type as xmltype
from lxml import etree
from pyecore.resources import ResourceSet

from ...core.errors import InputError
from ...core.safexml import load_xml
from .guard import guard_metamodel
from .lower import lower_metamodel
from .memuri import MemoryURI

Kind = Literal["string", "int", "float", "bool", "date", "enum", "other"]
EXTENDED_METADATA = "http:///org/eclipse/emf/ecore/util/ExtendedMetaData"
OCL_SOURCES = ("http://www.eclipse.org/emf/2002/Ecore/OCL", "http://www.eclipse.org/emf/2002/Ecore/OCL/Pivot")
ECORE_SOURCE = "http://www.eclipse.org/emf/2002/Ecore"

# ATL-zoo and friends declare their own primitive types without an instance class.
_NAMED_TYPES: dict[str, type] = {
    "string": str, "estring": str, "char": str,
    "integer": int, "int": int, "long": int, "short": int, "byte": int, "biginteger": int, "natural": int,
    "boolean": bool, "bool": bool,
    "real": float, "double": float, "float": float, "decimal": float, "bigdecimal": float, "number": float,
    "date": datetime, "datetime": datetime, "timestamp": datetime,
}


def format_emf_date(value: datetime | date) -> str:
    """EMF's default EDate format: 2024-03-01T09:30:00.000+0000."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


_DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
)


def parse_date(text: str) -> datetime:
    """Parse the date forms EMF writes and the ISO forms an LLM writes."""
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date (write YYYY-MM-DD)") from None


def _emf_date_type(name: str = "EDate") -> EDataType:
    return EDataType(name, datetime, from_string=parse_date, to_string=format_emf_date)


@dataclass
class Feature:
    name: str
    owner: str  # class that declares it
    is_ref: bool
    type_name: str  # class, enum or datatype name
    kind: Kind | None  # for attributes
    lower: int
    upper: int  # -1 = unbounded
    containment: bool = False
    container: bool = False  # opposite of a containment: set by containment, never by hand
    opposite: str | None = None
    derived: bool = False
    transient: bool = False
    changeable: bool = True
    is_id: bool = False
    implied: bool = False  # the redundant side of a non-containment eOpposite pair: prompts and schema omit it
    literals: tuple[str, ...] = ()
    efeature: Any = field(default=None, repr=False)

    @property
    def many(self) -> bool:
        return self.upper == -1 or self.upper > 1

    @property
    def settable(self) -> bool:
        """Whether a model states it (container refs and derived/transient features are not)."""
        return not (self.container or self.derived or self.transient or not self.changeable or self.kind == "other" and self.type_name == "EFeatureMapEntry")

    def bounds(self) -> str:
        up = "*" if self.upper == -1 else str(self.upper)
        return f"[{self.lower}..{up}]"


@dataclass
class ClassInfo:
    name: str
    package: str
    abstract: bool
    interface: bool
    supertypes: tuple[str, ...]  # all, transitively
    features: dict[str, Feature]  # all, inherited included, in declaration order
    eclass: Any = field(default=None, repr=False)

    @property
    def concrete(self) -> bool:
        return not (self.abstract or self.interface)

    def settable(self) -> dict[str, Feature]:
        return {n: f for n, f in self.features.items() if f.settable}


class MetamodelWarning(UserWarning):
    """Something was assumed to load a metamodel (it still loads)."""


class Metamodel:
    """A loaded metamodel: pyecore packages plus lookup tables."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rset = ResourceSet()
        self.packages: list[EPackage] = []
        self.top_packages: list[EPackage] = []
        self.classes: dict[str, ClassInfo] = {}
        self.enums: dict[str, tuple[str, ...]] = {}
        self.ocl: list[str] = []  # "Class: constraintName" for invariants we do not check
        self.warnings: list[str] = []  # what was assumed or left out to load it (a derived nsURI, ...)
        self._load()

    # -- loading ----------------------------------------------------------------------
    def _load(self) -> None:
        data, root = load_xml(self.path, "metamodel")  # size, DTD/entities, depth, encoding: one line each
        self.warnings += lower_metamodel(root, self.path)  # into what pyecore reads: no operations, eKeys, generics
        guard_metamodel(root, self.path)  # other files, URLs, supertype cycles, duplicate names
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        self.rset.metamodel_registry.setdefault(xmltype.nsURI, xmltype)
        resource = self.rset.create_resource(MemoryURI(str(self.path), data))
        try:
            resource.load()
        except RecursionError:
            raise InputError(f"cannot read metamodel {self.path}: nested too deeply for pyecore") from None
        except Exception as exc:  # lxml, pyecore and KeyError of unresolved types
            msg = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            raise InputError(f"cannot read metamodel {self.path}: {msg}") from None
        tops = [p for p in resource.contents if isinstance(p, EPackage)]
        if not tops:
            raise InputError(f"{self.path} holds no EPackage: is it an .ecore metamodel?")
        self.top_packages = tops
        stack = list(tops)
        while stack:
            pkg = stack.pop(0)
            self.packages.append(pkg)
            stack.extend(pkg.eSubpackages)
            if not pkg.nsURI:  # common in the ATL zoo; pyecore cannot save an instance without one
                pkg.nsURI = self._derive_ns_uri(pkg)
            if not pkg.nsPrefix:
                pkg.nsPrefix = "".join(ch for ch in (pkg.name or "pkg") if ch.isalnum() or ch in "_-") or "pkg"
            self.rset.metamodel_registry.setdefault(pkg.nsURI, pkg)
        self._fix_datatypes()
        try:
            self._index()
        except InputError as exc:
            raise InputError(f"cannot read metamodel {self.path}: {exc}") from None
        except Exception as exc:
            raise InputError(f"metamodel {self.path} is inconsistent: {type(exc).__name__}: {exc}") from None
        if not self.classes:
            raise InputError(f"metamodel {self.path} declares no classes")
        if not any(c.concrete for c in self.classes.values()):
            raise InputError(f"metamodel {self.path} declares only abstract classes and interfaces: nothing can be instantiated")
        self._mark_implied()

    def _derive_ns_uri(self, pkg: EPackage) -> str:
        base = f"http://{pkg.name or 'package'}"
        uri, n = base, 1
        while uri in self.rset.metamodel_registry:
            n += 1
            uri = f"{base}{n}"
        msg = f"package {pkg.name} of {self.path.name} has no nsURI: using {uri}"
        self.warnings.append(msg)
        warnings.warn(msg, MetamodelWarning, stacklevel=4)
        return uri

    def _mark_implied(self) -> None:
        """Of each non-containment eOpposite pair keep one side for the LLM to state (the
        single-valued one, else the first by name); the compiler fills in the other."""
        for info in self.classes.values():
            for f in info.features.values():
                if not f.is_ref or not f.opposite or f.containment or f.container:
                    continue
                other = self._opposite_feature(f)
                if other is None or other.containment or other.container:
                    continue
                # the side with the larger key is kept: single-valued first, then by name
                f.implied = (not f.many, f.owner + "." + f.name) < (not other.many, other.owner + "." + other.name)

    def _opposite_feature(self, f: Feature) -> Feature | None:
        for info in self.classes.values():
            if info.eclass.name == f.type_name:
                return info.features.get(f.opposite or "")
        return None

    def _fix_datatypes(self) -> None:
        """Give custom datatypes a Python type; make dates round-trip in EMF's format."""
        emf_date = _emf_date_type()
        for pkg in self.packages:
            for dt in pkg.eClassifiers:
                if isinstance(dt, EDataType) and not isinstance(dt, EEnum):
                    mapped = _NAMED_TYPES.get((dt.name or "").lower())
                    if (dt.eType in (None, object)) and mapped is not None:
                        dt.eType = mapped
                    mapped = dt.eType
                    if mapped in (datetime, bool, int, float):  # custom types need parsers too
                        if mapped is datetime:
                            dt.from_string, dt.to_string = parse_date, format_emf_date
                        elif mapped is bool:
                            dt.from_string = lambda s: s.strip().lower() == "true"
                            dt.to_string = lambda v: "true" if v else "false"
                        elif mapped in (int, float):
                            dt.from_string = mapped
            for cls in pkg.eClassifiers:
                if isinstance(cls, EClass):
                    for f in cls.eStructuralFeatures:
                        if getattr(f.eType, "eType", None) is datetime and f.eType.name == "EDate":
                            f.eType = emf_date
                        elif getattr(f.eType, "eType", None) in (list, tuple):  # XMLType IDREFS, NMTOKENS: pyecore
                            f.eType = EDataType(f.eType.name, str)  # cannot read its own list values back; tokens in a string
                        if _group(f) and f.derived:  # feature-map member: store and save it as itself
                            f.derived = False
                            f.transient = False

    def _index(self) -> None:
        for pkg in self.packages:
            for c in pkg.eClassifiers:
                if isinstance(c, EEnum):
                    self.enums[c.name] = tuple(lit.name for lit in c.eLiterals)
        for pkg in self.packages:
            for c in pkg.eClassifiers:
                if isinstance(c, EClass):
                    self._add_class(c, pkg)
                    for ann in c.eAnnotations:
                        if ann.source in OCL_SOURCES:
                            for key in ann.details.keys():
                                self.ocl.append(f"{c.name}: {key}")
                        elif ann.source == ECORE_SOURCE and "constraints" in ann.details:
                            for name in str(ann.details["constraints"]).split():
                                self.ocl.append(f"{c.name}: {name}")

    def _add_class(self, c: EClass, pkg: EPackage) -> None:
        name = c.name
        if name in self.classes:  # same simple name in two packages: qualify
            name = f"{pkg.name}.{c.name}"
        feats: dict[str, Feature] = {}
        for f in c.eAllStructuralFeatures():
            if f.name in feats:
                continue
            feats[f.name] = self._feature(f)
        abstract = bool(c.abstract)
        if not (abstract or c.interface):
            why = _not_instantiable(c)
            if why:
                abstract = True
                self.warnings.append(f"class {name} is left out of instances: {why}")
        self.classes[name] = ClassInfo(
            name=name,
            package=pkg.name,
            abstract=abstract,
            interface=bool(c.interface),
            supertypes=tuple(s.name for s in c.eAllSuperTypes()),
            features=feats,
            eclass=c,
        )

    def _feature(self, f: Any) -> Feature:
        is_ref = isinstance(f, EReference)
        etype = f.eType
        if etype is None:
            raise InputError(f"feature {f.eContainingClass.name}.{f.name} has no type (unresolved eType?)")
        try:
            type_name = etype.eClass.name if isinstance(etype, type) else etype.name  # pyecore's own classes: EAnnotation
        except Exception:  # a proxy to an Ecore type pyecore lacks (EResource, ...)
            raise InputError(f"feature {f.eContainingClass.name}.{f.name} is typed by "
                             f"{getattr(etype, '_proxy_path', '?')}, which pyecore does not know") from None
        opposite = f.eOpposite.name if is_ref and f.eOpposite is not None else None
        kind: Kind | None = None
        literals: tuple[str, ...] = ()
        if not is_ref:
            if isinstance(etype, EEnum):
                kind, literals = "enum", tuple(lit.name for lit in etype.eLiterals)
            else:
                kind = _kind(etype)
        return Feature(
            name=f.name,
            owner=f.eContainingClass.name,
            is_ref=is_ref,
            type_name=type_name,
            kind=kind,
            lower=int(f.lowerBound or 0),
            upper=int(f.upperBound if f.upperBound is not None else 1),
            containment=bool(is_ref and f.containment),
            container=bool(is_ref and f.eOpposite is not None and f.eOpposite.containment),
            opposite=opposite,
            derived=bool(f.derived),
            transient=bool(f.transient) and not _group(f),
            changeable=bool(f.changeable),
            is_id=bool(getattr(f, "iD", False)),
            literals=literals,
            efeature=f,
        )

    # -- queries ----------------------------------------------------------------------
    def is_a(self, cls: str, type_name: str) -> bool:
        info = self.classes.get(cls)
        return info is not None and (info.eclass.name == type_name or type_name in info.supertypes or type_name == "EObject")

    def concrete_subtypes(self, type_name: str) -> list[str]:
        return [n for n, c in self.classes.items() if c.concrete and self.is_a(n, type_name)]

    @cached_property
    def containers_of(self) -> dict[str, list[tuple[str, str]]]:
        """For each concrete class: the (container class, containment feature) pairs that accept it."""
        out: dict[str, list[tuple[str, str]]] = {n: [] for n in self.classes}
        for owner, info in self.classes.items():
            for f in info.features.values():
                if f.containment and f.settable:
                    for sub in self.concrete_subtypes(f.type_name):
                        out[sub].append((owner, f.name))
        return out

    def root_classes(self) -> list[str]:
        """Concrete classes no other class contains (self-nesting allowed): the natural
        roots, those with the most containment features first."""
        roots = [
            n for n, c in self.classes.items()
            if c.concrete and all(self.is_a(n, owner) or self.is_a(owner, n) for owner, _ in self.containers_of[n])
        ]
        return sorted(roots, key=lambda n: -sum(f.containment and f.settable for f in self.classes[n].features.values()))

    def find_class(self, name: str) -> str | None:
        """Exact class name, else the unique case-insensitive match."""
        if name in self.classes:
            return name
        hits = [n for n in self.classes if _norm(n) == _norm(name) or _norm(n.split(".")[-1]) == _norm(name)]
        return hits[0] if len(hits) == 1 else None

    def eclass_by_qname(self, ns_uri: str | None, name: str) -> str | None:
        for n, c in self.classes.items():
            if c.eclass.name == name and (ns_uri is None or c.eclass.ePackage.nsURI == ns_uri):
                return n
        return None


def _not_instantiable(c: EClass) -> str | None:
    """Why pyecore cannot create or write an instance of a concrete class (e.g. one extending Ecore's
    EClass, whose constructor wants a name), or None."""
    if not re.match(r"^[^\W\d][\w.\-]*$", c.name or ""):
        return f"'{c.name}' is not an XML name"
    try:
        c()
    except Exception as exc:  # noqa: BLE001 - any failure means no instance can be built
        return f"pyecore cannot create one ({type(exc).__name__})"
    return None


def _group(f: Any) -> bool:
    return any(a.source == EXTENDED_METADATA and "group" in a.details for a in f.eAnnotations)


def _kind(dt: Any) -> Kind:
    py = getattr(dt, "eType", None)
    if py is bool:
        return "bool"
    if py is int:
        return "int"
    if py in (float, Decimal):
        return "float"
    if py is datetime:
        return "date"
    if py is str:
        return "string"
    if py in (None, object):  # XMLType's Integer and Decimal: no Python type, but they parse as int
        parse = getattr(dt, "from_string", None)
        if parse is int:
            return "int"
        if parse is float:
            return "float"
    return "other"


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def load_metamodel(path: str | Path) -> Metamodel:
    return Metamodel(path)
