"""A small instance synthesised from a metamodel alone, with no LLM: from a root class, one object
per concrete class its containment tree reaches, every settable attribute filled with a value of
its type (required ones always), lower bounds of containments met with the cheapest finite
subtree, and required non-containment references pointed at existing objects (or at new ones
put where they may be contained). What cannot be satisfied is said in one line each."""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from conceptwright.compilers.xmi.metamodel import Feature, Metamodel
from conceptwright.compilers.xmi.model import InstanceModel

MAX_OBJECTS = 400


class Synthesis:
    def __init__(self, mm: Metamodel) -> None:
        self.mm = mm
        self.objs: list[dict[str, Any]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.contained: set[str] = set()
        self.problems: list[str] = []
        self.cost = self._costs()

    # -- the cheapest finite subtree of each concrete class ---------------------------------
    def _costs(self) -> dict[str, float]:
        mm = self.mm
        concrete = [n for n, c in mm.classes.items() if c.concrete]
        cost = {n: math.inf for n in concrete}
        for _ in range(len(concrete) + 1):
            changed = False
            for n in concrete:
                total = 1.0
                for f in mm.classes[n].settable().values():
                    if f.is_ref and f.containment and f.lower > 0:
                        total += f.lower * min((cost[s] for s in self.subtypes(f)), default=math.inf)
                    elif not f.is_ref and f.lower > 0 and f.kind == "enum" and not f.literals:
                        total = math.inf
                if total < cost[n]:
                    cost[n], changed = total, True
            if not changed:
                break
        return cost

    def branching(self, cls: str) -> int:
        return sum(1 for f in self.mm.classes[cls].settable().values() if f.is_ref and f.containment)

    def subtypes(self, f: Feature) -> list[str]:
        return self.mm.concrete_subtypes(f.type_name)

    def may_contain(self, owner: str, f: Feature, cls: str) -> bool:
        """Whether ``cls`` may sit in ``owner.f``: a required container reference of ``cls``
        must be the opposite of exactly this containment."""
        for c in self.mm.classes[cls].features.values():
            if c.container and c.lower > 0 and not (c.opposite == f.name and self.mm.is_a(owner, c.type_name)):
                return False
        return True

    # -- objects ------------------------------------------------------------------------------
    def new(self, cls: str) -> dict[str, Any]:
        self.counts[cls] += 1
        short = cls.rsplit(".", 1)[-1]
        oid = f"{short[:1].lower()}{short[1:]}{self.counts[cls]}"
        while oid in self.by_id:
            oid += "_"
        obj: dict[str, Any] = {"id": oid, "class": cls, "attrs": self.attrs(cls, len(self.objs) + 1), "refs": {}}
        self.objs.append(obj)
        self.by_id[oid] = obj
        return obj

    def attrs(self, cls: str, n: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, f in self.mm.classes[cls].settable().items():
            if f.is_ref or f.implied:
                continue
            if f.kind == "other" and f.lower == 0:
                continue  # a datatype we know nothing of: only when required
            value = self.value(f, cls, n)
            if value is None:
                if f.lower > 0:
                    self.problems.append(f"required attribute {cls}.{name} of {f.type_name}: no value can be written")
                continue
            if f.many:
                count = max(1, f.lower)
                if f.upper != -1:
                    count = min(count, f.upper)
                out[name] = [value if not f.is_id else f"{value}_{i}" for i in range(count)]
            else:
                out[name] = value
        return out

    @staticmethod
    def value(f: Feature, cls: str, n: int) -> Any:
        short = cls.rsplit(".", 1)[-1]
        if f.kind == "enum":
            return f.literals[0] if f.literals else None
        if f.kind == "string":
            return f"{short}_{n}" if f.is_id else f"{f.name.capitalize()} {n}"
        if f.kind == "int":
            return n
        if f.kind == "float":
            return n + 0.5
        if f.kind == "bool":
            return True
        if f.kind == "date":
            return "2024-01-31"
        return f"{short}_{n}" if f.is_id else "text"

    def set_ref(self, obj: dict[str, Any], f: Feature, ids: list[str]) -> None:
        if not ids:
            return
        if f.many:
            current = obj["refs"].setdefault(f.name, [])
            current.extend(i for i in ids if i not in current)
        else:
            obj["refs"][f.name] = ids[0]

    def ref_ids(self, obj: dict[str, Any], name: str) -> list[str]:
        v = obj["refs"].get(name)
        return [] if v is None else ([v] if isinstance(v, str) else list(v))

    # -- the containment tree --------------------------------------------------------------
    def tree(self, root_cls: str) -> None:
        root = self.new(root_cls)
        covered = {root_cls}
        queue: list[tuple[dict[str, Any], bool]] = [(root, True)]  # (object, explores new classes)
        while queue and len(self.objs) < MAX_OBJECTS:
            obj, explore = queue.pop(0)
            info = self.mm.classes[obj["class"]]
            for f in info.settable().values():
                if not (f.is_ref and f.containment):
                    continue
                cap = math.inf if f.upper == -1 else f.upper
                subs = [s for s in self.subtypes(f) if self.may_contain(obj["class"], f, s) and self.cost[s] < math.inf]
                children: list[str] = []
                if explore:
                    if cap != math.inf:  # few slots: the subtypes that open the most structure first
                        subs = sorted(subs, key=lambda s: (-self.branching(s), self.cost[s]))
                    for s in subs:
                        if len(children) >= cap:
                            break
                        if s not in covered:
                            covered.add(s)
                            child = self.new(s)
                            children.append(child["id"])
                            queue.append((child, True))
                while len(children) < min(f.lower, cap):
                    if not subs:
                        self.problems.append(f"required containment {obj['class']}.{f.name}: no concrete {f.type_name} "
                                             "has a finite instance")
                        break
                    child = self.new(min(subs, key=lambda s: self.cost[s]))
                    children.append(child["id"])
                    queue.append((child, False))
                self.contained.update(children)
                self.set_ref(obj, f, children)
        self.covered = covered

    # -- required non-containment references -------------------------------------------------
    def place(self, cls: str, depth: int = 3) -> dict[str, Any] | None:
        """A new ``cls`` object in some existing object's containment with room; else in a new
        container placed the same way (up to ``depth`` levels); None when nowhere."""
        for owner in list(self.objs):
            for f in self.mm.classes[owner["class"]].settable().values():
                if not (f.is_ref and f.containment) or cls not in self.subtypes(f) or not self.may_contain(owner["class"], f, cls):
                    continue
                have = self.ref_ids(owner, f.name)
                if f.upper != -1 and len(have) >= f.upper:
                    continue
                child = self.new(cls)
                self.contained.add(child["id"])
                self.set_ref(owner, f, [child["id"]])
                self.tree_required(child)
                return child
        if depth > 0 and len(self.objs) < MAX_OBJECTS:
            owners = sorted({o for o, _ in self.mm.containers_of.get(cls, []) if self.mm.classes[o].concrete and o != cls},
                            key=lambda o: self.cost.get(o, math.inf))
            for owner_cls in owners:
                if self.cost.get(owner_cls, math.inf) == math.inf:
                    continue
                if self.place(owner_cls, depth - 1) is not None:
                    return self.place(cls, 0)
        return None

    def tree_required(self, obj: dict[str, Any]) -> None:
        """The required children of an object added after the tree was built."""
        queue = [obj]
        while queue and len(self.objs) < MAX_OBJECTS:
            cur = queue.pop(0)
            for f in self.mm.classes[cur["class"]].settable().values():
                if f.is_ref and f.containment and f.lower > 0:
                    subs = [s for s in self.subtypes(f) if self.may_contain(cur["class"], f, s) and self.cost[s] < math.inf]
                    need = f.lower - len(self.ref_ids(cur, f.name))
                    for _ in range(max(0, need)):
                        if not subs:
                            break
                        child = self.new(min(subs, key=lambda s: self.cost[s]))
                        self.contained.add(child["id"])
                        self.set_ref(cur, f, [child["id"]])
                        queue.append(child)

    def used(self, target: dict[str, Any], opposite: str) -> int:
        """How many objects already refer to ``target`` through the feature whose opposite is ``opposite``."""
        n = len(self.ref_ids(target, opposite))
        for o in self.objs:
            info = self.mm.classes[o["class"]]
            for name in o["refs"]:
                f = info.features.get(name)
                if f is not None and f.opposite == opposite and not f.containment and target["id"] in self.ref_ids(o, name):
                    n += 1
        return n

    def target_for(self, f: Feature, source: dict[str, Any], room: str | None) -> dict[str, Any] | None:
        """An object ``f`` may point at (whose ``room`` feature can take one more), else a new one."""
        subs = self.subtypes(f)
        for o in self.objs:
            if o["class"] in subs and o["id"] not in self.ref_ids(source, f.name):
                if room is None:
                    return o
                g = self.mm.classes[o["class"]].features.get(room)
                if g is None or g.upper == -1 or self.used(o, room) < g.upper:
                    return o
        return self.place_cheapest(subs)

    def place_cheapest(self, subs: Any) -> dict[str, Any] | None:
        """A new object of the cheapest class of ``subs`` that can be placed, or None."""
        for cls in sorted(subs, key=lambda s: self.cost.get(s, math.inf)):
            placed = self.place(cls)
            if placed is not None:
                return placed
        return None

    def lister(self, f: Feature, other: Feature, obj: dict[str, Any]) -> dict[str, Any] | None:
        """An object that can list ``obj`` in its ``other`` (the stated side of the implied ``f``)."""
        subs = self.subtypes(f)
        for o in self.objs:
            have = self.ref_ids(o, other.name)
            if o["class"] in subs and obj["id"] not in have and (other.upper == -1 or len(have) < other.upper):
                return o
        return self.place_cheapest(subs)

    def unplaceable(self, obj: dict[str, Any], f: Feature) -> str:
        where = f"required reference {obj['class']}.{f.name}"
        if not any(c.eclass.name == f.type_name for c in self.mm.classes.values()) and f.type_name != "EObject":
            return f"{where} points into Ecore itself ({f.type_name}): an instance cannot refer to Ecore's own objects"
        subs = self.subtypes(f)
        if not subs:
            return f"{where}: {f.type_name} has no concrete subclass"
        if not any(self.mm.containers_of.get(s) for s in subs):
            return f"{where}: nothing contains a {f.type_name}, so a model with one root cannot hold one"
        return f"{where}: no {f.type_name} can be placed"

    def references(self) -> None:
        done: set[tuple[str, str]] = set()
        for _ in range(3):  # new objects may need references too
            for obj in list(self.objs):
                for f in self.mm.classes[obj["class"]].settable().values():
                    if not f.is_ref or f.containment or f.lower == 0 or (obj["id"], f.name) in done:
                        continue
                    done.add((obj["id"], f.name))
                    if f.implied:  # stated on the other side: some target lists this object
                        other = self.mm._opposite_feature(f)
                        for _ in range(max(0, f.lower - self.used(obj, f.name))):
                            t = self.lister(f, other, obj) if other is not None else None
                            if t is None:
                                self.problems.append(self.unplaceable(obj, f))
                                break
                            self.set_ref(t, other, [obj["id"]])
                        continue
                    while len(self.ref_ids(obj, f.name)) < f.lower:
                        t = self.target_for(f, obj, f.opposite)
                        if t is None:
                            self.problems.append(self.unplaceable(obj, f))
                            break
                        self.set_ref(obj, f, [t["id"]])
                        if not f.many:
                            break


def pick_root(mm: Metamodel) -> str | None:
    roots = mm.root_classes()
    if roots:
        return roots[0]
    concrete = [n for n, c in mm.classes.items() if c.concrete]
    if not concrete:
        return None
    return max(concrete, key=lambda n: sum(f.containment and f.settable for f in mm.classes[n].features.values()))


def synthesize(mm: Metamodel) -> tuple[InstanceModel | None, list[str], dict[str, int]]:
    """(the instance or None, what could not be satisfied, coverage counts)."""
    root = pick_root(mm)
    concrete = sum(c.concrete for c in mm.classes.values())
    if root is None:
        return None, ["no concrete class: nothing can be instantiated"], {"concrete": 0, "covered": 0}
    s = Synthesis(mm)
    if s.cost.get(root, math.inf) == math.inf:
        s.problems.append(f"root class {root} has no finite instance (its required containments never end)")
    s.tree(root)
    s.references()
    model = InstanceModel.model_validate({"objects": s.objs})
    return model, s.problems, {"concrete": concrete, "covered": len({o["class"] for o in s.objs}), "objects": len(s.objs)}
