"""Prompts of the xmi target (conceptual and direct strategies)."""
from __future__ import annotations

from ..llm.base import Message
from .profiles import Profile
from .edit import WHOLE_TAIL
from .template import Template, register

EXAMPLE_METAMODEL = """class Zoo  <- root
  attrs: name: String[1..1]
  refs: enclosures: Enclosure[0..*] (contains); keepers: Keeper[0..*] (contains)
class Enclosure
  attrs: name: String[1..1]; size: Int[0..1]; kind: EnclosureKind[0..1]
  refs: keeper: Keeper[0..1]
class Keeper
  attrs: name: String[1..1]
enum EnclosureKind: Indoor | Outdoor"""
EXAMPLE_SPEC = "Zoo Green Park has an outdoor enclosure Savanna of 500 square metres, kept by Ana, and an indoor enclosure Reptile House kept by Ben."
EXAMPLE_JSON = (
    '{"objects": [\n'
    ' {"id": "zoo1", "class": "Zoo", "attrs": {"name": "Green Park"}, "refs": {"enclosures": ["enclosure1", "enclosure2"], "keepers": ["keeper1", "keeper2"]}},\n'
    ' {"id": "enclosure1", "class": "Enclosure", "attrs": {"name": "Savanna", "size": 500, "kind": "Outdoor"}, "refs": {"keeper": "keeper1"}},\n'
    ' {"id": "enclosure2", "class": "Enclosure", "attrs": {"name": "Reptile House", "kind": "Indoor"}, "refs": {"keeper": "keeper2"}},\n'
    ' {"id": "keeper1", "class": "Keeper", "attrs": {"name": "Ana"}},\n'
    ' {"id": "keeper2", "class": "Keeper", "attrs": {"name": "Ben"}}]}'
)
EXAMPLE_XMI = """<?xml version="1.0" encoding="UTF-8"?>
<zoo:Zoo xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:zoo="http://example.org/zoo" name="Green Park">
  <enclosures name="Savanna" size="500" kind="Outdoor" keeper="//@keepers.0"/>
  <enclosures name="Reptile House" kind="Indoor" keeper="//@keepers.1"/>
  <keepers name="Ana"/>
  <keepers name="Ben"/>
</zoo:Zoo>"""

SYSTEM_CONCEPTUAL = "You turn descriptions into instance models of a given metamodel, written as JSON. Answer with the JSON only."
SYSTEM_DIRECT = "You turn descriptions into XMI instance models of a given Ecore metamodel for Eclipse EMF. Answer with the XMI document only."

RULES = """Write the model as JSON: {"objects": [{"id": ..., "class": ..., "attrs": {...}, "refs": {...}}]}
Rules:
- One object for each thing the description mentions. "id" is the class name in lower case plus a number (book1, writer2): never reuse an id.
- "class" is a class of the metamodel that can be instantiated (never an abstract class).
- "attrs": attribute name -> value, only attributes of that class. Numbers as numbers, true/false, dates as "YYYY-MM-DD", enum values spelled exactly as listed.
- "refs": reference name -> id of another object, or a list of ids when the reference allows many ([0..*], [1..*]).
- Give every [1..1] and [1..*] attribute and reference a value.
- Exactly one root object ({root}). Every other object is listed by its parent in a "contains" reference.
- A reference marked "also sets X.y" fills in its opposite: do not write that opposite yourself.
- Write values without the quotes the description may put around names."""

RULES_COMPACT = """JSON: {"objects": [{"id", "class", "attrs", "refs"}]}
- one object per thing; unique ids
- root object: {root}; it lists the other objects in its "contains" references
- refs use ids; [0..*] refs take a list of ids
- use only names from the metamodel"""



MENTIONS_EXAMPLE = ('{"Green Park": "root: Zoo.name", "Savanna": "enclosures: Enclosure.name", "500": "Enclosure.size", '
                    '"Outdoor": "Enclosure.kind", "Ana": "keepers: Keeper.name", "Reptile House": "enclosures: Enclosure.name", '
                    '"Ben": "keepers: Keeper.name"}')
REFERENCES_EXAMPLE = '{"keeper of Savanna": "Ana", "keeper of Reptile House": "Ben"}'

TEMPLATE = register(Template(
    target="xmi", version="1",
    sections={
        "role": SYSTEM_CONCEPTUAL,
        "schema_guide": "Metamodel:\n{metamodel}",
        "task": RULES,
        "task_compact": RULES_COMPACT,
        "example": f"Example for another metamodel:\n{EXAMPLE_METAMODEL}\nDescription: {EXAMPLE_SPEC}\nJSON:\n{EXAMPLE_JSON}",
        "example_own": "Example of the JSON shape for this metamodel (use the description's names and values):\n{example}",
        "request": "Description: {spec}\nJSON:",
        "repair": "A previous answer was:\n{previous}\n\nThe validator found these problems in it:\n{diagnostics}\n\n"
                  "Write the complete corrected {what}: all objects with all their attributes and references, keeping what "
                  "was right and changing what the problems name.",
        "missing": "A previous answer was:\n{previous}\n\nIt lists these ids but never writes them as objects:\n{missing}\n\n"
                   "Write ONLY these missing objects, as one JSON object keyed by their ids: "
                   '{"<id>": {"class": "...", "attrs": {...}, "refs": {...}}, ...}, each with its class and the attributes '
                   "and references the description gives it (refer to the previous answer's ids). Do not repeat the objects "
                   "already written and do not write the {root} again.",
        "current": "The current model:\n{current}",
        "edit": "Change the model as asked: {instruction}\nKeep every object the change does not touch, with the same ids, "
                "attributes and references. ",
        "direct_role": SYSTEM_DIRECT,
        "direct_schema_guide": "Metamodel:\n{metamodel}\nPackages (prefix = nsURI): {packages}",
        "direct_task": "Write one XMI 2.0 document. The root element is the {root} (prefix:Class with xmlns declarations for "
                       "xmi, xsi and the package). Contained objects are child elements named after the containment reference; "
                       "give xsi:type=\"prefix:Class\" when the reference type is abstract or a supertype. Attributes are XML "
                       "attributes. Non-containment references are XML attributes whose value lists EMF fragment paths of the "
                       "targets separated by spaces, e.g. \"//@keepers.0\" (the first object in the root's 'keepers'). Dates as "
                       "2024-03-01T00:00:00.000+0000.",
        "direct_example": f"Example for another metamodel:\n{EXAMPLE_METAMODEL}\nPackage zoo = http://example.org/zoo\n"
                          f"Description: {EXAMPLE_SPEC}\nXMI:\n{EXAMPLE_XMI}",
        "direct_request": "Description: {spec}\nXMI:",
        "mentions_task": "Say what each phrase of the description is in this metamodel. \"ref: Class.attr\" makes a new "
                         "Class object, listed in the containment reference ref, whose attr is the phrase; \"Class.attr\" sets "
                         "attr of the last Class object named before it; \"none\" leaves the phrase out.",
        "mentions_example": f"Example for another metamodel.\nDescription: {EXAMPLE_SPEC}\nLabels:\n{MENTIONS_EXAMPLE}",
        "mentions_request": "Description: {spec}\nPhrases and their possible labels:\n{mentions}\nLabels:",
        "references_task": "The description's objects are written. Say which object each reference points to, by its name, "
                           "as the description says (\"none\" when it does not say).",
        "references_example": f"Example for another metamodel.\nDescription: {EXAMPLE_SPEC}\nAnswers:\n{REFERENCES_EXAMPLE}",
        "references_request": "Description: {spec}\nObjects:\n{objects}\nReferences and the objects they may point to:\n"
                              "{questions}\nAnswers:",
    },
    placeholders=frozenset({"metamodel", "root", "spec", "example", "previous", "diagnostics", "what", "missing", "current",
                            "instruction", "packages", "mentions", "objects", "questions"}),
    tunable=("role", "task", "example", "repair", "mentions_task", "references_task"),
    forms={"task": lambda p: "task_compact" if p.compact else "task",
           "example": lambda p: "example_own" if p.example_kind == "metamodel" else "example"},
    uses={"mentions_task": lambda p: p.mentions, "references_task": lambda p: p.mentions},
))
T = TEMPLATE


def conceptual_messages(summary: str, root: str, spec: str, profile: Profile, own_example: str | None = None) -> list[Message]:
    ctx = {"metamodel": summary, "root": root, "spec": spec}
    parts = [T.text("schema_guide", profile, **ctx), T.text("task", profile, **ctx)]
    if profile.example and profile.example_kind == "metamodel" and own_example:
        parts.append(T.exact("example_own", profile, **ctx, example=own_example))
    elif profile.example:
        parts.append(T.exact("example", profile, **ctx))
    parts.append(T.text("request", profile, **ctx))
    return [Message(role="system", content=T.text("role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]


def direct_messages(summary: str, packages: str, root: str, spec: str, profile: Profile) -> list[Message]:
    ctx = {"metamodel": summary, "packages": packages, "root": root, "spec": spec}
    parts = [T.text("direct_schema_guide", profile, **ctx), T.text("direct_task", profile, **ctx)]
    if profile.example:
        parts.append(T.text("direct_example", profile, **ctx))
    parts.append(T.text("direct_request", profile, **ctx))
    return [Message(role="system", content=T.text("direct_role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]


def repair_messages(first: list[Message], previous: str, diagnostics: str, what: str,
                    profile: Profile | None = None) -> list[Message]:
    """System prompt, then one user message: the task, the previous answer, its problems.
    (Small models fix an answer they are shown better than one they wrote in a past turn.)"""
    task = first[-1].content
    body = T.text("repair", profile, previous=previous, diagnostics=diagnostics, what=what)
    return first[:-1] + [Message(role="user", content=f"{task}\n\n{body}")]


def missing_objects_messages(first: list[Message], previous: str, missing: list[str], root: str,
                             profile: Profile | None = None) -> list[Message]:
    """Ask only for the objects an answer lists but never wrote (a small model that rewrites a
    long answer whole drops more than it adds); the agent merges them into the previous answer."""
    task = first[-1].content
    body = T.text("missing", profile, previous=previous, missing="\n".join(missing), root=root)
    return first[:-1] + [Message(role="user", content=f"{task}\n\n{body}")]


def edit_messages(summary: str, root: str, current: str, instruction: str, profile: Profile) -> list[Message]:
    """Change an existing instance model as instructed (the whole changed model comes back)."""
    ctx = {"metamodel": summary, "root": root, "current": current, "instruction": instruction}
    parts = [T.text("schema_guide", profile, **ctx), T.text("task", profile, **ctx), T.text("current", profile, **ctx),
             T.text("edit", profile, **ctx) + WHOLE_TAIL]
    return [Message(role="system", content=T.text("role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]



def _options(items: list[tuple[str, list[str]]]) -> str:
    return "\n".join(f'- "{key}": {" | ".join(options)}' for key, options in items)


def mentions_messages(summary: str, spec: str, mentions: list[tuple[str, list[str]]],
                      profile: Profile | None = None) -> list[Message]:
    """Label each mention of the description (its names, numbers, enum words) with what it is in the metamodel."""
    ctx = {"metamodel": summary, "spec": spec, "mentions": _options(mentions)}
    parts = [T.exact(n, profile, **ctx) for n in ("schema_guide", "mentions_task", "mentions_example", "mentions_request")]
    return [Message(role="system", content=T.exact("role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]


def references_messages(summary: str, spec: str, objects: str, questions: list[tuple[str, list[str]]],
                        profile: Profile | None = None) -> list[Message]:
    """Say which of the model's objects each reference points to, by name."""
    ctx = {"metamodel": summary, "spec": spec, "objects": objects, "questions": _options(questions)}
    parts = [T.exact(n, profile, **ctx) for n in ("schema_guide", "references_task", "references_example", "references_request")]
    return [Message(role="system", content=T.exact("role", profile, **ctx)), Message(role="user", content="\n\n".join(parts))]
