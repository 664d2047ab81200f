"""Property tests (hypothesis): whatever comes in, only our error types come out.

- the xmi conceptual model: random objects, classes, attributes and references -> parse,
  autofix, check and compile never raise; the compiled XMI always reads back (our reader
  and pyecore);
- the metamodel loader: random small .ecore texts (cycles, duplicates, dangling types, odd
  bounds, truncations) -> a Metamodel or an InputError, nothing else;
- JSON extraction from LLM replies: arbitrary text -> a value or JSONExtractError.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conceptwright.compilers.xmi import to_xmi
from conceptwright.compilers.xmi.fixes import autofix
from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.compilers.xmi.model import parse_model
from conceptwright.core.errors import InputError
from conceptwright.core.jsonparse import JSONExtractError, extract_json
from conceptwright.tools.xmi.check import check_model
from conceptwright.tools.xmi.validate import read_xmi, validate_xmi

from .conftest import SHARED

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MMS = {name: Metamodel(SHARED / "examples" / "metamodels" / name) for name in ("extlibrary.ecore", "PetriNet.ecore")}

# -- the conceptual model -------------------------------------------------------------------------
_scalar = st.one_of(st.text(max_size=12), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.sampled_from(["2024-01-31", "true", "1.5", "Mystery", "", "<&\"'>", "\x00"]))
_value = st.one_of(_scalar, st.lists(_scalar, max_size=3))


@st.composite
def _models(draw):
    mm = MMS[draw(st.sampled_from(sorted(MMS)))]
    classes = list(mm.classes) + ["Nope", ""]
    features = sorted({f for c in mm.classes.values() for f in c.features}) + ["bogus"]
    ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=6))
    objects = []
    for oid in ids:
        cls = draw(st.sampled_from(classes))
        attrs = draw(st.dictionaries(st.sampled_from(features), _value, max_size=4))
        refs = draw(st.dictionaries(st.sampled_from(features), st.one_of(st.sampled_from(ids + ["zz"]),
                                                                          st.lists(st.sampled_from(ids + ["zz"]), max_size=3)),
                                    max_size=4))
        objects.append({"id": oid, "class": cls, "attrs": attrs, "refs": refs})
    shape = draw(st.sampled_from(["objects", "list", "junk"]))
    data = {"objects": objects} if shape == "objects" else objects if shape == "list" else {"objects": objects, "x": [1]}
    return mm, data


@FAST
@given(_models())
def test_conceptual_model_compiles_and_reads_back(case):
    mm, data = case
    model, diags, _ = parse_model(json.loads(json.dumps(data)))
    if model is None:
        assert diags
        return
    model, _ = autofix(model, mm)
    check_model(model, mm)
    xmi = to_xmi(model, mm, metamodel_location="m.ecore")
    back, read_diags = read_xmi(xmi, mm)
    assert back is not None, read_diags
    validate_xmi(xmi, mm)  # our reader, the checks and pyecore's loader: diagnostics, never an exception


# -- the metamodel loader ---------------------------------------------------------------------
_NAMES = st.sampled_from(["A", "B", "C", "Root", "a", "x"])
_TYPES = st.sampled_from(["#//A", "#//B", "#//C", "#//Root", "#//E", "#//Missing", "",
                          "ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EString",
                          "ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EInt",
                          "ecore:EDataType http://www.eclipse.org/emf/2003/XMLType#//Boolean",
                          "ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//Nope"])


@st.composite
def _ecore_text(draw):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ecore:EPackage xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ecore="http://www.eclipse.org/emf/2002/Ecore" name="p"'
           + draw(st.sampled_from([' nsURI="http://p" nsPrefix="p"', "", ' nsURI=""', ' nsPrefix="p"'])) + ">"]
    for _ in range(draw(st.integers(0, 4))):
        name = draw(_NAMES)
        kind = draw(st.sampled_from(["EClass", "EClass", "EClass", "EEnum", "EDataType", "Bogus"]))
        extra = ""
        if kind == "EClass":
            if draw(st.booleans()):
                extra += f' eSuperTypes="{" ".join(draw(st.lists(st.sampled_from(["#//A", "#//B", "#//C", "#//E", "#//Zz"]), max_size=2)))}"'
            extra += draw(st.sampled_from(["", ' abstract="true"', ' interface="true"', ' abstract="maybe"']))
        body = ""
        if kind == "EClass":
            for _ in range(draw(st.integers(0, 3))):
                ref = draw(st.booleans())
                ftype = draw(_TYPES)
                bounds = draw(st.sampled_from(["", ' lowerBound="1"', ' upperBound="-1"', ' lowerBound="2" upperBound="1"',
                                               ' upperBound="x"', ' lowerBound="-5"']))
                more = draw(st.sampled_from(["", ' containment="true"', ' eOpposite="#//A/x"', ' iD="true"', ' derived="true"']))
                body += (f'<eStructuralFeatures xsi:type="ecore:{"EReference" if ref else "EAttribute"}" '
                         f'name="{draw(_NAMES)}" eType="{ftype}"{bounds}{more}/>')
        elif kind == "EEnum":
            body = "".join(f'<eLiterals name="{draw(_NAMES)}" value="{draw(st.sampled_from(["0", "1", "x"]))}"/>'
                           for _ in range(draw(st.integers(0, 2))))
        out.append(f'<eClassifiers xsi:type="ecore:{kind}" name="{name}"{extra}>{body}</eClassifiers>')
    out.append("</ecore:EPackage>")
    text = "\n".join(out)
    cut = draw(st.sampled_from(["whole", "whole", "whole", "truncate", "insert"]))
    if cut == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=5)) + text[at:]
    return text


@FAST
@pytest.mark.filterwarnings("ignore::conceptwright.compilers.xmi.metamodel.MetamodelWarning")
@given(_ecore_text())
def test_metamodel_loads_or_input_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.ecore"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            mm = Metamodel(path)
        except InputError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            return
        assert mm.classes
        mm.root_classes()


# -- JSON extraction --------------------------------------------------------------------------
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                     max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_extract_json_any_text(text):
    try:
        value = extract_json(text)
    except JSONExtractError as exc:
        assert str(exc) and "\n" not in str(exc).strip()  # one line for the repair prompt
    else:
        json.dumps(value)  # what it found is JSON data


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=5), _json, max_size=4), st.text(max_size=40).filter(lambda t: "{" not in t and "[" not in t),
       st.sampled_from(["plain", "fence", "json-fence"]))
def test_extract_json_finds_the_object(value, chatter, wrap):
    body = json.dumps(value)
    text = {"plain": f"{chatter}{body}", "fence": f"{chatter}\n```\n{body}\n```", "json-fence": f"```json\n{body}\n```\n{chatter}"}[wrap]
    assert extract_json(text) == value
