"""Mentions: a tiny model labels what the description states instead of writing objects.

The description's own names, numbers and enum words are found first (``core/spans.py``),
in order. The model's answer is one JSON object whose keys are exactly those mentions and
whose values are labels chosen from this metamodel (the decoding schema allows nothing
else), e.g. for "The Smith family: father John, mother Jane, sons Tom and Bob.":

    {"Smith": "root: Family.lastName", "John": "father: Member.firstName",
     "Jane": "mother: Member.firstName", "Tom": "sons: Member.firstName", ...}

``lower`` turns the labels into a conceptual instance model: a label with a containment
reference (``father: Member.firstName``) makes a new object in the latest object that can
hold it; one without (``Book.pages``) sets the attribute on the latest object of that class.
So every object and every string comes from the description: nothing can be invented or
copied from an example, and nothing the description names can be skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...core.spans import stated_names
from .metamodel import Feature, Metamodel
from .model import InstanceModel
from .schema import label_attribute

NONE = "none"
_NUMBER = re.compile(r"(?<![\w.\-])(-?\d+(?:\.\d+)?)(?![\d.]*\d)")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


@dataclass
class Mention:
    key: str  # the JSON key: the words as stated ("John", "320"), numbered when repeated
    text: str  # the words themselves
    kind: str  # "string" | "number" | "enum" | "date"
    start: int
    literal: str | None = None  # for enum mentions: the literal it spells
    options: list[str] = field(default_factory=list)


def find_mentions(spec: str, mm: Metamodel, limit: int = 40) -> list[Mention]:
    """The description's names, numbers, dates and enum words, in order of appearance."""
    words = {_norm(n) for n in mm.classes} | {_norm(n) for c in mm.classes.values() for n in c.features}
    literals = {_norm(lit): lit for f in _all_features(mm) if f.kind == "enum" for lit in f.literals}
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for m in _DATE.finditer(spec):
        found.append(Mention(m.group(1), m.group(1), "date", m.start()))
        taken.append(m.span())
    names: set[str] = set()
    classes = {_norm(n) for n in mm.classes}
    for text, start in stated_names(spec):
        text, start = _trim(text, start, classes)
        n = _norm(text)
        if n in names:  # a name said again is the same thing
            taken.append((start, start + len(text)))
            continue
        names.add(n)
        if n in literals:
            found.append(Mention(text, text, "enum", start, literal=literals[n]))
        elif n and n not in words:
            found.append(Mention(text, text, "string", start))
        taken.append((start, start + len(text)))
    for m in re.finditer(r"[A-Za-z][\w\-]*", spec):  # lower-case enum words ("a mystery novel")
        n = _norm(m.group(0))
        if n in literals and not any(a <= m.start() < b for a, b in taken):
            found.append(Mention(m.group(0), m.group(0), "enum", m.start(), literal=literals[n]))
            taken.append(m.span())
    for m in _NUMBER.finditer(spec):
        if not any(a <= m.start() < b for a, b in taken):
            found.append(Mention(m.group(1), m.group(1), "number", m.start()))
    found.sort(key=lambda x: x.start)
    _number_repeats(found)
    return found[:limit]


def _number_repeats(items: list[Any]) -> None:
    """JSON keys must differ: the second "320" becomes "320 (2)" (items with a ``key``)."""
    seen: dict[str, int] = {}
    for x in items:
        base = x.key
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            x.key = f"{base} ({seen[base]})"


def _trim(text: str, start: int, classes: set[str]) -> tuple[str, int]:
    """A name without a leading word that is a class of the metamodel ("Family Okafor" -> "Okafor")."""
    words = text.split(" ")
    if len(words) > 1 and _norm(words[0]) in classes:
        start += len(words[0]) + 1
        words = words[1:]
    return " ".join(words), start


def _all_features(mm: Metamodel) -> list[Feature]:
    return [f for c in mm.classes.values() for f in c.settable().values()]


def _placements(mm: Metamodel, root: str) -> dict[str, list[str]]:
    """For each concrete class: how a new object of it is placed: "root" or a containment reference name."""
    out: dict[str, list[str]] = {}
    for cls, info in mm.classes.items():
        if not info.concrete:
            continue
        if cls == root:
            out[cls] = ["root"]
            continue
        refs = [ref for owner, ref in mm.containers_of[cls]]
        out[cls] = list(dict.fromkeys(refs))
    return out


def options_for(m: Mention, mm: Metamodel, root: str) -> list[str]:
    """The labels a mention may take under this metamodel (always ending with "none")."""
    place = _placements(mm, root)
    opts: list[str] = []
    for cls, info in mm.classes.items():
        if not info.concrete or not place.get(cls):
            continue
        for name, f in info.settable().items():
            if f.is_ref or f.implied:
                continue
            fits = (m.kind == "string" and f.kind in ("string", "other")
                    or m.kind == "number" and f.kind in ("int", "float")
                    or m.kind == "enum" and f.kind == "enum" and m.literal in f.literals
                    or m.kind == "date" and f.kind == "date")
            if not fits:
                continue
            if m.kind == "string" and name == _label(info):  # a name starts a new object, placed where it can be
                opts += [f"{where}: {cls}.{name}" for where in place[cls]]
            else:
                opts.append(f"{cls}.{name}")  # any other value goes to the latest object of that class
    return list(dict.fromkeys(opts)) + [NONE]


def _label(info: Any) -> str | None:
    """The attribute an object is known by: its ID or ``name`` attribute, else its first single string."""
    attrs = {n: f for n, f in info.settable().items() if not f.is_ref}
    return label_attribute(attrs) or next((n for n, f in attrs.items() if f.kind == "string" and not f.many), None)


def mentions_schema(mentions: list[Mention]) -> dict[str, Any]:
    """Decoding schema: exactly these keys, in order, each one of its labels."""
    return {"type": "object", "properties": {m.key: {"type": "string", "enum": m.options} for m in mentions},
            "required": [m.key for m in mentions], "additionalProperties": False}


WINDOW_BEFORE, WINDOW_AFTER = 8, 3  # tokens around a mention that may name its role ("father John", "320-page")
_TOKEN = re.compile(r"[A-Za-z]+|[,.;:]")
AFTER_PENALTY = 1.5  # a role word after a mention binds less than one before it ("sons Chidi and Tobe, daughter Adaeze")


def _stem(word: str) -> str:
    w = _norm(word)
    return w[:-1] if w.endswith("s") and len(w) > 3 else w


def _around(spec: str, m: Mention) -> dict[str, float]:
    """Word stem -> its distance from the mention in tokens (a punctuation mark counts as a token; the
    mention's own words are at 0; a word after the mention counts AFTER_PENALTY more than one before it)."""
    before = _TOKEN.findall(spec[:m.start])[-WINDOW_BEFORE:]
    after = _TOKEN.findall(spec[m.start + len(m.text):])[:WINDOW_AFTER]
    ends = [i for i, w in enumerate(before) if w in ".;"]  # the window stays in the mention's sentence
    before = before[ends[-1] + 1:] if ends else before
    after = after[:next((i for i, w in enumerate(after) if w in ".;"), len(after))]
    near: dict[str, float] = {_stem(w): 0.0 for w in _TOKEN.findall(m.text)}  # "Riverside Library" names a library
    for d, w in enumerate(reversed(before), 1):
        near.setdefault(_stem(w), float(d))
    for d, w in enumerate(after, 1):
        near[_stem(w)] = min(near.get(_stem(w), 99.0), d + AFTER_PENALTY)
    return near


def _words_of(option: str) -> set[str]:
    """The metamodel words of a label: its reference, class and attribute names, split at camel case."""
    parts = re.split(r"[:.\s]+", option)
    words = {w for p in parts for w in [p, *re.findall(r"[A-Z]?[a-z]+", p)] if w and w != "root"}
    return {_stem(w) for w in words}


def rank_options(spec: str, m: Mention) -> list[str]:
    """The options, nearest first by the metamodel words standing next to the mention ("father John":
    father's label leads), the others in metamodel order, "none" last: a tiny model tends to take the first."""
    near = _around(spec, m)
    body = [o for o in m.options if o != NONE]
    body.sort(key=lambda o: min((near[w] for w in _words_of(o) if w in near), default=99.0))
    return body + [NONE]


def prepare(spec: str, mm: Metamodel, root: str) -> list[Mention]:
    """The mentions of ``spec`` with their options, ranked by the words around them; those only "none"
    fits are left out."""
    out = []
    for m in find_mentions(spec, mm):
        m.options = options_for(m, mm, root)
        if len(m.options) > 1:
            m.options = rank_options(spec, m)
            out.append(m)
    return out


def _value(m: Mention, f: Feature) -> Any:
    if m.kind == "enum":
        return m.literal
    if f.kind == "int":
        return int(float(m.text))
    if f.kind == "float":
        return float(m.text)
    return m.text


def lower(labels: dict[str, Any], mentions: list[Mention], mm: Metamodel, root: str) -> InstanceModel:
    """The conceptual model the labels describe (see the module docstring)."""
    objs: list[dict[str, Any]] = []
    counts: dict[str, int] = {}

    def new(cls: str) -> dict[str, Any]:
        counts[cls] = counts.get(cls, 0) + 1
        obj: dict[str, Any] = {"id": f"{cls[:1].lower()}{cls[1:]}{counts[cls]}", "class": cls, "attrs": {}, "refs": {}}
        objs.append(obj)
        return obj

    def latest(cls: str) -> dict[str, Any] | None:
        return next((o for o in reversed(objs) if mm.is_a(o["class"], cls)), None)

    def contain(obj: dict[str, Any], ref: str) -> None:
        owner = next((o for o in reversed(objs) if o is not obj and ref in mm.classes[o["class"]].settable()
                      and mm.classes[o["class"]].settable()[ref].containment
                      and mm.is_a(obj["class"], mm.classes[o["class"]].settable()[ref].type_name)), None)
        owner = owner or objs[0]
        f = mm.classes[owner["class"]].settable().get(ref)
        if f is None:
            return
        if f.many:
            owner["refs"].setdefault(ref, []).append(obj["id"])
        elif ref not in owner["refs"]:
            owner["refs"][ref] = obj["id"]

    def set_attr(obj: dict[str, Any], f: Feature, value: Any) -> None:
        if f.many:
            obj["attrs"].setdefault(f.name, []).append(value)
        else:
            obj["attrs"].setdefault(f.name, value)

    new(root)
    by_key = {m.key: m for m in mentions}
    for key, label in labels.items():
        m = by_key.get(key)
        if m is None or not isinstance(label, str) or label not in m.options or label == NONE:
            continue
        where, _, target = label.rpartition(": ")
        cls, _, attr = target.partition(".")
        f = mm.classes[cls].settable()[attr]
        if where == "root" or cls == root:
            obj = objs[0]
        elif where:
            obj = new(cls)
            contain(obj, where)
        else:
            obj = latest(cls)
            if obj is not None and f.name in obj["attrs"] and not f.many:
                continue  # the latest such object has it already: no nameless object is made up for it
            if obj is None:
                obj = new(cls)
                refs = _placements(mm, root).get(cls) or []
                if refs:
                    contain(obj, refs[0])
        set_attr(obj, f, _value(m, f))
    return InstanceModel.model_validate({"objects": objs})


MAX_QUESTIONS = 30


@dataclass
class RefQuestion:
    key: str  # "author of The Silent Harbor"
    obj: str  # the object's id
    ref: str  # the reference's name
    many: bool
    required: bool
    targets: dict[str, str]  # candidate's name -> its id


def name_of(obj: Any, mm: Metamodel) -> str | None:
    label = _label(mm.classes[obj.cls])
    value = obj.attrs.get(label) if label else None
    return value if isinstance(value, str) and value else None


def reference_questions(model: InstanceModel, mm: Metamodel) -> list[RefQuestion]:
    """For each named object's non-containment reference: which named objects it may point to."""
    named = [(o, name_of(o, mm) or o.id) for o in model.objects]  # a nameless object goes by its id
    out: list[RefQuestion] = []
    for o, own in named:
        for f in mm.classes[o.cls].settable().values():
            if not f.is_ref or f.containment or f.implied or f.name in o.refs:
                continue
            targets: dict[str, str] = {}
            for t, name in named:
                if t is not o and mm.is_a(t.cls, f.type_name):
                    targets.setdefault(name, t.id)
            if targets:
                out.append(RefQuestion(f"{f.name} of {own}", o.id, f.name, f.many, f.lower > 0, targets))
    _number_repeats(out)
    return out[:MAX_QUESTIONS]


def references_schema(questions: list[RefQuestion]) -> dict[str, Any]:
    """Decoding schema: one answer per question, only names of fitting objects (or "none")."""
    props: dict[str, Any] = {}
    for q in questions:
        names = list(q.targets)
        if q.many:
            props[q.key] = {"type": "array", "items": {"type": "string", "enum": names}, "maxItems": len(names),
                            **({"minItems": 1} if q.required else {})}
        else:
            props[q.key] = {"type": "string", "enum": names if q.required else names + [NONE]}
    return {"type": "object", "properties": props, "required": [q.key for q in questions], "additionalProperties": False}


def add_references(model: InstanceModel, questions: list[RefQuestion], answers: dict[str, Any]) -> InstanceModel:
    """The model with the answered references set (names outside a question's options are ignored)."""
    data = model.dump()
    by_id = {o["id"]: o for o in data["objects"]}
    for q in questions:
        value = answers.get(q.key)
        names = value if isinstance(value, list) else [value]
        ids = list(dict.fromkeys(q.targets[n] for n in names if isinstance(n, str) and n in q.targets))
        if ids:
            by_id[q.obj].setdefault("refs", {})[q.ref] = ids if q.many else ids[0]
    return InstanceModel.model_validate(data)
