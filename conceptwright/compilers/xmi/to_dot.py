"""Second compiler from the same conceptual model: a UML-style object diagram as
Graphviz DOT (rendered to SVG/PNG by ``tools/render.py``). It shows the conceptual model is format independent."""
from __future__ import annotations

import graphviz

from .model import InstanceModel
from .metamodel import Metamodel
from .values import as_list


def _esc(text: str) -> str:
    return "".join("\\" + ch if ch in '{}|<>"' else ch for ch in text)


def to_dot(model: InstanceModel, mm: Metamodel) -> str:
    """DOT source: one record node per object (id : Class, attribute values); solid
    diamond-tailed edges for containment, plain arrows for other references."""
    g = graphviz.Digraph("model", graph_attr={"rankdir": "TB", "fontname": "Helvetica"},
                         node_attr={"shape": "record", "fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    ids = {o.id for o in model.objects}
    for o in model.objects:
        attrs = "\\l".join(f"{_esc(k)} = {_esc(', '.join(str(v) for v in as_list(val)))}" for k, val in o.attrs.items())
        label = "{" + f"{_esc(o.id)} : {_esc(o.cls)}" + ("|" + attrs + "\\l" if attrs else "") + "}"
        g.node(o.id, label=label)
    for o in model.objects:
        info = mm.classes.get(o.cls)
        for name in o.refs:
            f = info.features.get(name) if info else None
            for tid in o.ref_ids(name):
                if tid not in ids:
                    continue
                if f is not None and f.containment:
                    g.edge(o.id, tid, label=name, arrowtail="diamond", dir="both", arrowhead="none")
                else:
                    g.edge(o.id, tid, label=name, style="dashed" if f is None else "solid")
    return g.source
