"""Reading untrusted files safely: the one pre-parse every XML input (metamodels, XMI) goes
through before pyecore sees it, and the capped reader of text inputs (spec files).

What it guarantees, in bounded time and memory, with one-line ``InputError`` messages naming
the file and the problem:

* nothing but the given bytes is read: a DOCTYPE (and with it every entity, internal or
  external, and every external DTD) is refused before parsing, and the parser itself resolves
  no entities and never touches the network (lxml: ``resolve_entities=False``,
  ``no_network=True``, ``load_dtd=False``); so no XXE, no billion laughs;
* size: a file larger than ``max_bytes`` is refused without being read whole
  (``huge_tree=False`` keeps libxml2's own limits on text nodes too);
* depth: elements nested deeper than ``max_depth`` are refused (libxml2 stops at 256 itself);
* encodings: NUL bytes outside UTF-16/32, bytes invalid in the declared encoding, an encoding
  declaration the bytes contradict, an unknown encoding: each gets its own message.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import InputError

MAX_XML_BYTES = 64 * 2**20  # an XMI of 100,000 objects is about 10 MB
MAX_TEXT_BYTES = 2**20  # a description: far more than any model's context holds
MAX_DEPTH = 256  # libxml2's own limit without huge_tree

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_DECL_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_ELEMENT_START = re.compile(r"<[A-Za-z_:]")
_LIBXML_SUFFIX = re.compile(r"\s*\(<string>, line \d+\)\s*$")


def _parser() -> etree.XMLParser:
    # a new parser per call: lxml parsers are not thread-safe, and this costs microseconds
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True, collect_ids=False)


def read_capped(path: str | Path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file, or InputError (missing, a folder, unreadable, too large).
    Reads at most ``max_bytes + 1`` bytes, so a huge or endless file costs nothing."""
    path = Path(path)
    try:
        if not path.exists():
            raise InputError(f"{what} not found: {path}")
        if path.is_dir():
            raise InputError(f"cannot read {what} {path}: it is a folder")
        if path.stat().st_size > max_bytes:  # refused unread
            raise InputError(f"cannot read {what} {path}: larger than {_size(max_bytes)}, refused")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"cannot read {what} {path}: larger than {_size(max_bytes)}, refused")
    return data


def read_text(path: str | Path, what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A text file (UTF-8, or UTF-16/32 with a byte-order mark), or InputError: too large,
    NUL bytes (a binary file), bytes that are not UTF-8 (with where)."""
    if not Path(path).exists():
        raise InputError(f"cannot read {what} {path}: no such file")
    data = read_capped(path, what, max_bytes)
    encoding = _bom_encoding(data)
    if encoding is None and b"\x00" in data:
        raise InputError(f"cannot read {what} {path}: it contains NUL bytes (a binary file?), at offset {data.index(0)}")
    try:
        text = data.decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {what} {path}: not {(encoding or 'utf-8').upper()} text "
                         f"(byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise InputError(f"cannot read {what} {path}: it contains NUL characters")
    return text


def parse_xml(data: bytes | str, name: str, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted XML into an lxml element, or raise InputError("{name}: problem")."""
    if isinstance(data, str):
        if len(data) > max_bytes:
            raise InputError(f"{name}: larger than {_size(max_bytes)}, refused")
        data = _declare_utf8(data).encode("utf-8", errors="surrogatepass")
    if len(data) > max_bytes:
        raise InputError(f"{name}: larger than {_size(max_bytes)}, refused")
    if not data.strip():
        raise InputError(f"{name}: the file is empty")
    bom = _bom_encoding(data)
    head = _head_text(data, bom)
    declared = _DECL_ENCODING.match(head)
    if bom is None and b"\x00" in data:
        where = data.index(0)
        hint = " (UTF-16 without a byte-order mark?)" if 0 in data[:2] else " (a binary file?)"
        raise InputError(f"{name}: contains NUL bytes{hint}, at offset {where}")
    if declared and bom is None and declared.group(1).lower().replace("_", "-").startswith(("utf-16", "utf-32", "ucs")):
        raise InputError(f"{name}: declares encoding {declared.group(1)} but its bytes are not {declared.group(1)} "
                         "(no byte-order mark); fix the XML declaration")
    if _has_doctype(head):
        raise InputError(f"{name}: has a DOCTYPE (DTDs and entities are refused: no XXE, no entity expansion)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{name}: {_syntax_message(exc, declared.group(1) if declared else None)}") from None
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding in some libxml2 builds
        raise InputError(f"{name}: not readable XML: {_one_line(str(exc))}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:  # belt and braces
        raise InputError(f"{name}: has a DOCTYPE (DTDs and entities are refused: no XXE, no entity expansion)")
    if max_depth < MAX_DEPTH:
        depth = _depth(root)
        if depth > max_depth:
            raise InputError(f"{name}: elements nest {depth} deep, more than the {max_depth} allowed")
    return root


def load_xml(path: str | Path, what: str, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_DEPTH) -> tuple[bytes, Any]:
    """Read a file once (capped) and pre-parse it: (its bytes, for pyecore; its lxml root).
    Errors read ``cannot read {what} {path}: {problem}``."""
    data = read_capped(path, what, max_bytes)
    try:
        return data, parse_xml(data, str(path), max_bytes=max_bytes, max_depth=max_depth)
    except InputError as exc:
        problem = str(exc)[len(str(path)) + 2:]
        raise InputError(f"cannot read {what} {path}: {problem}") from None


# -- helpers ------------------------------------------------------------------------------
def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def _bom_encoding(data: bytes) -> str | None:
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    return None


def _head_text(data: bytes, bom: str | None) -> str:
    """The prolog as text (enough to find the XML declaration and a DOCTYPE)."""
    chunk = data[: 2**20]
    if bom is not None:
        return chunk.decode(bom, errors="ignore").lstrip("\ufeff")
    return chunk.decode("latin-1")


def _has_doctype(head: str) -> bool:
    """A DOCTYPE can only stand before the root element."""
    m = _ELEMENT_START.search(head)
    prolog = head[: m.start()] if m else head
    return bool(_DOCTYPE.search(prolog))


def _declare_utf8(text: str) -> str:
    """Text handed in as str is encoded as UTF-8 here: make its XML declaration say so."""
    m = _DECL_ENCODING.match(text)
    if not m:
        return text
    return text[: m.start(1)] + "UTF-8" + text[m.end(1):]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _syntax_message(exc: Exception, declared: str | None) -> str:
    msg = _one_line(_LIBXML_SUFFIX.sub("", str(exc)))
    low = msg.lower()
    if "excessive depth" in low:
        return f"elements nest deeper than {MAX_DEPTH}, refused"
    if "amplification" in low or "entity" in low and "loop" in low:
        return f"entity expansion refused ({msg})"
    if "invalid bytes in character encoding" in low or "not proper utf-8" in low or "input is not proper" in low:
        enc = declared or "UTF-8"
        return f"bytes invalid in its encoding {enc} ({msg}); save it as {enc} or fix the XML declaration"
    if "unsupported encoding" in low:
        return f"unknown encoding ({msg})"
    return f"not well-formed XML: {msg}"


def _depth(root: Any) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in el)
    return deepest
