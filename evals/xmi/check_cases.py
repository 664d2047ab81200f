"""Check the xmi eval cases: python evals/xmi/check_cases.py [cases.jsonl] [--objects MIN-MAX]

For every case: the line is JSON with id/metamodel/spec/facts; each class is a concrete
class of the metamodel; each attribute exists, is an attribute and its value is of the
right type (enum literals spelled as in the metamodel); each object of a class uses the
same key attribute and states its value; key values are unique in the case; each link
uses a reference of its source's class and ends at keyed objects of a fitting class.
Then the expected model is built from the facts (objects with their attrs, links as
refs) and checked with the xmi checker: it must have no errors, proving that a valid
model says exactly what the description says.

Objects without a key ("key": null) take a synthetic id. Uncontained objects go into the
root (the first object) when the root has no key, through the one containment reference
of the root that accepts them. An unkeyed object may carry an optional "via" with its
container and references ({"container": {"from": KEY, "ref": NAME}, "refs": {NAME: KEY}});
scoring ignores it. Each case has MIN to MAX objects (--objects, default 4-12), and the
file covers at least 6 metamodels (or, with fewer than 6 cases, one per case). Exits 1 on
any problem.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from conceptwright.compilers.xmi.model import InstanceModel  # noqa: E402
from conceptwright.compilers.xmi.metamodel import Metamodel  # noqa: E402
from conceptwright.compilers.xmi.values import coerce  # noqa: E402
from conceptwright.tools.xmi.check import check_model  # noqa: E402
from evals.common import shared_dir  # noqa: E402

CASES = ROOT / "evals" / "xmi" / "cases.jsonl"


def check_facts(case: dict[str, Any], mm: Metamodel, objects: tuple[int, int] = (4, 12)) -> list[str]:
    problems: list[str] = []
    facts = case["facts"]
    objs = facts.get("objects", [])
    lo, hi = objects
    if not lo <= len(objs) <= hi:
        problems.append(f"{len(objs)} objects (want {lo} to {hi})")
    class_key: dict[str, str | None] = {}
    for i, o in enumerate(objs):
        cls, key, attrs = o.get("class"), o.get("key"), o.get("attrs", {})
        info = mm.classes.get(cls)
        if info is None:
            problems.append(f"object #{i + 1}: no class '{cls}'")
            continue
        if not info.concrete:
            problems.append(f"object #{i + 1}: class '{cls}' is abstract")
        if cls in class_key and class_key[cls] != key:
            problems.append(f"class {cls} uses keys '{class_key[cls]}' and '{key}' (scoring keys by class)")
        class_key[cls] = key
        if key is not None and key not in attrs:
            problems.append(f"object #{i + 1} ({cls}): key '{key}' has no value in attrs")
        for name, value in attrs.items():
            f = info.features.get(name)
            if f is None:
                problems.append(f"{cls} has no feature '{name}'")
                continue
            if f.is_ref or not f.settable:
                problems.append(f"{cls}.{name} is not a settable attribute")
                continue
            try:
                coerce(f, value)
            except ValueError as exc:
                problems.append(f"{cls}.{name} = {value!r}: {exc}")
            if f.kind == "date" and not (isinstance(value, str) and len(value) == 10):
                problems.append(f"{cls}.{name} = {value!r}: write dates as YYYY-MM-DD")
        for name, f in info.features.items():
            if not f.is_ref and f.settable and f.lower > 0 and name not in attrs:
                problems.append(f"object #{i + 1} ({cls}): required attribute '{name}' has no value")
    keys = [o["attrs"].get(o["key"]) for o in objs if o.get("key")]
    for k, n in Counter(str(k).strip().lower() for k in keys).items():
        if n > 1:
            problems.append(f"key value '{k}' is used by {n} objects")
    by_key = {o["attrs"][o["key"]]: o for o in objs if o.get("key") and o["key"] in o.get("attrs", {})}
    seen = set()
    for link in facts.get("links", []):
        src, ref, tgt = link.get("from"), link.get("ref"), link.get("to")
        if (src, ref, tgt) in seen:
            problems.append(f"duplicate link {src} -{ref}-> {tgt}")
        seen.add((src, ref, tgt))
        if src not in by_key or tgt not in by_key:
            problems.append(f"link {src} -{ref}-> {tgt}: endpoint is not a key of an object")
            continue
        f = mm.classes[by_key[src]["class"]].features.get(ref)
        if f is None or not f.is_ref:
            problems.append(f"link {src} -{ref}-> {tgt}: {by_key[src]['class']} has no reference '{ref}'")
        elif not mm.is_a(by_key[tgt]["class"], f.type_name):
            problems.append(f"link {src} -{ref}-> {tgt}: {ref} takes a {f.type_name}, not a {by_key[tgt]['class']}")
    return problems


def build_model(case: dict[str, Any], mm: Metamodel) -> tuple[InstanceModel, list[str]]:
    problems: list[str] = []
    objs = case["facts"]["objects"]
    ids: list[str] = []
    key_to_id: dict[str, str] = {}
    for i, o in enumerate(objs):
        oid = str(o["attrs"][o["key"]]) if o.get("key") else f"_{o['class']}{i + 1}"
        ids.append(oid)
        key_to_id[oid] = oid
    out = [{"id": oid, "class": o["class"], "attrs": dict(o.get("attrs", {})), "refs": {}} for oid, o in zip(ids, objs)]
    by_id = {d["id"]: d for d in out}

    def add(src: str, ref: str, tgt: str) -> None:
        d = by_id.get(src)
        if d is None or tgt not in by_id:
            problems.append(f"cannot build link {src} -{ref}-> {tgt}")
            return
        f = mm.classes[d["class"]].features.get(ref)
        if f is not None and f.many:
            d["refs"].setdefault(ref, []).append(tgt)
        else:
            d["refs"][ref] = tgt

    for link in case["facts"].get("links", []):
        add(str(link["from"]), link["ref"], str(link["to"]))
    for oid, o in zip(ids, objs):
        via = o.get("via") or {}
        if via.get("container"):
            add(str(via["container"]["from"]), via["container"]["ref"], oid)
        for ref, tgt in (via.get("refs") or {}).items():
            for t in tgt if isinstance(tgt, list) else [tgt]:
                add(oid, ref, str(t))
    # unkeyed root: put the uncontained objects into it
    root = out[0]
    if objs and not objs[0].get("key"):
        contained = {t for d in out for r, v in d["refs"].items()
                     if mm.classes[d["class"]].features.get(r) is not None and mm.classes[d["class"]].features[r].containment
                     for t in (v if isinstance(v, list) else [v])}
        for d in out[1:]:
            if d["id"] in contained:
                continue
            feats = [f for f in mm.classes[root["class"]].features.values()
                     if f.containment and f.settable and mm.is_a(d["class"], f.type_name)]
            if len(feats) != 1:
                problems.append(f"cannot place '{d['id']}' in the unkeyed root {root['class']}")
                continue
            add(root["id"], feats[0].name, d["id"])
    return InstanceModel.model_validate({"objects": out}), problems


def _range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"want MIN-MAX, e.g. 4-12, not {text!r}") from None
    if not 0 < lo <= hi:
        raise argparse.ArgumentTypeError(f"want 0 < MIN <= MAX, not {text!r}")
    return lo, hi


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Check the xmi eval cases.")
    ap.add_argument("cases", nargs="?", type=Path, default=CASES, help="cases file (default: evals/xmi/cases.jsonl)")
    ap.add_argument("--objects", type=_range, default=(4, 12), metavar="MIN-MAX",
                    help="objects each case must have (default: 4-12)")
    args = ap.parse_args(argv)
    path: Path = args.cases
    metamodels = shared_dir() / "examples" / "metamodels"
    loaded: dict[str, Metamodel] = {}
    failed = 0
    per_mm: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    for n, line in enumerate(lines, 1):
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"line {n}: not JSON: {exc}")
            failed += 1
            continue
        cid = case.get("id", f"line {n}")
        problems: list[str] = []
        missing = [k for k in ("id", "metamodel", "spec", "facts") if not case.get(k)]
        if missing:
            print(f"{cid}: missing {', '.join(missing)}")
            failed += 1
            continue
        ids[cid] += 1
        name = case["metamodel"]
        if not (metamodels / name).is_file():
            print(f"{cid}: no metamodel {name} in {metamodels}")
            failed += 1
            continue
        per_mm[name] += 1
        mm = loaded.setdefault(name, Metamodel(metamodels / name))
        problems += check_facts(case, mm, args.objects)
        if not problems:
            model, build_problems = build_model(case, mm)
            problems += build_problems
            diags = check_model(model, mm)
            problems += [f"checker: [{d.code}] {d.message}" for d in diags if d.severity == "error"]
            warnings = [d for d in diags if d.severity != "error"]
        else:
            warnings = []
        n_obj, n_link = len(case["facts"]["objects"]), len(case["facts"].get("links", []))
        status = "FAIL" if problems else "ok"
        note = f" ({len(warnings)} warnings)" if warnings else ""
        print(f"{status:<4} {cid:<20} {name:<22} {n_obj:>2} objects {n_link:>2} links{note}")
        for p in problems:
            print(f"     - {p}")
        failed += bool(problems)
    for cid, k in ids.items():
        if k > 1:
            print(f"duplicate case id {cid}")
            failed += 1
    print(f"\n{len(lines)} cases over {len(per_mm)} metamodels: " + ", ".join(f"{m} {k}" for m, k in sorted(per_mm.items())))
    want_mm = min(6, len(lines))
    if len(per_mm) < want_mm:
        print(f"fewer than {want_mm} metamodels")
        failed += 1
    print("all cases pass" if not failed else f"{failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
