"""Compiler, schema, summary, autofix and diagram for the xmi target on real metamodels."""
from __future__ import annotations

import json

import pytest
from pyecore.resources import URI

from conceptwright.agent.protocol import InputError
from conceptwright.compilers.xmi.fixes import autofix, materialize_children, prune_dangling
from conceptwright.compilers.xmi.model import InstanceModel, parse_model
from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.compilers.xmi.schema import instance_schema, summary
from conceptwright.compilers.xmi.to_dot import to_dot
from conceptwright.tools.render import render
from conceptwright.compilers.xmi.to_xmi import to_xmi
from conceptwright.tools.xmi.check import check_model, missing_objects
from conceptwright.tools.xmi.validate import validate_xmi


def load_back(mm: Metamodel, xmi: str, tmp_path):
    path = tmp_path / "m.xmi"
    path.write_text(xmi)
    res = mm.rset.get_resource(URI(str(path)))
    return res.contents


def test_extlibrary_dates_interfaces_feature_map_members(metamodels, tmp_path):
    mm = Metamodel(metamodels / "extlibrary.ecore")
    model = InstanceModel.model_validate({"objects": [
        {"id": "lib", "class": "Library", "attrs": {"name": "Main"}, "refs": {"writers": ["w"], "stock": ["b"], "borrowers": ["p"]}},
        {"id": "w", "class": "Writer", "attrs": {"firstName": "Frank", "lastName": "Herbert"}},
        {"id": "p", "class": "Borrower", "attrs": {"firstName": "Ann", "lastName": "Lee"}, "refs": {"borrowed": ["b"]}},
        {"id": "b", "class": "Book", "attrs": {"title": "Dune", "copies": 2, "category": "ScienceFiction", "publicationDate": "1965-08-01"},
         "refs": {"author": "w"}},
    ]})
    assert not [d for d in check_model(model, mm) if d.severity == "error"]
    xmi = to_xmi(model, mm)
    assert 'publicationDate="1965-08-01T00:00:00.000+0000"' in xmi  # EMF's EDate format
    assert 'xsi:type="extlib:Book"' in xmi  # stock is typed Item (abstract): xsi:type needed
    assert "<writers" in xmi and "<borrowers" in xmi  # feature-map group members saved as themselves
    _, diags = validate_xmi(xmi, mm)
    assert not diags
    root = load_back(mm, xmi, tmp_path)[0]
    book = root.stock[0]
    assert book.title == "Dune" and book.author.firstName == "Frank" and book.publicationDate.year == 1965
    assert book in root.borrowers[0].borrowed and book.borrowers[0].lastName == "Lee"  # eOpposite completed


def test_atl_zoo_two_package_petrinet(metamodels, tmp_path):
    mm = Metamodel(metamodels / "PetriNet.ecore")
    assert len(mm.top_packages) == 2 and mm.root_classes()[0] == "PetriNet"
    model = InstanceModel.model_validate({"objects": [
        {"id": "n", "class": "PetriNet", "attrs": {"name": "N", "location": "1"}, "refs": {"elements": ["p", "t", "q"], "arcs": ["a", "b"]}},
        {"id": "p", "class": "Place", "attrs": {"name": "P", "location": "2"}},
        {"id": "q", "class": "Place", "attrs": {"name": "Q", "location": "3"}},
        {"id": "t", "class": "Transition", "attrs": {"name": "T", "location": "4"}},
        {"id": "a", "class": "PlaceToTransition", "attrs": {"name": "a", "location": "5", "weight": 1}, "refs": {"from": "p", "to": "t"}},
        {"id": "b", "class": "TransitionToPlace", "attrs": {"name": "b", "location": "6", "weight": "2"}, "refs": {"from": "t", "to": "q"}},
    ]})
    assert not [d for d in check_model(model, mm) if d.severity == "error"]
    xmi = to_xmi(model, mm, metamodel_location="PetriNet.ecore")
    assert 'xsi:schemaLocation="PetriNet PetriNet.ecore#/1"' in xmi
    assert not validate_xmi(xmi, mm)[1]
    net = load_back(mm, xmi, tmp_path)[0]
    assert [e.name for e in net.elements] == ["P", "T", "Q"] and net.arcs[1].weight == 2
    assert net.elements[1].outgoingArc[0].name == "b" and net.elements[0].net is net  # opposites & container


def test_same_model_same_bytes(metamodels):
    mm = Metamodel(metamodels / "library.ecore")
    data = {"objects": [{"id": "l", "class": "Library", "attrs": {"name": "A"}, "refs": {"writers": ["w"]}},
                        {"id": "w", "class": "Writer", "attrs": {"name": "B"}}]}
    assert to_xmi(InstanceModel.model_validate(data), mm) == to_xmi(InstanceModel.model_validate(data), mm)


def test_schema_has_one_variant_per_concrete_class(metamodels):
    mm = Metamodel(metamodels / "extlibrary.ecore")
    schema = instance_schema(mm)
    variants = schema["properties"]["objects"]["items"]["anyOf"]
    consts = sorted(v["properties"]["class"]["const"] for v in variants)
    assert consts == sorted(n for n, c in mm.classes.items() if c.concrete)
    book = next(v for v in variants if v["properties"]["class"]["const"] == "Book")
    attrs = book["properties"]["attrs"]
    assert attrs["properties"]["category"]["enum"] == ["Mystery", "ScienceFiction", "Biography"]
    assert attrs["properties"]["pages"]["type"] == "integer" and "copies" in attrs["required"]
    assert book["properties"]["refs"]["required"] == ["author"]
    assert "not" not in json.dumps(schema)


def test_summary_is_compact_and_readable(metamodels):
    text = summary(Metamodel(metamodels / "library.ecore"))
    assert "class Library" in text and "<- root" in text and "books: Book[0..*] (contains)" in text
    assert "enum BookCategory: Mystery | ScienceFiction | Biography" in text and "<?xml" not in text


def test_autofix_moves_container_reference_to_parent(metamodels):
    mm = Metamodel(metamodels / "PetriNet.ecore")
    model = InstanceModel.model_validate({"objects": [
        {"id": "n", "class": "PetriNet", "attrs": {"name": "N", "location": "1"}},
        {"id": "p", "class": "Place", "attrs": {"name": "P", "location": "2"}, "refs": {"net": "n"}}]})
    fixed, fixes = autofix(model, mm)
    assert fixed.by_id()["n"].refs == {"elements": ["p"]} and "net" not in fixed.by_id()["p"].refs
    assert any("container reference" in f for f in fixes)


def test_autofix_leaves_ambiguous_containment_alone(metamodels):
    mm = Metamodel(metamodels / "library.ecore")
    model = InstanceModel.model_validate({"objects": [
        {"id": "a", "class": "Library"}, {"id": "b", "class": "Library"}, {"id": "w", "class": "Writer"}]})
    fixed, fixes = autofix(model, mm)
    assert fixes == [] and fixed == model  # two libraries could hold the writer: no guess


def test_parse_model_normalises_shapes():
    model, diags, fixes = parse_model([{"class": "Writer", "name": "Ann", "refs": {"books": None}}])
    assert not diags and model.objects[0].id == "obj1" and model.objects[0].attrs == {"name": "Ann"}
    assert len(fixes) == 3
    model, diags, _ = parse_model({"objects": [{"id": "x"}]})
    assert model is None and diags[0].code == "schema-error"
    keyed, _, fixes = parse_model({"w1": {"class": "Writer", "attrs": {"name": "Ann"}}, "w2": {"class": "Writer"}})
    assert [o.id for o in keyed.objects] == ["w1", "w2"] and "keyed by id" in fixes[0]
    one, diags, fixes = parse_model({"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}})  # one object, not keyed
    assert [o.id for o in one.objects] == ["w1"] and not any("keyed" in f for f in fixes)


def test_object_diagram_dot_and_svg(metamodels):
    mm = Metamodel(metamodels / "library.ecore")
    model = InstanceModel.model_validate({"objects": [
        {"id": "l", "class": "Library", "attrs": {"name": "A"}, "refs": {"writers": ["w"], "books": ["b"]}},
        {"id": "w", "class": "Writer", "attrs": {"name": "B"}},
        {"id": "b", "class": "Book", "attrs": {"title": "T"}, "refs": {"author": "w"}}]})
    dot = to_dot(model, mm)
    assert "l : Library" in dot and "arrowtail=diamond" in dot and "label=author" in dot
    svg = render(dot, "svg")
    assert svg.startswith(b"<?xml") and b"<svg" in svg and b"Library" in svg


@pytest.mark.parametrize("content, needle", [
    ("<not-xml", "cannot read metamodel"),
    ('<?xml version="1.0"?><root/>', "cannot read metamodel"),
])
def test_malformed_metamodel_is_a_clear_input_error(tmp_path, content, needle):
    path = tmp_path / "bad.ecore"
    path.write_text(content)
    with pytest.raises(InputError, match=needle):
        Metamodel(path)
    with pytest.raises(InputError, match="not found"):
        Metamodel(tmp_path / "missing.ecore")


NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<ecore:EPackage xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:ecore="http://www.eclipse.org/emf/2002/Ecore" name="plant" nsURI="http://example.org/plant" nsPrefix="plant">
  <eClassifiers xsi:type="ecore:EClass" name="Plant">
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="tags" upperBound="-1" eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EString"/>
    <eStructuralFeatures xsi:type="ecore:EReference" name="machines" upperBound="-1" eType="#//hw/Machine" containment="true"/>
    <eStructuralFeatures xsi:type="ecore:EReference" name="uses" upperBound="-1" eType="#//hw/Machine"/>
  </eClassifiers>
  <eSubpackages name="hw" nsURI="http://example.org/plant/hw" nsPrefix="hw">
    <eClassifiers xsi:type="ecore:EClass" name="Machine">
      <eStructuralFeatures xsi:type="ecore:EAttribute" name="code" lowerBound="1" iD="true" eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EString"/>
      <eStructuralFeatures xsi:type="ecore:EAttribute" name="power" eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//ELong"/>
    </eClassifiers>
  </eSubpackages>
</ecore:EPackage>
"""


def test_subpackages_id_attributes_and_many_valued_attributes(tmp_path):
    path = tmp_path / "plant.ecore"
    path.write_text(NESTED)
    mm = Metamodel(path)
    model = InstanceModel.model_validate({"objects": [
        {"id": "p", "class": "Plant", "attrs": {"tags": ["a", "b c"]}, "refs": {"machines": ["m1", "m2"], "uses": ["m2"]}},
        {"id": "m1", "class": "Machine", "attrs": {"code": "M-1", "power": 1500}},
        {"id": "m2", "class": "Machine", "attrs": {"code": "M-2"}}]})
    xmi = to_xmi(model, mm)
    assert 'uses="M-2"' in xmi and "<tags>b c</tags>" in xmi  # references through the ID attribute
    graph, diags = validate_xmi(xmi, mm)
    assert not diags and graph.by_id()["/"].attrs["tags"] == ["a", "b c"]
    assert graph.by_id()["/"].refs["uses"] == ["//@machines.1"]
    model.objects[2].attrs["code"] = "M-1"
    dup = [d for d in check_model(model, mm) if d.code == "duplicate-id"]
    assert dup and dup[0].obj == "m2" and dup[0].feature == "code"


def test_autofix_keeps_ids_of_objects_never_written_and_fixes_double_containment(metamodels):
    """A listed id nobody wrote is content the description asked for: not a certain fix to drop it."""
    mm = Metamodel(metamodels / "extlibrary.ecore")
    model = InstanceModel.model_validate({"objects": [
        {"id": "lib", "class": "Library", "refs": {"writers": ["w1"], "branches": ["br"], "stock": ["b"]}},
        {"id": "br", "class": "Library", "refs": {"writers": ["w1"]}},
        {"id": "w1", "class": "Writer", "attrs": {"firstName": "A", "lastName": "B"}},
        {"id": "b", "class": "Book", "attrs": {"copies": 1}, "refs": {"author": "w1", "borrowers": ["p9"]}}]})
    fixed, fixes = autofix(model, mm)
    by_id = fixed.by_id()
    assert by_id["b"].refs["borrowers"] == ["p9"] and by_id["br"].refs["writers"] == []
    assert not any("'p9'" in f for f in fixes) and any("already contained by lib" in f for f in fixes)
    assert [d.code for d in check_model(fixed, mm) if d.severity == "error"] == ["dangling-reference"]
    assert missing_objects(fixed, mm) == {"p9": ("b", "borrowers", ["Borrower"])}
    pruned: list[str] = []
    prune_dangling(fixed, mm, pruned)  # the last resort, and only that
    assert fixed.by_id()["b"].refs["borrowers"] == [] and "'p9'" in pruned[0]
    assert not [d for d in check_model(fixed, mm) if d.code == "reference-type"]
    # a single-valued reference to nothing is left for the LLM (and the checker) to see
    model = InstanceModel.model_validate({"objects": [
        {"id": "lib", "class": "Library", "refs": {"stock": ["b"], "writers": ["w"]}},
        {"id": "w", "class": "Writer", "attrs": {"firstName": "A", "lastName": "B"}},
        {"id": "b", "class": "Book", "attrs": {"copies": 1}, "refs": {"author": "nobody"}}]})
    fixed, _ = autofix(model, mm)
    assert [d.code for d in check_model(fixed, mm) if d.severity == "error"] == ["dangling-reference"]


def test_last_resort_creates_children_listed_but_never_written(metamodels):
    mm = Metamodel(metamodels / "statemachine.ecore")
    model = InstanceModel.model_validate({"objects": [
        {"id": "sm", "class": "StateMachine", "attrs": {"name": "Light"},
         "refs": {"currentState": "Red", "states": ["Red", "state2"], "inputs": ["press"]}}]})
    assert "Red" not in autofix(model, mm)[0].by_id()  # not a certain fix: the LLM is asked first
    fixed = model.model_copy(deep=True)
    fixes: list[str] = []
    materialize_children(fixed, mm, fixes)
    by_id = fixed.by_id()
    assert by_id["Red"].cls == "State" and by_id["Red"].attrs == {"name": "Red"}
    assert by_id["state2"].attrs == {} and by_id["press"].cls == "Input"  # 'state2' is an id, not a name
    assert sum("never wrote" in f for f in fixes) == 3
    assert not [d for d in check_model(fixed, mm) if d.code == "reference-type"]


def _petri(arcs: list[dict]) -> InstanceModel:
    return InstanceModel.model_validate({"objects": [
        {"id": "net", "class": "PetriNet", "attrs": {"name": "n", "location": "l"},
         "refs": {"elements": ["p", "t", "t2"], "arcs": [a["id"] for a in arcs]}},
        {"id": "p", "class": "Place", "attrs": {"name": "p", "location": "l"}},
        {"id": "t", "class": "Transition", "attrs": {"name": "t", "location": "l"}},
        {"id": "t2", "class": "Transition", "attrs": {"name": "t2", "location": "l"}}, *arcs]})


def test_class_from_references_fires_when_exactly_one_class_fits(metamodels):
    mm = Metamodel(metamodels / "PetriNet.ecore")
    arc = {"id": "a", "class": "PlaceToTransition", "attrs": {"weight": 1, "name": "a", "location": "l"},
           "refs": {"from": "t", "to": "p"}}
    fixed, fixes = autofix(_petri([arc]), mm)
    assert fixed.by_id()["a"].cls == "TransitionToPlace" and any("class 'PlaceToTransition' -> 'TransitionToPlace'" in f for f in fixes)
    assert not [d for d in check_model(fixed, mm) if d.code == "reference-type"]


def test_class_from_references_leaves_fitting_and_ambiguous_objects_alone(metamodels):
    mm = Metamodel(metamodels / "PetriNet.ecore")
    right = {"id": "a", "class": "PlaceToTransition", "attrs": {"weight": 1, "name": "a", "location": "l"}, "refs": {"from": "p", "to": "t"}}
    neither = {"id": "b", "class": "PlaceToTransition", "attrs": {"weight": 1, "name": "b", "location": "l"}, "refs": {"from": "t", "to": "t2"}}
    fixed, fixes = autofix(_petri([right, neither]), mm)
    assert fixed.by_id()["a"].cls == "PlaceToTransition" and fixed.by_id()["b"].cls == "PlaceToTransition"
    assert not any("what its references point to" in f for f in fixes)
