"""Fact-based scoring of a generated instance model against a case's expected facts."""
from __future__ import annotations

from typing import Any

from conceptwright.compilers.xmi.model import InstanceModel
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


def _canonical(mm: Metamodel, cls: str, src: str, ref: str, tgt: str, tgt_cls: str) -> tuple[str, str, str, str]:
    """One direction per link: a link and its eOpposite twin map to the same tuple."""
    info = mm.classes.get(cls)
    f = info.features.get(ref) if info else None
    here = (cls, src, ref, tgt)
    if f is None or not f.opposite or f.containment or f.container:
        return here
    there = (tgt_cls, tgt, f.opposite, src)
    return min(here, there, key=lambda t: (t[2], t[0], t[1], t[3]))


def score(model: InstanceModel | None, facts: dict[str, Any], mm: Metamodel) -> dict[str, int]:
    """Counts for attribute and link precision/recall (tp, predicted, gold) and object recall
    (keyed objects of the facts that the model has, by class and key value)."""
    gold_objs = facts.get("objects", [])
    keys = {o["class"]: o.get("key") for o in gold_objs}
    cls_of_key = {norm(o["attrs"][o["key"]]): o["class"] for o in gold_objs if o.get("key") and o["key"] in o.get("attrs", {})}
    attr_names: dict[str, set[str]] = {}
    for o in gold_objs:
        attr_names.setdefault(o["class"], set()).update(o.get("attrs", {}))
    gold_attrs = {(o["class"], norm(o["attrs"].get(o.get("key"), "")) if o.get("key") else "", a, norm(v))
                  for o in gold_objs for a, v in o.get("attrs", {}).items()}
    gold_links = set()
    for link in facts.get("links", []):
        src, tgt = norm(link["from"]), norm(link["to"])
        gold_links.add(_canonical(mm, cls_of_key.get(src, ""), src, link["ref"], tgt, cls_of_key.get(tgt, "")))
    link_kinds = {(c, r) for c, _, r, _ in gold_links}
    gold_keys = {(o["class"], norm(o["attrs"][o["key"]])) for o in gold_objs if o.get("key") and o["key"] in o.get("attrs", {})}
    out = {"attr_tp": 0, "attr_pred": 0, "attr_gold": len(gold_attrs), "link_tp": 0, "link_pred": 0, "link_gold": len(gold_links),
           "obj_tp": 0, "obj_gold": len(gold_keys)}
    if model is None:
        return out
    by_id = model.by_id()

    def key_of(oid: str) -> str | None:
        o = by_id.get(oid)
        k = keys.get(o.cls) if o is not None else None
        return norm(o.attrs.get(k, "")) if k else None

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
        for ref in o.refs:
            for tid in o.ref_ids(ref):
                src, tgt = key_of(o.id), key_of(tid)
                if src is None or tgt is None:
                    continue
                link = _canonical(mm, o.cls, src, ref, tgt, by_id[tid].cls)
                if (link[0], link[2]) in link_kinds:
                    pred_links.add(link)
    pred_keys = {(o.cls, norm(o.attrs[keys[o.cls]])) for o in model.objects if keys.get(o.cls) and keys[o.cls] in o.attrs}
    out["obj_tp"] = len(pred_keys & gold_keys)  # object recall: keyed objects of the description written with their key
    out["attr_tp"] = len(pred_attrs & gold_attrs)
    out["attr_pred"] = len(pred_attrs)
    out["link_tp"] = len(pred_links & gold_links)
    out["link_pred"] = len(pred_links)
    return out
