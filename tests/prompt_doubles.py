"""Test doubles for prompt calibration: a task model that answers better when its prompt holds a
phrase, and a reflection model that adds the phrase to whatever section it is shown."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conceptwright.llm.base import Completion, Message, Usage

MAGIC = "Name EVERY member the description names."
NAMES = ["Okafor", "Lindqvist", "Brandt", "Moreau", "Tanaka", "Silva", "Kowalski", "Haddad", "Novak"]
FIRST = ["Emeka", "Anders", "Jonas", "Luc", "Kenji", "Rui", "Piotr", "Omar", "Ivan"]
MOTHER = ["Ngozi", "Maja", "Greta", "Claire", "Yumi", "Ana", "Ewa", "Lina", "Vera"]


def families_cases(path: Path, metamodel: Path, n: int = 6) -> Path:
    lines = []
    for i in range(n):
        last, f, m = NAMES[i], FIRST[i], MOTHER[i]
        facts = {"objects": [{"class": "Family", "key": "lastName", "attrs": {"lastName": last}},
                             {"class": "Member", "key": "firstName", "attrs": {"firstName": f}},
                             {"class": "Member", "key": "firstName", "attrs": {"firstName": m}}],
                 "links": [{"from": last, "ref": "father", "to": f}, {"from": last, "ref": "mother", "to": m}]}
        lines.append(json.dumps({"id": f"fam-{i}", "metamodel": str(metamodel),
                                 "spec": f"Family {last}: father {f}, mother {m}.", "facts": facts}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _model(last: str, father: str, mother: str) -> str:
    return json.dumps({"objects": [
        {"id": "family1", "class": "Family", "attrs": {"lastName": last}, "refs": {"father": "member1", "mother": "member2"}},
        {"id": "member1", "class": "Member", "attrs": {"firstName": father}},
        {"id": "member2", "class": "Member", "attrs": {"firstName": mother}}]})


class PhraseLLM:
    """Answers each description right when its prompt holds MAGIC, with placeholder names when not;
    for the descriptions in ``worse_with_magic`` MAGIC makes it answer with invalid JSON instead."""

    provider = "scripted"

    def __init__(self, name: str = "phrase", worse_with_magic: set[str] | None = None, die_after: int | None = None) -> None:
        self.name = name
        self.worse = worse_with_magic or set()
        self.die_after = die_after
        self.calls: list[list[Message]] = []

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None, max_tokens: int | None = None,
                 temperature: float = 0.0) -> Completion:
        if self.die_after is not None and len(self.calls) >= self.die_after:
            raise KeyboardInterrupt  # the process is killed here
        self.calls.append(messages)
        text = "\n".join(m.content for m in messages)
        spec = re.findall(r"Description: (Family (\w+): father (\w+), mother (\w+)\.)", text)[-1]
        magic = MAGIC in text
        if magic and spec[0] in self.worse:
            reply = '{"objects": ['
        elif magic:
            reply = _model(spec[1], spec[2], spec[3])
        else:
            reply = _model("Lastname", "Firstname", "Firstname")
        return Completion(text=reply, usage=Usage(input_tokens=len(text) // 4, output_tokens=len(reply) // 4), model=self.name)


class PhraseReflector:
    """A reflection model that appends MAGIC to the section text it is shown (JSON sections: unchanged)."""

    provider = "scripted"

    def __init__(self, name: str = "reflector") -> None:
        self.name = name
        self.prompts: list[str] = []

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None, max_tokens: int | None = None,
                 temperature: float = 0.0) -> Completion:
        prompt = messages[-1].content
        self.prompts.append(prompt)
        current = re.search(r"```\n(.*?)\n```", prompt, re.S).group(1)
        new = current if current.lstrip().startswith("{") else f"{current}\n{MAGIC}"
        return Completion(text=f"Here it is:\n```\n{new}\n```", usage=Usage(input_tokens=len(prompt) // 4, output_tokens=50))


class LabelLLM(PhraseLLM):
    """Labels a Families description's mentions right when asked for labels; any other prompt gets placeholders."""

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None, max_tokens: int | None = None,
                 temperature: float = 0.0) -> Completion:
        if not messages[-1].content.rstrip().endswith("Labels:"):
            return super().complete(messages, schema=schema, max_tokens=max_tokens, temperature=temperature)
        self.calls.append(messages)
        last, father, mother = list(schema["properties"])[:3]
        reply = json.dumps({last: "root: Family.lastName", father: "father: Member.firstName",
                            mother: "mother: Member.firstName"})
        return Completion(text=reply, usage=Usage(input_tokens=100, output_tokens=30), model=self.name)
