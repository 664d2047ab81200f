"""The corpus procedure (evals/corpus/procedure.py, the one `python -m evals corpus` runs over
hundreds of public metamodels) on the metamodels in ../shared/examples: each one is fully
supported (a synthesised instance compiles, validates and reads back) or has a documented
one-line reason, and the shipped instance reads, validates and round-trips. Plus the loader
fixes the corpus found, on small hand-written metamodels."""
from __future__ import annotations

import pytest

from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.core.errors import InputError
from evals.corpus.procedure import SUPPORTED, check_instance, check_metamodel
from evals.corpus.synth import synthesize

# metamodel file -> the substring of the one-line reason it is not fully supported (none today)
DOCUMENTED: dict[str, str] = {}


def _names(metamodels):
    return sorted(p.name for p in metamodels.glob("*.ecore"))


def test_every_shared_metamodel_is_fully_supported_or_documented(metamodels, tmp_path):
    names = _names(metamodels)
    assert len(names) >= 7
    for name in names:
        row = check_metamodel(metamodels / name, tmp_path / "out")
        assert row["outcome"] != "traceback", row.get("traceback")
        if name in DOCUMENTED:
            assert DOCUMENTED[name] in row["message"] and "\n" not in row["message"], row
        else:
            assert row["outcome"] == SUPPORTED, (name, row["message"])
            assert row["covered"] >= 1 and (tmp_path / "out" / (metamodels / name).with_suffix(".xmi").name).is_file()


def test_synthesised_instance_covers_the_reachable_classes(metamodels):
    mm = Metamodel(metamodels / "statemachine.ecore")
    model, problems, cover = synthesize(mm)
    assert problems == [] and model is not None
    assert cover["covered"] == cover["concrete"]  # every concrete class is reachable from the root there


def test_the_shipped_instance_validates_and_round_trips(shared, metamodels):
    mm = Metamodel(metamodels / "Families.ecore")
    row = check_instance(shared / "examples" / "instances" / "Family_model.xmi", mm)
    assert row["outcome"] == "valid", row
    assert row["round_trip"]["objects"] == row["objects"] and row["round_trip"]["links_after"] == row["round_trip"]["links_before"]


HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<ecore:EPackage xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ecore="http://www.eclipse.org/emf/2002/Ecore" '
        'name="p" nsURI="http://p" nsPrefix="p">\n')
STRING = 'eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EString"'


def _mm(tmp_path, body: str, name: str = "m.ecore") -> Metamodel:
    path = tmp_path / name
    path.write_text(HEAD + body + "</ecore:EPackage>\n")
    return Metamodel(path)


def test_generic_types_operations_and_ekeys_are_lowered_for_pyecore(tmp_path):
    """Found in EMF's own metamodels: features typed only through eGenericType, eGenericSuperTypes,
    eKeys (pyecore 0.15 refuses the file), an operation named print (pyecore compiles operations)."""
    mm = _mm(tmp_path, f'''
  <eClassifiers xsi:type="ecore:EClass" name="Base">
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="name" {STRING}/>
  </eClassifiers>
  <eClassifiers xsi:type="ecore:EClass" name="Root">
    <eGenericSuperTypes eClassifier="#//Base"/>
    <eOperations name="print"/>
    <eStructuralFeatures xsi:type="ecore:EReference" name="items" upperBound="-1" containment="true" eKeys="#//Base/name">
      <eGenericType eClassifier="#//Base"/>
    </eStructuralFeatures>
  </eClassifiers>
''')
    assert mm.is_a("Root", "Base")
    assert mm.classes["Root"].features["items"].type_name == "Base"
    assert check_metamodel(mm.path)["outcome"] == SUPPORTED


def test_features_pyecore_cannot_hold_are_left_out_with_a_warning(tmp_path):
    """UML's derived '/name' is no XML name; 'notify' would replace pyecore's own EObject.notify."""
    mm = _mm(tmp_path, f'''
  <eClassifiers xsi:type="ecore:EClass" name="Root">
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="/name" {STRING}/>
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="notify" eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EBoolean"/>
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="title" {STRING}/>
  </eClassifiers>
''')
    assert set(mm.classes["Root"].features) == {"title"}
    assert any("/name" in w for w in mm.warnings) and any("notify" in w for w in mm.warnings)
    assert check_metamodel(mm.path)["outcome"] == SUPPORTED


def test_ecore_itself_and_unknown_ecore_types_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="Ecore's own metamodel"):
        path = tmp_path / "Ecore.ecore"
        path.write_text(HEAD.replace('nsURI="http://p"', 'nsURI="http://www.eclipse.org/emf/2002/Ecore"')
                        + '<eClassifiers xsi:type="ecore:EClass" name="X"/></ecore:EPackage>')
        Metamodel(path)
    with pytest.raises(InputError, match="EResource, which pyecore does not know") as err:
        _mm(tmp_path, '''<eClassifiers xsi:type="ecore:EClass" name="Root">
    <eStructuralFeatures xsi:type="ecore:EReference" name="r" eType="ecore:EClass http://www.eclipse.org/emf/2002/Ecore#//EResource"/>
  </eClassifiers>''')
    assert "\n" not in str(err.value)


def test_values_of_datatypes_pyecore_types_strictly_compile(tmp_path):
    """EBigDecimal wants a Decimal, XMLType's IDREFS a list (which pyecore cannot read back), XMLType
    Integer has no Python type: each compiles, validates and reads back."""
    mm = _mm(tmp_path, '''
  <eClassifiers xsi:type="ecore:EClass" name="Root">
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="price" lowerBound="1" eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EBigDecimal"/>
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="refs" lowerBound="1" eType="ecore:EDataType http://www.eclipse.org/emf/2003/XMLType#//IDREFS"/>
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="count" lowerBound="1" eType="ecore:EDataType http://www.eclipse.org/emf/2003/XMLType#//Integer"/>
  </eClassifiers>
''')
    assert mm.classes["Root"].features["count"].kind == "int"
    assert check_metamodel(mm.path)["outcome"] == SUPPORTED


def test_classes_extending_ecore_classes_compile_with_index_paths(tmp_path):
    """ATL-zoo UML extends EModelElement: pyecore would write name paths (#//Name 3) for its objects."""
    mm = _mm(tmp_path, f'''
  <eClassifiers xsi:type="ecore:EClass" name="Model" eSuperTypes="http://www.eclipse.org/emf/2002/Ecore#//EModelElement">
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="name" {STRING}/>
    <eStructuralFeatures xsi:type="ecore:EReference" name="parts" upperBound="-1" eType="#//Part" containment="true"/>
    <eStructuralFeatures xsi:type="ecore:EReference" name="main" lowerBound="1" eType="#//Part"/>
  </eClassifiers>
  <eClassifiers xsi:type="ecore:EClass" name="Part" eSuperTypes="http://www.eclipse.org/emf/2002/Ecore#//EModelElement">
    <eStructuralFeatures xsi:type="ecore:EAttribute" name="name" {STRING}/>
  </eClassifiers>
''')
    row = check_metamodel(mm.path)
    assert row["outcome"] == SUPPORTED, row["message"]
