"""What a description states in its own words: names, titles and other proper phrases.

Used to hold a small model to the description: under constrained decoding a string attribute
can only take one of these values (no ``"Lastname 1"`` placeholders, no invented members), and
a worked example can be written with them instead of synthetic ones.
"""
from __future__ import annotations

import re
from typing import Any

_QUOTED = re.compile(r"(?<![A-Za-z0-9])[\"“'‘]([^\"”'’\n]{1,80})[\"”'’](?![A-Za-z0-9])")  # not an apostrophe (Ochoa's)
_WORD = re.compile(r"[A-Za-z0-9][\w\-]*(?:'s)?")
# sentence openers and function words that start capitalised without naming anything
_STOP = frozenset("""a an the this that these those there here it its he she they we i you his her their our my your
and or but nor so yet of in on at to for from by with without into onto over under about after before during
is are was were be has have had do does did one two three four five six seven eight nine ten each every all some
no not also then when while where which who whom whose what how why if""".split())


def stated_strings(text: str, limit: int = 120) -> list[str]:
    """Quoted phrases, runs of capitalised words and each capitalised word, in order, once each."""
    found: list[str] = []

    def add(value: str) -> None:
        value = value.strip(" .,;:!?")
        if value and value not in found and len(found) < limit:
            found.append(value)

    for m in _QUOTED.finditer(text):
        add(m.group(1))
    run: list[str] = []
    words = list(_WORD.finditer(text))
    for i, m in enumerate(words + [None]):  # type: ignore[list-item]
        word = m.group(0) if m is not None else ""
        capital = bool(word) and (word[0].isupper() or word[0].isdigit() and bool(run)) and word.lower() not in _STOP
        if capital and run and m is not None and text[words[i - 1].end():m.start()].strip():  # punctuation ends a run
            if len(run) > 1:
                add(" ".join(run))
            run = []
        if capital:
            run.append(word)
            add(word)
        else:
            if len(run) > 1:
                add(" ".join(run))
            run = []
    return found


def restrict_strings(schema: Any, values: list[str]) -> Any:
    """A copy of a conceptual-model JSON schema whose free string attributes (under ``attrs``,
    without an enum or a pattern) may only take one of ``values``; ids and references keep theirs."""
    if not values:
        return schema

    def free_string(node: Any) -> bool:
        return isinstance(node, dict) and node.get("type") == "string" and "enum" not in node and "pattern" not in node

    def attr(node: Any) -> Any:
        if free_string(node):
            return {"type": "string", "enum": list(values)}
        if isinstance(node, dict) and node.get("type") == "array" and free_string(node.get("items")):
            return {**node, "items": {"type": "string", "enum": list(values)}}
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            attrs = out.get("properties", {}).get("attrs") if isinstance(out.get("properties"), dict) else None
            if isinstance(attrs, dict) and isinstance(attrs.get("properties"), dict):
                attrs["properties"] = {n: attr(s) for n, s in attrs["properties"].items()}
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def stated_names(text: str) -> list[tuple[str, int]]:
    """Quoted phrases and maximal runs of capitalised words (sentence openers and function
    words left out), with where each starts, in order; runs inside quotes are the quote's."""
    found: list[tuple[str, int]] = []
    quoted: list[tuple[int, int]] = []
    for m in _QUOTED.finditer(text):
        value = m.group(1).strip(" .,;:!?")
        if value:
            found.append((value, m.start(1)))
            quoted.append(m.span())
    run: list[re.Match[str]] = []

    def close() -> None:
        if run and not run[0].group(0)[0].isdigit():  # a number alone is no name ("(Mystery, 288 pages")
            found.append((re.sub(r"'s$", "", text[run[0].start():run[-1].end()]), run[0].start()))  # Ochoa's -> Ochoa
        run.clear()

    for m in _WORD.finditer(text):
        if any(a <= m.start() < b for a, b in quoted):
            close()
            continue
        word = m.group(0)
        capital = (word[0].isupper() or word[0].isdigit() and bool(run)) and word.lower() not in _STOP
        if run and (not capital or text[run[-1].end():m.start()].strip()):
            close()
        if capital:
            run.append(m)
    close()
    return sorted(found, key=lambda x: x[1])
