"""The prompt functions as they were before prompts became templates (copied verbatim, reading the
same text constants), so a test can assert that a default rendering is byte for byte the same."""
from __future__ import annotations

import json

from conceptwright.compilers.sim.example import ODE, ODE_SPEC, PROCESS, PROCESS_SPEC, STOCK, STOCK_SPEC
from conceptwright.compilers.sim.spec import guess_kind, sure_kind
from conceptwright.llm.base import Message
from conceptwright.prompts import cad as C, sim as S, xmi as X
from conceptwright.prompts.edit import WHOLE_TAIL
from conceptwright.prompts.profiles import Profile


def xmi_conceptual(summary: str, root: str, spec: str, profile: Profile, own_example: str | None = None) -> list[Message]:
    rules = (X.RULES_COMPACT if profile.compact else X.RULES).replace("{root}", root)
    parts = [f"Metamodel:\n{summary}", rules]
    if profile.example and profile.example_kind == "metamodel" and own_example:
        parts.append(f"Example of the JSON shape for this metamodel (use the description's names and values):\n{own_example}")
    elif profile.example:
        parts.append(f"Example for another metamodel:\n{X.EXAMPLE_METAMODEL}\nDescription: {X.EXAMPLE_SPEC}\nJSON:\n{X.EXAMPLE_JSON}")
    parts.append(f"Description: {spec}\nJSON:")
    return [Message(role="system", content=X.SYSTEM_CONCEPTUAL), Message(role="user", content="\n\n".join(parts))]


def xmi_direct(summary: str, packages: str, root: str, spec: str, profile: Profile) -> list[Message]:
    parts = [
        f"Metamodel:\n{summary}\nPackages (prefix = nsURI): {packages}",
        "Write one XMI 2.0 document. The root element is the "
        f"{root} (prefix:Class with xmlns declarations for xmi, xsi and the package). Contained objects are child "
        "elements named after the containment reference; give xsi:type=\"prefix:Class\" when the reference type is "
        "abstract or a supertype. Attributes are XML attributes. Non-containment references are XML attributes whose "
        "value lists EMF fragment paths of the targets separated by spaces, e.g. \"//@keepers.0\" (the first object in "
        "the root's 'keepers'). Dates as 2024-03-01T00:00:00.000+0000.",
    ]
    if profile.example:
        parts.append(f"Example for another metamodel:\n{X.EXAMPLE_METAMODEL}\nPackage zoo = http://example.org/zoo\nDescription: {X.EXAMPLE_SPEC}\nXMI:\n{X.EXAMPLE_XMI}")
    parts.append(f"Description: {spec}\nXMI:")
    return [Message(role="system", content=X.SYSTEM_DIRECT), Message(role="user", content="\n\n".join(parts))]


def xmi_repair(first: list[Message], previous: str, diagnostics: str, what: str) -> list[Message]:
    task = first[-1].content
    return first[:-1] + [Message(
        role="user",
        content=f"{task}\n\nA previous answer was:\n{previous}\n\nThe validator found these problems in it:\n{diagnostics}\n\n"
        f"Write the complete corrected {what}: all objects with all their attributes and references, keeping what was "
        f"right and changing what the problems name.",
    )]


def xmi_missing(first: list[Message], previous: str, missing: list[str], root: str) -> list[Message]:
    task = first[-1].content
    lines = "\n".join(missing)
    return first[:-1] + [Message(
        role="user",
        content=f"{task}\n\nA previous answer was:\n{previous}\n\nIt lists these ids but never writes them as objects:\n"
        f"{lines}\n\nWrite ONLY these missing objects, as one JSON object keyed by their ids: "
        f"{{\"<id>\": {{\"class\": \"...\", \"attrs\": {{...}}, \"refs\": {{...}}}}, ...}}, each with its class and "
        f"the attributes and references the description gives it (refer to the previous answer's ids). Do not repeat "
        f"the objects already written and do not write the {root} again.",
    )]


def xmi_edit(summary: str, root: str, current: str, instruction: str, profile: Profile) -> list[Message]:
    rules = (X.RULES_COMPACT if profile.compact else X.RULES).replace("{root}", root)
    parts = [f"Metamodel:\n{summary}", rules, f"The current model:\n{current}",
             f"Change the model as asked: {instruction}\nKeep every object the change does not touch, with the same ids, "
             "attributes and references. " + WHOLE_TAIL]
    return [Message(role="system", content=X.SYSTEM_CONCEPTUAL), Message(role="user", content="\n\n".join(parts))]


def cad_conceptual(spec: str, profile: Profile) -> list[Message]:
    parts = [C.FORMAT_COMPACT if profile.compact else C.FORMAT]
    if profile.example:
        ex_spec, ex_json = (C.EXAMPLE_SPEC_COMPACT, C.EXAMPLE_JSON_COMPACT) if profile.compact else (C.EXAMPLE_SPEC, C.EXAMPLE_JSON)
        parts.append(f"Example.\nDescription: {ex_spec}\nJSON:\n{ex_json}")
    parts.append(f"Description: {spec}\nJSON:")
    return [Message(role="system", content=C.SYSTEM_CONCEPTUAL), Message(role="user", content="\n\n".join(parts))]


def cad_direct(spec: str, profile: Profile) -> list[Message]:
    parts = [C.DIRECT_RULES]
    if profile.example:
        parts.append(f"Example.\nDescription: {C.EXAMPLE_SPEC}\nCode:\n```python\n{C.EXAMPLE_CODE}\n```")
    parts.append(f"Description: {spec}\nCode:")
    return [Message(role="system", content=C.SYSTEM_DIRECT), Message(role="user", content="\n\n".join(parts))]


def cad_edit(part_json: str, instruction: str, profile: Profile) -> list[Message]:
    parts = [C.FORMAT_COMPACT if profile.compact else C.FORMAT,
             f"The current part:\n{part_json}",
             f"Change the part as asked: {instruction}\nKeep everything else as it is (same ids, same parameters unless the change "
             "needs others) and update the envelope if the size changes. " + WHOLE_TAIL]
    return [Message(role="system", content=C.SYSTEM_CONCEPTUAL), Message(role="user", content="\n\n".join(parts))]


def cad_repair(what: str, diagnostics: str, spec: str | None = None) -> Message:
    again = f"\nThe part to make (not the example): {spec}" if spec else ""
    return Message(role="user", content=f"The checker found these problems in your {what}:\n{diagnostics}\n{again}\n"
                   f"Fix them and write the complete corrected {what} again, keeping what was right.")


def _kind_line(spec: str) -> str | None:
    kind = sure_kind(spec)
    return f'This description needs a "{kind}" model.' if kind else None


def _example(spec: str, data: dict) -> str:
    return f"Description: {spec}\nJSON:\n{json.dumps(data)}"


def sim_first(spec: str, profile: Profile) -> list[Message]:
    parts = [S.RULES_COMPACT if profile.compact else S.RULES]
    if profile.example:
        if profile.compact:
            kind = guess_kind(spec)
            parts.append("Example:\n" + _example(*((PROCESS_SPEC, PROCESS) if kind == "process" else (STOCK_SPEC, STOCK))))
        else:
            parts.append("Examples:\n" + "\n\n".join(_example(s, d) for s, d in
                                                    ((PROCESS_SPEC, PROCESS), (STOCK_SPEC, STOCK), (ODE_SPEC, ODE))))
    parts += [line for line in (_kind_line(spec),) if line]
    parts.append(f"Description: {spec}\nJSON:")
    return [Message(role="system", content=S.SYSTEM), Message(role="user", content="\n\n".join(parts))]


def sim_repair(diagnostics: str, spec: str | None = None) -> Message:
    again = f"\nThe system to model (not an example): {spec}" if spec else ""
    again += f"\n{_kind_line(spec)}" if spec and _kind_line(spec) else ""
    return Message(role="user", content=f"The validator found these problems in your JSON:\n{diagnostics}\n{again}\n"
                   "Fix them and write the complete corrected JSON again, keeping what was right.")


def sim_edit(current: str, instruction: str, profile: Profile) -> list[Message]:
    rules = S.RULES_COMPACT if profile.compact else S.RULES
    parts = [rules, f"The current model:\n{current}",
             f"Change the model as asked: {instruction}\nKeep everything the change does not touch (same ids and numbers). "
             + WHOLE_TAIL]
    return [Message(role="system", content=S.SYSTEM), Message(role="user", content="\n\n".join(parts))]
