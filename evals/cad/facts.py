"""``python -m evals cad-facts``: the stated-facts checker against the older description rules,
replayed on ground truth with no LLM. Each case's ground-truth CadQuery code (dev set and own
cases; never a held-out file) runs in the sandboxed CAD worker; on the true solid a check that
fires is a false alarm. Then seeded wrong variants of it are checked, and a check that fires
has caught the error (a diagnostic about a fact already reported on the ground truth does not count):

- scale: one dimension literal of the ground-truth code times 1.25 (one variant per literal, at most 6 a case)
- drop-hole: one hole of the true solid filled (cases with holes)
- swap-axis: the solid turned 90 degrees so its longest and thinnest extents swap

Writes evals/reports/cad-facts.md (or --out)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from conceptwright.core.diagnostics import Diagnostic
from conceptwright.evaluation.cad import load_cases
from conceptwright.tools.cad import validate
from conceptwright.tools.cad.fact_check import FactContext, check_facts
from conceptwright.tools.cad.facts import extract
from conceptwright.tools.cad.runner import CadJob, CadRunner, CodeBlock, ShapeStats

from ..common import REPORTS, table, write_report

SCALE = 1.25
MAX_SCALED = 6
_FLOAT = re.compile(r"(?<![\w.])(\d+\.\d+|\.\d+)(?![\w.])")
_SHAPE = """
import cadquery as cq
_obj = globals().get("result", globals().get("part"))
_solids = [s for v in (_obj.vals() if isinstance(_obj, cq.Workplane) else [_obj]) for s in v.Solids()]
_shape = _solids[0] if len(_solids) == 1 else cq.Compound.makeCompound(_solids)
"""
_FILL = _SHAPE + """
_bb = _shape.BoundingBox()
_box = cq.Solid.makeBox(_bb.xlen, _bb.ylen, _bb.zlen, cq.Vector(_bb.xmin, _bb.ymin, _bb.zmin))
_d = cq.Vector(*{axis})
_len = 4 * _bb.DiagonalLength
_plug = cq.Solid.makeCylinder({radius}, _len, cq.Vector(*{point}) - _d * (_len / 2), _d).intersect(_box)
result = cq.Workplane("XY").add(_shape.fuse(_plug).clean())
"""
_TURN = _SHAPE + """
result = cq.Workplane("XY").add(_shape.rotate(cq.Vector(0, 0, 0), cq.Vector(*{axis}), 90))
"""


def _measure(runner: CadRunner, blocks: list[CodeBlock]) -> ShapeStats | None:
    report = runner.run(CadJob(blocks=blocks, result_names=["result", "part"], exports=[], verify=False, timeout_s=120))
    return report.final if report.error is None and report.final is not None and report.final.bbox else None


def old_rules(spec: str, stats: ShapeStats) -> list[Diagnostic]:
    """Today's description rules (cad.description-sizes, cad.hole-count on the description's holes)."""
    exp = validate.from_description(spec)
    assert stats.size is not None
    return validate._description(stats.size, exp) + validate._holes(stats, exp)


def fact_rules(spec: str, stats: ShapeStats) -> list[Diagnostic]:
    return check_facts(stats, FactContext(spec=spec, facts=extract(spec)))


def _errors(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity == "error"]


def _key(message: str) -> str:
    """What a diagnostic is about: the fact's quoted words (facts), else the whole message (old rules)."""
    m = re.match(r'"([^"]*)"', message)
    return m.group(1) if m else message.split(":")[0]


def _new(messages: list[str], on_truth: list[str]) -> list[str]:
    """The messages about something that was not already reported on the ground truth."""
    seen = {_key(m) for m in on_truth}
    return [m for m in messages if _key(m) not in seen]


def variants(case: dict[str, Any], truth: ShapeStats) -> Iterator[tuple[str, str, list[CodeBlock]]]:
    """(kind, what, code blocks) of each seeded wrong variant of a case."""
    code = case["gt_code"]
    seen: list[str] = []
    for m in _FLOAT.finditer(code):
        lit = m.group(1)
        if lit in seen or float(lit) == 0:
            continue
        seen.append(lit)
        if len(seen) > MAX_SCALED:
            break
        changed = _FLOAT.sub(lambda x: repr(round(float(lit) * SCALE, 9)) if x.group(1) == lit else x.group(1), code)
        yield "scale", f"{lit} x {SCALE}", [CodeBlock(name="variant", code=changed)]
    if truth.holes:
        hole = min(truth.holes, key=lambda h: h["diameter"])
        fill = _FILL.format(axis=tuple(hole["axis"]), radius=hole["diameter"] / 2 * 1.001, point=tuple(hole["point"]))
        yield "drop-hole", f"one {hole['diameter']:.4g} hole filled", [CodeBlock(name="gt", code=code),
                                                                         CodeBlock(name="fill", code=fill)]
    size = truth.size
    assert size is not None
    longest, thinnest = max(range(3), key=lambda i: size[i]), min(range(3), key=lambda i: size[i])
    if size[longest] > size[thinnest] * 1.02:
        third = ({0, 1, 2} - {longest, thinnest}).pop()
        axis = tuple(1 if i == third else 0 for i in range(3))
        yield "swap-axis", f"turned 90 degrees about {'XYZ'[third]}", [CodeBlock(name="gt", code=code),
                                                                      CodeBlock(name="turn", code=_TURN.format(axis=axis))]


def replay(cases: list[dict[str, Any]], runner: CadRunner) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        spec = case["spec"]
        truth = _measure(runner, [CodeBlock(name="gt", code=case["gt_code"])])
        if truth is None:
            rows.append({"id": case["id"], "kind": "truth", "what": "ground truth did not build", "skip": True})
            continue
        facts = extract(spec)
        base = {"old": [d.message for d in _errors(old_rules(spec, truth))],
                "new": [d.message for d in _errors(fact_rules(spec, truth))]}
        rows.append({"id": case["id"], "kind": "truth", "what": f"{len(facts)} facts", "facts": len(facts)} | base)
        for kind, what, blocks in variants(case, truth):
            stats = _measure(runner, blocks)
            if stats is None:
                continue
            rows.append({"id": case["id"], "kind": kind, "what": what,
                         "old": _new([d.message for d in _errors(old_rules(spec, stats))], base["old"]),
                         "new": _new([d.message for d in _errors(fact_rules(spec, stats))], base["new"])})
    return rows


def _rate(rows: list[dict[str, Any]], key: str) -> str:
    hit = sum(1 for r in rows if r[key])
    return f"{hit}/{len(rows)} ({100 * hit / len(rows):.0f}%)" if rows else "-"


def report(rows: list[dict[str, Any]]) -> str:
    ok = [r for r in rows if not r.get("skip")]
    truth = [r for r in ok if r["kind"] == "truth"]
    summary = [["false alarms on ground truth (cases with an error)", _rate(truth, "old"), _rate(truth, "new")]]
    for kind in ("scale", "drop-hole", "swap-axis"):
        sub = [r for r in ok if r["kind"] == kind]
        summary.append([f"caught: {kind} variants", _rate(sub, "old"), _rate(sub, "new")])
    seeded = [r for r in ok if r["kind"] != "truth"]
    summary.append(["caught: all seeded variants", _rate(seeded, "old"), _rate(seeded, "new")])
    facts = sum(r.get("facts", 0) for r in truth)
    alarms = sum(len(r["new"]) for r in truth)
    parts = [
        "# cad: stated facts vs today's description rules (ground-truth replay, no LLM)",
        f"{len(truth)} cases (shared dev set + evals/cad/cases.jsonl; no held-out file). The ground-truth CadQuery code runs in "
        "the sandboxed CAD worker; the checks run on the measured solid. *Old*: `cad.description-sizes` and `cad.hole-count` "
        "on the description's holes (the rules before the facts). *Facts*: the `cad.fact-*` rules "
        f"(tools/cad/fact_check.py) on the facts extracted by tools/cad/facts.py ({facts} facts in all, {alarms} of them "
        "reported not carried on ground truth). A variant counts as caught only by a diagnostic about something not already "
        "reported on its ground truth. Seeded variants: a float literal of the code times "
        f"{SCALE} (at most {MAX_SCALED} a case), one hole filled, the solid turned so its longest and thinnest extents swap.",
        table(["", "old rules", "facts"], summary),
        "## False alarms on ground truth",
        table(["case", "old", "facts"], [[r["id"], "; ".join(r["old"]) or "-", "; ".join(r["new"]) or "-"] for r in truth]),
        "## Seeded variants",
        table(["case", "variant", "old caught", "facts caught", "facts' first diagnostic"],
              [[r["id"], f"{r['kind']}: {r['what']}", "yes" if r["old"] else "no", "yes" if r["new"] else "no",
                (r["new"][0] if r["new"] else "-").replace("|", "/")] for r in seeded]),
    ]
    skipped = [r["id"] for r in rows if r.get("skip")]
    if skipped:
        parts.append("Ground truth that did not build (left out): " + ", ".join(skipped))
    return "\n\n".join(parts) + "\n"


def main(args: Any) -> int:
    cases = load_cases(None)
    if getattr(args, "only", None):
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    runner = CadRunner()
    try:
        rows = replay(cases, runner)
    finally:
        runner.close()
    write_report("cad-facts", "", report(rows), getattr(args, "out", None) or str(REPORTS / "cad-facts.md"))
    return 0
