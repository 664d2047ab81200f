"""Fact-based scoring of a generated instance model against a case's expected facts."""
from __future__ import annotations

from typing import Any

from conceptwright.compilers.xmi.conceptual import InstanceModel
from conceptwright.compilers.xmi.metamodel import Metamodel


def norm(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(sorted(norm(v) for v in value))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{float(value):g}"
    text = str(value).strip()
    try:
        return f"{float(text):g}"
    except ValueError:
        pass
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":  # dates: compare the day
        return text[:10]
    return text.lower()


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else (1.0 if not n_gold else 0.0)
    r = tp / n_gold if n_gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(model: InstanceModel | None, facts: dict[str, Any], mm: Metamodel) -> dict[str, int]:
    """Counts for attribute and link precision/recall: tp, predicted, gold."""
    gold_objs = facts.get("objects", [])
    keys = {o["class"]: o.get("key") for o in gold_objs}
    attr_names = {}
    for o in gold_objs:
        attr_names.setdefault(o["class"], set()).update(o.get("attrs", {}))
    gold_attrs = {(o["class"], norm(o["attrs"].get(o.get("key"), "")) if o.get("key") else "", a, norm(v))
                  for o in gold_objs for a, v in o.get("attrs", {}).items()}
    gold_links = {(norm(l["from"]), l["ref"], norm(l["to"])) for l in facts.get("links", [])}
    link_refs = {l["ref"] for l in facts.get("links", [])}
    out = {"attr_tp": 0, "attr_pred": 0, "attr_gold": len(gold_attrs), "link_tp": 0, "link_pred": 0, "link_gold": len(gold_links)}
    if model is None:
        return out
    by_id = model.by_id()

    def key_of(oid: str) -> str | None:
        o = by_id.get(oid)
        if o is None:
            return None
        k = keys.get(o.cls)
        if k is None:  # class not in the facts: try any keyed class it inherits from
            return None
        return norm(o.attrs.get(k, ""))

    pred_attrs = set()
    for o in model.objects:
        if o.cls not in attr_names:
            continue
        k = keys.get(o.cls)
        kv = norm(o.attrs.get(k, "")) if k else ""
        for a in attr_names[o.cls]:
            if a in o.attrs:
                pred_attrs.add((o.cls, kv, a, norm(o.attrs[a])))
    pred_links = set()
    for o in model.objects:
        info = mm.classes.get(o.cls)
        for ref in o.refs:
            f = info.features.get(ref) if info else None
            for tid in o.ref_ids(ref):
                src, tgt = key_of(o.id), key_of(tid)
                if src is None or tgt is None:
                    continue
                if ref in link_refs:
                    pred_links.add((src, ref, tgt))
                if f is not None and f.opposite and f.opposite in link_refs:
                    pred_links.add((tgt, f.opposite, src))  # the same link stated from the other side
    out["attr_tp"] = len(pred_attrs & gold_attrs)
    out["attr_pred"] = len(pred_attrs)
    out["link_tp"] = len(pred_links & gold_links)
    out["link_pred"] = len(pred_links)
    return out
