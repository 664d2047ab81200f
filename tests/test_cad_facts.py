"""cad stated facts: extraction from descriptions (pint units, spans, roles, axes), each fact rule
firing and not firing on measured geometry, triangle and trapezoid sketches, the optional envelope."""
from __future__ import annotations

import json

import pytest

from conceptwright.compilers.cad.parse import parse_part
from conceptwright.core import rules
from conceptwright.prompts.profiles import profile_for
from conceptwright.targets.cad import ConceptualJob
from conceptwright.tools.cad.fact_check import (
    FACT_RULES, FactContext, FeatureSizes, Geometry, check_axes, check_centred, check_facts, check_fillets, check_holes,
    check_placement, check_sizes, check_thickness,
)
from conceptwright.tools.cad.facts import apply_labels, convert, extract, label_schema
from conceptwright.tools.cad.runner import CadRunner, ShapeStats

FLANGE = "A flange plate 120 x 80 x 10 mm with four 8 mm holes 10 mm from each corner and a 30 mm bore in the centre."


def by_role(spec: str, role: str) -> list:
    return [f for f in extract(spec) if f.role == role]


# --- extraction -----------------------------------------------------------------------------

def test_flange_facts_values_spans_roles_and_counts():
    facts = extract(FLANGE)
    size, holes, inset, bore = facts
    assert (size.role, size.values, size.refers_to) == ("size", [120, 80, 10], "plate")
    assert FLANGE[size.span[0]:size.span[1]] == "120 x 80 x 10 mm"
    assert (holes.role, holes.kind, holes.values, holes.count, holes.text) == ("hole", "diameter", [8], 4, "8 mm holes")
    assert (inset.role, inset.values, inset.text) == ("placement", [10], "10 mm from each corner")
    assert (bore.role, bore.values, bore.count) == ("hole", [30], 1)


@pytest.mark.parametrize("spec, value", [
    ("a 2 cm cube", 20), ("a rod 1.5 in long", 38.1), ('a bar 2" long', 50.8), ("a tube 3 inches long", 76.2),
    ("a beam 0.5 m long", 500), ("a peg 12 millimetres long", 12),
])
def test_units_convert_to_millimetres_with_pint(spec, value):
    f = extract(spec)[0]
    assert f.values[0] == pytest.approx(value) and not f.unitless


def test_unitless_descriptions_keep_the_parts_units_and_convert_helper():
    f = extract("a box with a length of 0.59437 units and a width of 0.44577 units")[0]
    assert f.unitless and f.values == [0.59437] and f.lengths_in("in") == [0.59437]
    assert convert(25.4, "mm", "in") == pytest.approx(1.0) and convert(1, "cm", "mm") == pytest.approx(10)
    assert [f.values for f in extract("Write CADQuery code for a 3D model, 25% lighter, M8")] == []  # no dimension


@pytest.mark.parametrize("spec, count, diameter", [
    ("six 10 mm bolt holes", 6, 10), ("a plate with 4 x 6 mm holes", 4, 6), ("an 8 mm hole through its axis", 1, 8),
    ("two 5 mm through holes", 2, 5), ("twelve 3 mm mounting holes", 12, 3), ("holes of radius 2 mm", None, 4),
])
def test_hole_counts_as_words_or_digits_and_radius_as_diameter(spec, count, diameter):
    (h,) = by_role(spec, "hole")
    assert (h.count, h.values[0]) == (count, pytest.approx(diameter))


def test_phrasings_of_kinds_roles_and_dimensions():
    facts = extract("A round disc 100 mm in diameter and 12 mm thick, its edges rounded with a 2 mm fillet, "
                    "six holes on a 75 mm bolt circle, a boss 30 mm tall.")
    got = [(f.kind, f.role, f.values[0]) for f in facts if f.values]
    assert got == [("diameter", "size", 100), ("thickness", "thickness", 12), ("radius", "fillet", 2),
                   ("diameter", "bolt-circle", 75), ("length", "size", 30)]
    assert facts[-1].dimension == "height" and facts[0].refers_to == "disc"
    (wall,) = extract("an open box with 2 mm thick walls")
    assert (wall.role, wall.refers_to) == ("thickness", "walls")
    (cube,) = extract("a 20 mm cube")
    assert cube.values == [20, 20, 20]


def test_orientation_words_become_axes():
    facts = extract("Sketch a square 0.2 by 0.2 units in the X-Z plane and extrude it 0.75 units along the Y-axis.")
    assert [f.axes for f in facts] == [["X", "Z"], ["Y"]]
    (o,) = by_role("A hollow cylinder 40 mm long, oriented horizontally.", "orientation")
    assert (o.axes, o.refers_to) == (["X", "Y"], "cylinder")
    (v,) = by_role("A shaft standing along the Z axis, 30 mm long.", "orientation")
    assert v.axes == ["Z"] and v.refers_to == "shaft"
    (flat,) = by_role("A plate 100 x 50 x 5 mm lying flat.", "orientation")
    assert (flat.kind, flat.axes) == ("thickness", ["Z"])
    assert not by_role("A box with its vertical edges rounded 5 mm.", "orientation")  # edges, not the part


def test_constrained_labels_choose_roles_and_never_values():
    facts = extract("a plate 100 x 50 x 5 mm with a 3 mm step")
    schema = label_schema(facts)
    assert schema["properties"]["roles"]["minItems"] == len(facts) and "value" not in json.dumps(schema)
    relabelled = apply_labels(facts, ["size", "placement"])
    assert [f.role for f in relabelled] == ["size", "placement"] and relabelled[1].values == facts[1].values
    assert apply_labels(facts, ["size"]) == facts and apply_labels(facts, ["size", "nonsense"]) == facts


def test_optional_llm_labeller_only_chooses_roles():
    from conceptwright.targets.cad import CadTarget, label_facts
    from .scripted import ScriptedLLM

    spec = "a plate 100 x 50 x 5 mm with a 3 mm step"
    llm = ScriptedLLM(['{"roles": ["size", "placement"]}', "not json"])
    facts = label_facts(spec, extract(spec), llm)
    assert [f.role for f in facts] == ["size", "placement"] and llm.calls[0]["schema"] == label_schema(extract(spec))
    assert label_facts(spec, extract(spec), llm) == extract(spec)  # a broken answer keeps the deterministic roles
    job = CadTarget().prepare(spec, strategy="conceptual", profile=profile_for("qwen"), runner=object(),
                              fact_labeller=ScriptedLLM(['{"roles": ["size", "placement"]}']))
    assert [f.role for f in job.facts] == ["size", "placement"]


# --- the rules on measured geometry (no CAD worker: stats as the probe reports them) --------

def plate_stats(length=120.0, width=80.0, thick=10.0, holes=None, fillet=None, at=(0.0, 0.0, 0.0)) -> ShapeStats:
    x0, y0, z0 = at[0] - length / 2, at[1] - width / 2, at[2]
    holes = holes if holes is not None else [(x, y, 8.0) for x in (-50, 50) for y in (-30, 30)] + [(0, 0, 30.0)]
    return ShapeStats(
        n_solids=1, valid=True, volume=length * width * thick, bbox=[x0, y0, z0, x0 + length, y0 + width, z0 + thick],
        holes=[{"diameter": d, "axis": [0.0, 0.0, 1.0], "point": [x + at[0], y + at[1], 0.0]} for x, y, d in holes],
        measures={"planes": {"X": [x0, x0 + length], "Y": [y0, y0 + width], "Z": [z0, z0 + thick]},
                  "edges": [{"length": length, "axis": "X"}, {"length": width, "axis": "Y"}, {"length": thick, "axis": "Z"}],
                  "circles": [{"radius": d / 2, "axis": "Z", "centre": [x, y, 0.0]} for x, y, d in holes]
                  + ([{"radius": fillet, "axis": "Z", "centre": [0, 0, 0]}] if fillet else []),
                  "cylinders": [{"radius": d / 2, "axis": "Z"} for _, _, d in holes]
                  + ([{"radius": fillet, "axis": "Z"}] if fillet else [])})


def ctx(spec: str, features: list[FeatureSizes] | None = None) -> FactContext:
    return FactContext(spec=spec, facts=extract(spec), features=features or [])


def test_true_flange_carries_every_fact():
    assert check_facts(plate_stats(), ctx(FLANGE)) == []


def test_fact_sizes_fires_names_the_words_and_the_feature():
    features = [FeatureSizes(id="plate", op="extrude", values=[60, 80, 10]), FeatureSizes(id="bore", op="hole", values=[30])]
    (d,) = check_sizes(Geometry(plate_stats(length=60)), ctx(FLANGE, features))
    assert d.code == "fact-not-carried" and d.obj == "plate" and d.message.startswith('"120 x 80 x 10 mm" — measured')
    assert check_sizes(Geometry(plate_stats()), ctx(FLANGE, features)) == []


def test_fact_sizes_along_a_named_axis():
    spec = "a bar 120 mm long along the X axis"
    assert check_sizes(Geometry(plate_stats()), ctx(spec)) == []
    (d,) = check_sizes(Geometry(plate_stats(length=80, width=120)), ctx(spec))
    assert "along X" in d.message


def test_fact_holes_counts_diameters_and_centre():
    features = [FeatureSizes(id="corner_holes", op="hole", values=[8]), FeatureSizes(id="bore", op="hole", values=[30])]
    two = plate_stats(holes=[(-50, -30, 8.0), (50, 30, 8.0), (0, 0, 30.0)])
    (d,) = check_holes(Geometry(two), ctx(FLANGE, features))
    assert d.message == '"8 mm holes" (4 stated) — measured 2 hole(s) of 8; feature corner_holes' and d.obj == "corner_holes"
    off_centre = plate_stats(holes=[(x, y, 8.0) for x in (-50, 50) for y in (-30, 30)] + [(20, 0, 30.0)])
    (c,) = check_holes(Geometry(off_centre), ctx(FLANGE, features))
    assert "centre line" in c.message and c.obj == "bore"
    assert check_holes(Geometry(plate_stats()), ctx(FLANGE, features)) == []


def test_fact_placement_corner_inset_and_bolt_circle():
    moved = plate_stats(holes=[(x, y, 8.0) for x in (-40, 40) for y in (-30, 30)] + [(0, 0, 30.0)])
    (d,) = check_placement(Geometry(moved), ctx(FLANGE))
    assert d.message.startswith('"10 mm from each corner"') and "4 of 4" in d.message
    assert check_placement(Geometry(plate_stats()), ctx(FLANGE)) == []
    spec = "a disc 100 mm in diameter with six 10 mm holes on a 75 mm bolt circle"
    import math
    ring = [(37.5 * math.cos(a * math.pi / 3), 37.5 * math.sin(a * math.pi / 3), 10.0) for a in range(6)]
    assert check_placement(Geometry(plate_stats(100, 100, 12, holes=ring)), ctx(spec)) == []
    wide = [(1.2 * x, 1.2 * y, d) for x, y, d in ring]
    (b,) = check_placement(Geometry(plate_stats(100, 100, 12, holes=wide)), ctx(spec))
    assert "bolt circle" in b.message and "90" in b.message


def test_fact_thickness_is_the_thinnest_extent_of_a_plate():
    spec = "a plate 120 x 80 mm, 10 mm thick"
    assert check_thickness(Geometry(plate_stats()), ctx(spec)) == []
    (d,) = check_thickness(Geometry(plate_stats(thick=12)), ctx(spec))
    assert "thinnest extent is 12" in d.message


def test_fact_axes_horizontal_cylinder_and_lying_flat():
    spec = "a hollow cylinder 120 mm long, oriented horizontally"
    lying = plate_stats(120, 20, 20, holes=[])
    lying.measures["cylinders"] = [{"radius": 10.0, "axis": "X"}]
    assert check_axes(Geometry(lying), ctx(spec)) == []
    standing = plate_stats(20, 20, 120, holes=[])
    standing.measures["cylinders"] = [{"radius": 10.0, "axis": "Z"}]
    (d,) = check_axes(Geometry(standing), ctx(spec))
    assert "axis is along Z" in d.message
    flat = "a plate 120 x 80 x 10 mm lying flat"
    assert check_axes(Geometry(plate_stats()), ctx(flat)) == []
    assert check_axes(Geometry(plate_stats(120, 10, 80, holes=[])), ctx(flat))[0].message.startswith('"lying flat"')


def test_fact_centred_part_and_base():
    spec = "a box 120 x 80 x 10 mm, centred at the origin"
    centred = plate_stats(holes=[], at=(0, 0, -5))
    assert check_centred(Geometry(centred), ctx(spec)) == []
    (d,) = check_centred(Geometry(plate_stats(holes=[], at=(30, 0, -5))), ctx(spec))
    assert "off along X" in d.message
    base = "a box 120 x 80 x 10 mm; translate it so that its base is centered at the origin"
    assert check_centred(Geometry(plate_stats(holes=[])), ctx(base)) == []
    assert check_centred(Geometry(centred), ctx(base))


def test_fact_fillets():
    spec = "a plate 120 x 80 x 10 mm with its vertical edges rounded with a fillet radius of 5 mm"
    assert check_fillets(Geometry(plate_stats(holes=[], fillet=5.0)), ctx(spec)) == []
    (d,) = check_fillets(Geometry(plate_stats(holes=[], fillet=8.0)), ctx(spec))
    assert "radius 5" in d.message


def test_each_fact_rule_is_registered_and_switchable():
    assert set(FACT_RULES) <= set(rules.REGISTRY) and "cad.stated-envelope" in rules.REGISTRY
    two = plate_stats(holes=[(-50, -30, 8.0), (0, 0, 30.0)])
    with rules.collect() as fired:
        assert check_facts(two, ctx(FLANGE))
    assert "cad.fact-holes" in fired
    with rules.disabled(["cad.fact-holes", "cad.fact-placement"]):
        assert check_facts(two, ctx(FLANGE)) == []


# --- triangle and trapezoid sketches, the optional envelope (CAD worker) --------------------

@pytest.fixture(scope="module")
def runner():
    r = CadRunner()
    yield r
    r.close()


def evaluate(runner, data: dict, spec: str):
    return ConceptualJob(spec, profile_for("qwen"), runner=runner, pictures=False).evaluate(json.dumps(data))


@pytest.mark.parametrize("sketch, size", [
    ({"on": "XY", "shape": "triangle", "base": 60, "height": 30}, (60, 30, 5)),
    ({"on": "XY", "shape": "triangle", "base": 60, "height": 30, "apex": "left"}, (60, 30, 5)),
    ({"on": "XZ", "shape": "triangle", "base": 40, "height": 25, "apex": "right"}, (40, 5, 25)),
    ({"on": "XY", "shape": "trapezoid", "bottom": 80, "top": 40, "height": 30}, (80, 30, 5)),
    ({"on": "YZ", "shape": "trapezoid", "bottom": 50, "top": 20, "height": 30, "align": "left"}, (5, 50, 30)),
])
def test_triangle_and_trapezoid_compile_to_valid_solids_of_the_right_size(runner, sketch, size):
    data = {"name": "outline", "features": [{"id": "prism", "op": "extrude", "sketch": sketch, "distance": 5}]}
    out = evaluate(runner, data, "a prism")
    assert out.ok, out.diagnostics
    assert out.facts["solids"] == 1 and out.facts["size"] == pytest.approx(list(size))


def test_triangle_volume_and_parameters_are_named(runner):
    data = {"name": "wedge", "parameters": [{"name": "b", "value": 60}],
            "features": [{"id": "wedge", "op": "extrude", "distance": 10,
                          "sketch": {"shape": "triangle", "base": "b", "height": 30, "apex": "left"}}]}
    out = evaluate(runner, data, "a right triangle 60 mm by 30 mm, 10 mm thick")
    assert out.ok, out.diagnostics
    assert out.facts["volume"] == pytest.approx(60 * 30 / 2 * 10) and "wedge_height = 30" in out.artefacts["code"]
    bad = json.loads(json.dumps(data))
    bad["features"][0]["sketch"]["top"] = 5
    part, diags, _ = parse_part(bad)
    assert part is None and diags


def test_envelope_is_optional_and_a_wrong_one_is_only_a_warning(runner):
    plate = {"name": "plate", "features": [{"id": "plate", "op": "box", "length": 120, "width": 80, "height": 10}]}
    out = evaluate(runner, plate, "a plate 120 x 80 x 10 mm")
    assert out.ok and not out.diagnostics
    wrong = plate | {"envelope": {"x": 100, "y": 80, "z": 10}}
    out = evaluate(runner, wrong, "a plate 120 x 80 x 10 mm")
    assert out.ok and [(d.code, d.severity) for d in out.diagnostics] == [("envelope-mismatch", "warning")]
    small = {"name": "plate", "features": [{"id": "plate", "op": "box", "length": 100, "width": 80, "height": 10}]}
    out = evaluate(runner, small, "a plate 120 x 80 x 10 mm")
    assert not out.ok and [d.obj for d in out.diagnostics if d.code == "fact-not-carried"] == ["plate"]


def test_inch_descriptions_are_checked_in_the_parts_units():
    spec = "a plate 4 in x 3 in, 0.5 in thick"
    inches = plate_stats(4.0, 3.0, 0.5, holes=[])
    assert check_facts(inches, FactContext(spec=spec, facts=extract(spec), units="in")) == []
    assert check_facts(plate_stats(101.6, 76.2, 12.7, holes=[]), FactContext(spec=spec, facts=extract(spec), units="mm")) == []
    (d,) = check_facts(plate_stats(4.0, 3.0, 0.5, holes=[]), FactContext(spec=spec, facts=extract(spec)[:1], units="mm"))
    assert d.message.startswith('"4 in x 3 in"')
