"""python -m evals corpus: every public metamodel of ``sources.json`` through the xmi target's
machinery with no LLM (``procedure.py``), and the XMI instances shipped beside them; the
counts by outcome go to evals/reports/corpus.md.

The files are extracted at the pinned commits into a cache outside the repository
(``~/.cache/conceptwright/corpus/``, or ``--cache``): from a local bare mirror of the repository
when there is one (``--mirrors DIR`` holding ``owner+name/repo``, default ``/work/.mirror``),
else from a blobless clone made there on first use (needs git and the network, once).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.core.errors import InputError
from conceptwright.core.safexml import parse_xml

from ..common import REPORTS
from . import add_arguments
from .procedure import SUPPORTED, check_instance, check_metamodel

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources.json"
XMI_NS = "http://www.omg.org/XMI"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SKIP_NS = {XMI_NS, "http://www.w3.org/2001/XMLSchema-instance", "http://www.eclipse.org/emf/2002/Ecore"}

# what this corpus found, and what was done about it (kept in the report beside the counts)
FIXED = [
    "pyecore recursed forever on a supertype cycle, followed references into other files and URLs, let the second of two "
    "same-named classes win: refused before pyecore, one line each (`compilers/xmi/guard.py`, with issue 17.3)",
    "a package without nsURI (ATL zoo) crashed pyecore's save: `http://<name>` is derived, with a warning",
    "features typed only through `eGenericType` were untyped and `eGenericSuperTypes` lost: lowered to `eType` / "
    "`eSuperTypes` (`compilers/xmi/lower.py`)",
    "`eKeys` made pyecore 0.15 refuse the whole file, and an operation called `print` failed in pyecore's compiled "
    "operations: operations and keys are dropped before loading (an instance never states them)",
    "annotation `references` into other plugins (UML.ecore) would be resolved: dropped, never opened",
    "a feature named `/name` (not an XML name) or like pyecore's own EObject methods (`notify`, `delete`) crashed the "
    "save or the opposite update: left out with a warning",
    "a concrete class pyecore cannot instantiate (one extending Ecore's EClass) crashed the compiler: left out of "
    "instances with a warning",
    "EBigDecimal wants a Decimal, XMLType IDREFS/NMTOKENS a list pyecore cannot read back, XMLType Integer has no "
    "Python type: converted, read as a string of tokens, read as int",
    "objects of classes extending Ecore's EModelElement were written with name paths (`#//Name 3`) no reader resolves: "
    "index paths now",
    "a single-valued containment's EMF fragment has no index (`//@body`): the XMI reader now resolves it",
    "a feature typed by an Ecore class pyecore lacks (`EResource`), Ecore's own metamodel, a type name of pyecore's "
    "static classes: one-line errors or handled instead of AttributeError",
]


# -- fetching -----------------------------------------------------------------------------
def _git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], input=data, capture_output=True, check=True).stdout


def git_dir_for(source: dict[str, Any], mirrors: Path, cache: Path) -> Path:
    """A git dir holding the pinned commit: a local mirror, else a blobless clone in the cache."""
    owner, name = source["repo"].split("/")
    for cand in (mirrors / f"{owner}+{name}" / "repo", mirrors / f"{owner}+{name}", cache / "git" / f"{owner}+{name}.git"):
        if cand.is_dir() and subprocess.run(["git", f"--git-dir={cand}", "cat-file", "-e", source["commit"]],
                                            capture_output=True).returncode == 0:
            return cand
    target = cache / "git" / f"{owner}+{name}.git"
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"cloning {source['repo']} (blobless) into {target} ...", file=sys.stderr)
    if not target.is_dir():
        subprocess.run(["git", "clone", "--bare", "--filter=blob:none", f"https://github.com/{source['repo']}.git", str(target)],
                       check=True)
    subprocess.run(["git", f"--git-dir={target}", "fetch", "origin", source["commit"]], check=True)
    return target


def extract(source: dict[str, Any], mirrors: Path, cache: Path) -> list[dict[str, Any]]:
    """The source's files matching its globs, written under the cache; one dict per file."""
    git_dir = git_dir_for(source, mirrors, cache)
    listing = _git(git_dir, "ls-tree", "-r", "-l", "--full-tree", source["commit"]).decode("utf-8", "replace")
    files = []
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        _mode, kind, blob, size = meta.split()
        if kind != "blob" or not any(fnmatch.fnmatch(path, g) for g in source["globs"]):
            continue
        files.append({"source": source["name"], "path": path, "blob": blob, "size": int(size) if size.isdigit() else None})
    root = cache / source["name"] / source["commit"][:12]
    missing = [f for f in files if not (root / f["path"]).is_file()]
    if missing:  # one git process for all blobs
        out = _git(git_dir, "cat-file", "--batch", data="".join(f"{f['blob']}\n" for f in missing).encode())
        pos = 0
        for f in missing:
            header_end = out.index(b"\n", pos)
            header = out[pos:header_end].split()
            if len(header) != 3:  # "<blob> missing": a mirror may lack its largest files
                pos = header_end + 1
                f["absent"] = True
                continue
            size = int(header[2])
            start = header_end + 1
            body = out[start:start + size]
            pos = start + size + 1
            target = root / f["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
    for f in files:
        f["file"] = root / f["path"]
    return [f for f in files if f["file"].is_file()]


# -- instances ----------------------------------------------------------------------------
def _namespaces(path: Path) -> list[str]:
    """The metamodel namespaces an XMI uses: its top objects' first, then every xsi:type's."""
    try:
        root = parse_xml(path.read_bytes(), path.name)
    except (InputError, OSError):
        return []
    tops = [c for c in root if isinstance(c.tag, str)] if root.tag == f"{{{XMI_NS}}}XMI" else [root]
    found = [t.tag[1:].split("}")[0] for t in tops if isinstance(t.tag, str) and t.tag.startswith("{")]
    for el in root.iter():
        xsi = el.get(XSI_TYPE) if isinstance(el.tag, str) else None
        if xsi and ":" in xsi:
            ns = el.nsmap.get(xsi.split(":", 1)[0])
            if ns:
                found.append(ns)
    return [ns for ns in dict.fromkeys(found) if ns not in SKIP_NS]


def _metamodel_for(xmi: dict[str, Any], loaded: dict[str, list[tuple[dict[str, Any], Metamodel]]]) -> Metamodel | None:
    """The loaded metamodel of the same source declaring every namespace the XMI uses (the nearest by path)."""
    spaces = _namespaces(xmi["file"])
    if not spaces:
        return None
    cands = [(f, mm) for f, mm in loaded.get(spaces[0], [])
             if all(any(p.nsURI == ns for p in mm.packages) for ns in spaces) and f["source"] == xmi["source"]]
    if not cands:
        return None
    return max(cands, key=lambda item: len(os.path.commonprefix([item[0]["path"], xmi["path"]])))[1]


# -- the report -----------------------------------------------------------------------------
KNOWN_CLASSES = [  # (pattern in the message, the class it names); the first that matches wins
    (r"refers to (another file|another resource|a URL)",
     "refers to another .ecore file or a URL (refused by design: only the one file given is read)"),
    (r"Start tag expected", "not XML: a textual syntax (EMFText / Emfatic) saved as .ecore"),
    (r"typed by \S*#//(\w+), which pyecore does not know", r"a feature typed by Ecore's \1, which pyecore 0.15 lacks"),
    (r"Ecore's own metamodel", "Ecore's own metamodel (pyecore has it built in)"),
    (r"declares two (\w+)", r"two \1 with the same name (EMF rejects it too)"),
    (r"supertype cycle", "a supertype cycle"),
    (r"declares no classes", "only datatypes and enums: no class to instantiate"),
    (r"holds no EPackage", "an empty XMI document: no EPackage"),
    (r"no concrete class|only abstract", "only abstract classes and interfaces"),
    (r"points into Ecore itself", "a required reference to Ecore's own objects (EClass, EPackage, ...)"),
    (r"nothing contains a", "a required reference to a class nothing contains (one root cannot hold it)"),
    (r"finite instance", "required containments that never end (no finite instance)"),
    (r"must be contained through EPackage", "a class extending Ecore's EPackage (pyecore: eSuperPackage is required)"),
]


def failure_class(row: dict[str, Any]) -> str:
    """A failure's class: a known one, else its outcome and message with names and numbers taken out."""
    msg = row["message"]
    for pattern, name in KNOWN_CLASSES:
        m = re.search(pattern, msg)
        if m:
            return f"{row['outcome']}: {m.expand(name)}"
    msg = re.sub(r"^cannot read metamodel \S+: ", "", msg)
    msg = re.sub(r"^metamodel \S+ ", "metamodel ", msg)
    msg = re.sub(r"'[^']*'|\"[^\"]*\"", "…", msg)
    msg = re.sub(r"\b[\w.]+\.(ecore|xmi)\b", "FILE", msg)
    msg = re.sub(r"\b\d+\b", "N", msg)
    msg = re.sub(r"(object|class|attribute|reference|containment|feature|package|classifier)s? [A-Z_][\w.]*", r"\1 X", msg)
    msg = re.sub(r"\b[A-Z][\w]*\.[\w]+\b", "X.y", msg)
    msg = re.split(r"[;(]", msg, maxsplit=1)[0].strip(" :.")
    return f"{row['outcome']}: {msg[:140]}"


def _short(path: str) -> str:
    return "/".join(Path(path).parts[-3:])


def report(rows: list[dict[str, Any]], inst: list[dict[str, Any]], sources: list[dict[str, Any]], files: int,
           seconds: float) -> str:
    by = Counter(r["outcome"] for r in rows)
    loaded = [r for r in rows if r["outcome"] != "load-error"]
    tracebacks = [r for r in rows + inst if r["outcome"] == "traceback"]
    lines = ["# Metamodels in the wild", "",
             "Every public Ecore metamodel of the pinned sources through the xmi target's own machinery, with no LLM "
             "(`python -m evals corpus`; procedure in `evals/corpus/procedure.py`): load it, build the prompt summary, the "
             "decoding schema, the worked example and the target's first prompt, synthesise a small instance from the "
             "metamodel alone (one object per concrete class reachable from a root container, every attribute filled, "
             "lower bounds met, required references satisfied), check it, check the decoding schema allows it, compile it "
             "to XMI, validate the XMI (lxml read-back, all checks, pyecore load), write it and read the file back with "
             "pyecore and with our reader. The XMI instances shipped beside the metamodels are read, checked and "
             "round-tripped through the conceptual model (read, compile, read: same objects).", "",
             "| source | repository @ commit | files |", "|---|---|---|"]
    for s in sources:
        lines.append(f"| {s['name']} | {s['repo']} @ `{s['commit'][:12]}` | {s.get('files', 0)} |")
    lines += ["", f"Files extracted: {files}. Run time {seconds:.0f} s.", "",
              "| metamodels | count |", "|---|---|",
              f"| tried (distinct by content) | {len(rows)} |",
              f"| loaded | {len(loaded)} |",
              f"| fully supported (synthesised instance compiles, validates, reads back) | {by.get(SUPPORTED, 0)} |",
              f"| tracebacks | {sum(r['outcome'] == 'traceback' for r in rows)} |",
              f"| loaded with a derived nsURI (warning) | {sum(any('nsURI' in w for w in r.get('warnings', [])) for r in rows)} |",
              f"| loaded with some feature or class left out (warning) | "
              f"{sum(any('left out' in w for w in r.get('warnings', [])) for r in rows)} |", ""]
    cov = [r for r in rows if r["outcome"] == SUPPORTED and r.get("concrete")]
    if cov:
        total_c, total_cov = sum(r["concrete"] for r in cov), sum(r["covered"] for r in cov)
        lines += [f"Coverage of the supported ones: their synthesised instances hold {total_cov} of their {total_c} concrete "
                  f"classes ({100 * total_cov / total_c:.0f}%; the rest are not reachable from the root by containment) in "
                  f"{sum(r.get('objects', 0) for r in cov)} objects.", ""]
    lines += ["## Outcomes by class", "", "Every failure is one line naming what is not supported.", "",
              "| outcome | class | count | example |", "|---|---|---|---|"]
    classes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["outcome"] != SUPPORTED:
            classes[failure_class(r)].append(r)
    for key, rs in sorted(classes.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        outcome, _, cls = key.partition(": ")
        ex = rs[0]
        lines.append(f"| {outcome} | {cls} | {len(rs)} | `{_short(ex['path'])}`: {ex['message'][:220].replace('|', '/')} |")
    lines += ["", "## Fixed on the way", "", "Crashes and silent losses this corpus found in our loader and compiler:", ""]
    lines += [f"- {f}" for f in FIXED]
    lines += ["", "## Instances shipped beside the metamodels", ""]
    ib = Counter(r["outcome"] for r in inst)
    lines += ["| instances | count |", "|---|---|", f"| tried (distinct by content) | {len(inst)} |"]
    for k in ("no-metamodel", "valid", "invalid", "unreadable", "round-trip", "traceback"):
        if ib.get(k):
            lines.append(f"| {k} | {ib[k]} |")
    rt = [r for r in inst if r.get("round_trip")]
    lines += [f"| round-tripped through the conceptual model (same objects) | {len(rt)} |", ""]
    lines += ["An instance is *invalid* only where it breaks a rule of its metamodel; the rules broken (diagnostic codes "
              "with counts) are listed with the first message. `external-reference` means the file refers into another "
              "document, which is never opened. EMF allows several roots in one file, so the checker's one-root rule (for "
              "generated models) is not applied to these.", "",
              "| instance | metamodel | objects | outcome | rules broken | first message |", "|---|---|---|---|---|---|"]
    for r in sorted(inst, key=lambda r: (r["outcome"], r["path"])):
        if r["outcome"] == "no-metamodel":
            continue
        codes = ", ".join(f"{k} ×{v}" for k, v in sorted(r.get("codes", {}).items()))
        lines.append(f"| `{_short(r['path'])}` | {Path(r.get('metamodel', '')).name} | {r.get('objects', '')} | {r['outcome']} | "
                     f"{codes} | {r['message'][:200].replace('|', '/')} |")
    nom = [r for r in inst if r["outcome"] == "no-metamodel"]
    if nom:
        lines += ["", f"Without a loaded metamodel for every namespace they use ({len(nom)}; those metamodels refer to other "
                  "files, or none ships): " + ", ".join(f"`{_short(r['path'])}`" for r in nom[:40])
                  + (" ..." if len(nom) > 40 else "")]
    lines += ["", f"Tracebacks in all: {len(tracebacks)}."]
    for r in tracebacks:
        lines.append(f"- `{_short(r['path'])}`: {r['message']}")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    cache, mirrors = Path(args.cache).expanduser(), Path(args.mirrors)
    sources = json.loads(SOURCES.read_text())["sources"]
    if args.only:
        wanted = set(args.only.split(","))
        sources = [s for s in sources if s["name"] in wanted]
    all_files: list[dict[str, Any]] = []
    for s in sources:
        files = extract(s, mirrors, cache)
        s["files"] = len(files)
        all_files += files
    seen: set[str] = set()
    ecores, xmis = [], []
    for f in all_files:
        if f["blob"] in seen:
            continue
        seen.add(f["blob"])
        (ecores if f["path"].endswith(".ecore") else xmis).append(f)
    if args.limit:
        ecores = [f for s in sources for f in [e for e in ecores if e["source"] == s["name"]][: args.limit]]
    out_dir = cache / "out"
    rows: list[dict[str, Any]] = []
    loaded: dict[str, list[tuple[dict[str, Any], Metamodel]]] = defaultdict(list)
    for i, f in enumerate(ecores, 1):
        row = check_metamodel(f["file"], out_dir / f["source"] / Path(f["path"]).parent)
        row.update(source=f["source"], repo_path=f["path"])
        mm = row.pop("_mm", None)
        if mm is not None:
            for p in mm.packages:
                loaded[p.nsURI].append((f, mm))
        rows.append(row)
        print(f"[{i}/{len(ecores)}] {row['outcome']:18} {f['path']}  {row['message'][:150]}", file=sys.stderr)
    inst = []
    for f in xmis:
        mm = _metamodel_for(f, loaded)
        if mm is None:
            inst.append({"path": str(f["file"]), "outcome": "no-metamodel", "message": ""})
            continue
        row = check_instance(f["file"], mm, single_root=False)
        inst.append(row)
        print(f"[xmi] {row['outcome']:12} {f['path']}  {row['message'][:150]}", file=sys.stderr)
    seconds = time.perf_counter() - t0
    text = report(rows, inst, sources, len(all_files), seconds)
    out = Path(args.out) if args.out else REPORTS / "corpus.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (cache / "rows.jsonl").write_text("".join(json.dumps(r, default=str) + "\n" for r in rows + inst))
    print(text)
    print(f"report {out}; rows {cache / 'rows.jsonl'}", file=sys.stderr)
    return 0 if not any(r["outcome"] == "traceback" for r in rows + inst) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m evals.corpus.run")
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
