"""One test per check of conceptwright.tools.xmi.check (and of the XMI reader in
xmi_validator): each model breaks exactly one rule and the test asserts the diagnostic
code, the object at fault and, where there is one, the feature."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conceptwright.compilers.xmi.model import InstanceModel
from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.core.diagnostics import Diagnostic
from conceptwright.tools.xmi.check import check_model
from conceptwright.tools.xmi.validate import read_xmi, validate_xmi

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared"

Key = tuple[str, "str | None", "str | None"]


# -- fixtures and helpers -------------------------------------------------------------
@pytest.fixture(scope="module")
def mm() -> Metamodel:
    return Metamodel(FIXTURES / "shop.ecore")


@pytest.fixture(scope="module")
def shared_dir() -> Path:
    if not (SHARED / "examples").is_dir():
        pytest.fail(f"shared examples directory not found at {SHARED / 'examples'} (needed for the Families example)")
    return SHARED


def obj(oid: str, cls: str, attrs: dict[str, Any] | None = None, refs: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": oid, "class": cls}
    if attrs:
        out["attrs"] = attrs
    if refs:
        out["refs"] = refs
    return out


def shop(attrs: dict[str, Any] | None = None, refs: dict[str, Any] | None = None, oid: str = "s") -> dict[str, Any]:
    """A valid Shop root (its required 'code' set) with extra attributes and references."""
    return obj(oid, "Shop", {"code": "C1", **(attrs or {})}, refs)


def check(mm: Metamodel, *objects: dict[str, Any]) -> list[Diagnostic]:
    return check_model(InstanceModel.model_validate({"objects": list(objects)}), mm)


def errors(diags: list[Diagnostic]) -> list[Key]:
    return sorted((d.code, d.obj, d.feature) for d in diags if d.severity == "error")


def only(diags: list[Diagnostic], *expected: Key) -> None:
    """The error diagnostics are exactly `expected` (no more, no duplicates)."""
    assert errors(diags) == sorted(expected), "\n".join(d.render() for d in diags)


# -- a valid model --------------------------------------------------------------------
def valid_objects() -> list[dict[str, Any]]:
    return [
        shop(
            {"name": "Corner", "size": 3, "open": True, "rating": 4.5, "founded": "2020-01-02",
             "status": "OPEN", "tags": ["toys", "games"]},
            {"orders": ["o1", "o2"], "customers": ["c1"], "bundles": ["b1"], "categories": ["k1"]},
        ),
        obj("c1", "Customer", {"name": "Ann"}, {"orders": ["o1", "o2"]}),
        obj("o1", "Order", {"number": 1}),
        obj("o2", "Order", {"number": "2"}, {"customer": "c1"}),  # both sides stated, consistently
        obj("b1", "Bundle", refs={"owner": "c1", "items": ["o1", "o2"]}),
        obj("k1", "Category", {"name": "Toys"}, {"subcategories": ["k2"]}),
        obj("k2", "Category", {"name": "Dolls"}),
    ]


def test_metamodel_fixture_loads(mm: Metamodel) -> None:
    assert {"Named", "Party", "Shop", "Customer", "Order", "Bundle", "Category"} <= set(mm.classes)
    assert mm.classes["Named"].interface and mm.classes["Party"].abstract
    order_shop = mm.classes["Order"].features["shop"]
    assert order_shop.container and order_shop.lower == 1
    assert not mm.classes["Shop"].features["orderCount"].settable
    assert not mm.classes["Shop"].features["cache"].settable


def test_valid_model_has_no_errors(mm: Metamodel) -> None:
    diags = check(mm, *valid_objects())
    only(diags)
    assert {d.code for d in diags} <= {"ocl-not-checked"}


# -- identity and classes -------------------------------------------------------------
def test_duplicate_id(mm: Metamodel) -> None:
    diags = check(mm, shop(refs={"customers": ["c1"]}), obj("c1", "Customer"), obj("c1", "Customer"))
    only(diags, ("duplicate-id", "c1", None))


def test_empty_model(mm: Metamodel) -> None:
    diags = check(mm)
    only(diags, ("empty-model", None, None))


def test_unknown_class(mm: Metamodel) -> None:
    diags = check(mm, shop(refs={"orders": ["o1"]}), obj("o1", "Ordr"))
    only(diags, ("unknown-class", "o1", None))
    assert "Order" in diags[0].message  # suggests the close name


def test_abstract_class(mm: Metamodel) -> None:
    diags = check(mm, shop(refs={"customers": ["p1"]}), obj("p1", "Party", {"name": "Bob"}))
    only(diags, ("abstract-class", "p1", None))
    assert "Customer" in diags[0].message  # names the concrete subtype


def test_interface_class(mm: Metamodel) -> None:
    diags = check(mm, obj("n1", "Named", {"name": "x"}))
    only(diags, ("abstract-class", "n1", None))
    assert "interface" in diags[0].message


# -- features -------------------------------------------------------------------------
def test_unknown_attribute(mm: Metamodel) -> None:
    only(check(mm, shop({"colour": "red"})), ("unknown-feature", "s", "colour"))


def test_unknown_reference(mm: Metamodel) -> None:
    diags = check(mm, shop(refs={"customers": ["c1"], "owner": "c1"}), obj("c1", "Customer"))
    only(diags, ("unknown-feature", "s", "owner"))


def test_reference_given_as_attribute(mm: Metamodel) -> None:
    only(check(mm, shop({"orders": "o1"})), ("feature-kind", "s", "orders"))


def test_attribute_given_as_reference(mm: Metamodel) -> None:
    only(check(mm, shop(refs={"name": "Corner"})), ("feature-kind", "s", "name"))


@pytest.mark.parametrize("feature,value", [("orderCount", 3), ("cache", "warm")], ids=["derived", "transient"])
def test_read_only_attribute(mm: Metamodel, feature: str, value: Any) -> None:
    only(check(mm, shop({feature: value})), ("read-only-feature", "s", feature))


def test_container_reference_set_on_child(mm: Metamodel) -> None:
    diags = check(mm, shop(refs={"orders": ["o1"]}), obj("o1", "Order", refs={"shop": "s"}))
    only(diags, ("read-only-feature", "o1", "shop"))


def test_upper_bound_attribute(mm: Metamodel) -> None:
    only(check(mm, shop({"size": [1, 2]})), ("upper-bound", "s", "size"))


def test_upper_bound_reference(mm: Metamodel) -> None:
    diags = check(
        mm,
        shop(refs={"orders": ["o1"], "customers": ["c1", "c2"]}),
        obj("c1", "Customer"),
        obj("c2", "Customer"),
        obj("o1", "Order", refs={"customer": ["c1", "c2"]}),
    )
    only(diags, ("upper-bound", "o1", "customer"))


@pytest.mark.parametrize(
    "feature,value",
    [("size", "many"), ("size", 2.5), ("size", True), ("open", "maybe"), ("rating", "high"), ("founded", "yesterday")],
    ids=["int-text", "int-float", "int-bool", "bool", "float", "date"],
)
def test_attribute_type(mm: Metamodel, feature: str, value: Any) -> None:
    only(check(mm, shop({feature: value})), ("attribute-type", "s", feature))


def test_attribute_values_coerced_from_text(mm: Metamodel) -> None:
    only(check(mm, shop({"size": "12", "open": "false", "rating": "3", "founded": "2024-03-01T09:30:00.000+0000"})))


def test_enum_literal(mm: Metamodel) -> None:
    diags = check(mm, shop({"status": "PENDING"}))
    only(diags, ("enum-literal", "s", "status"))
    assert "OPEN" in diags[0].message and "CLOSED" in diags[0].message


# -- references -----------------------------------------------------------------------
def test_dangling_reference(mm: Metamodel) -> None:
    only(check(mm, shop(refs={"customers": ["ghost"]})), ("dangling-reference", "s", "customers"))


def test_reference_type(mm: Metamodel) -> None:
    diags = check(mm, shop(refs={"orders": ["o1"]}), obj("o1", "Order", refs={"customer": "s"}))
    only(diags, ("reference-type", "o1", "customer"))


def test_opposite_sides_contradict(mm: Metamodel) -> None:
    # c1 lists o1 in its orders, but o1 names c2 as its customer
    diags = check(
        mm,
        shop(refs={"orders": ["o1"], "customers": ["c1", "c2"]}),
        obj("c1", "Customer", refs={"orders": ["o1"]}),
        obj("c2", "Customer"),
        obj("o1", "Order", refs={"customer": "c2"}),
    )
    only(diags, ("opposite-inconsistent", "o1", "customer"))


def test_single_valued_opposite_implied_twice(mm: Metamodel) -> None:
    # two customers list o1, whose customer takes one value
    diags = check(
        mm,
        shop(refs={"orders": ["o1"], "customers": ["c1", "c2"]}),
        obj("c1", "Customer", refs={"orders": ["o1"]}),
        obj("c2", "Customer", refs={"orders": ["o1"]}),
        obj("o1", "Order"),
    )
    only(diags, ("opposite-inconsistent", "o1", "customer"))


def test_opposite_stated_on_one_side_is_enough(mm: Metamodel) -> None:
    # o1.customer is implied by c1.orders: no diagnostic on either side
    diags = check(mm, shop(refs={"orders": ["o1"], "customers": ["c1"]}), obj("c1", "Customer", refs={"orders": ["o1"]}), obj("o1", "Order"))
    only(diags)


# -- containment ----------------------------------------------------------------------
def test_contained_twice(mm: Metamodel) -> None:
    diags = check(
        mm,
        shop(refs={"categories": ["k1", "k2"]}),
        obj("k1", "Category", refs={"subcategories": ["k3"]}),
        obj("k2", "Category", refs={"subcategories": ["k3"]}),
        obj("k3", "Category"),
    )
    only(diags, ("contained-twice", "k3", None))


def test_not_contained_second_root(mm: Metamodel) -> None:
    diags = check(mm, shop(), obj("c1", "Customer", {"name": "Ann"}))
    only(diags, ("not-contained", "c1", None))
    assert "Shop.customers" in diags[0].message  # says where it could go


def test_containment_cycle(mm: Metamodel) -> None:
    diags = check(
        mm,
        shop(refs={"categories": ["k1"]}),
        obj("k1", "Category"),
        obj("k2", "Category", refs={"subcategories": ["k3"]}),
        obj("k3", "Category", refs={"subcategories": ["k2"]}),
    )
    only(diags, ("containment-cycle", "k2", None), ("containment-cycle", "k3", None))


def test_containment_cycle_without_root(mm: Metamodel) -> None:
    diags = check(
        mm,
        obj("k1", "Category", refs={"subcategories": ["k2"]}),
        obj("k2", "Category", refs={"subcategories": ["k1"]}),
    )
    only(diags, ("containment-cycle", None, None))


# -- multiplicities -------------------------------------------------------------------
def test_required_attribute(mm: Metamodel) -> None:
    only(check(mm, obj("s", "Shop", {"name": "Corner"})), ("required", "s", "code"))


def test_required_reference(mm: Metamodel) -> None:
    diags = check(
        mm,
        shop(refs={"orders": ["o1", "o2"], "bundles": ["b1"]}),
        obj("o1", "Order"),
        obj("o2", "Order"),
        obj("b1", "Bundle", refs={"items": ["o1", "o2"]}),
    )
    only(diags, ("required", "b1", "owner"))


def test_required_container(mm: Metamodel) -> None:
    # o1 is contained, but through Shop.archive, not through Shop.orders (opposite of Order.shop [1..1])
    diags = check(mm, shop(refs={"archive": ["o1"]}), obj("o1", "Order"))
    only(diags, ("required", "o1", "shop"))


def test_lower_bound(mm: Metamodel) -> None:
    diags = check(
        mm,
        shop(refs={"orders": ["o1"], "customers": ["c1"], "bundles": ["b1"]}),
        obj("c1", "Customer"),
        obj("o1", "Order"),
        obj("b1", "Bundle", refs={"owner": "c1", "items": ["o1"]}),
    )
    only(diags, ("lower-bound", "b1", "items"))


def test_lower_bound_counts_distinct_ids(mm: Metamodel) -> None:
    diags = check(
        mm,
        shop(refs={"orders": ["o1"], "customers": ["c1"], "bundles": ["b1"]}),
        obj("c1", "Customer"),
        obj("o1", "Order"),
        obj("b1", "Bundle", refs={"owner": "c1", "items": ["o1", "o1"]}),
    )
    only(diags, ("lower-bound", "b1", "items"))


# -- OCL ------------------------------------------------------------------------------
def test_ocl_not_checked_warning(mm: Metamodel) -> None:
    diags = check(mm, *valid_objects())
    warnings = [d for d in diags if d.code == "ocl-not-checked"]
    assert len(warnings) == 1, [d.render() for d in warnings]  # one invariant, declared in two annotations
    assert warnings[0].severity == "warning"
    assert "nameNotEmpty" in warnings[0].message and "Shop" in warnings[0].message


# -- XMI text through validate_xmi ----------------------------------------------------
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<shop:Shop xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:shop="http://example.org/shop" '
)


def xmi(root_attrs: str = 'code="C1"', body: str = "") -> str:
    return f"{HEAD}{root_attrs}>\n{body}</shop:Shop>\n"


VALID_BODY = """\
  <tags>toys</tags>
  <tags>games</tags>
  <orders number="1" customer="//@customers.0"/>
  <orders number="2"/>
  <customers xsi:type="shop:Customer" name="Ann" orders="//@orders.0"/>
  <bundles owner="//@customers.0" items="//@orders.0 //@orders.1"/>
  <categories name="Toys">
    <subcategories name="Dolls"/>
  </categories>
"""
VALID_ATTRS = 'name="Corner" code="C1" size="3" open="true" rating="4.5" founded="2020-01-02T00:00:00.000+0000" status="CLOSED"'


def test_xmi_valid(mm: Metamodel) -> None:
    graph, diags = validate_xmi(xmi(VALID_ATTRS, VALID_BODY), mm)
    only(diags)
    assert graph is not None
    by_id = graph.by_id()
    assert by_id["/"].cls == "Shop" and by_id["/"].attrs["tags"] == ["toys", "games"]
    assert by_id["//@customers.0"].cls == "Customer"
    assert by_id["//@bundles.0"].refs["items"] == ["//@orders.0", "//@orders.1"]
    assert by_id["//@orders.0"].refs["customer"] == "//@customers.0"
    assert by_id["//@categories.0"].refs["subcategories"] == ["//@categories.0/@subcategories.0"]


def test_xmi_parse_error(mm: Metamodel) -> None:
    graph, diags = validate_xmi(xmi(body="  <orders number='1'>\n"), mm)  # <orders> never closed
    assert graph is None
    only(diags, ("parse-error", None, None))


def test_xmi_unknown_xsi_type(mm: Metamodel) -> None:
    _, diags = validate_xmi(xmi(body='  <customers xsi:type="shop:Client" name="Ann"/>\n'), mm)
    only(diags, ("unknown-class", "//@customers.0", None), ("pyecore-load", None, None))


def test_xmi_unknown_xml_attribute(mm: Metamodel) -> None:
    _, diags = validate_xmi(xmi(body='  <orders number="1" priority="high"/>\n'), mm)
    only(diags, ("unknown-feature", "//@orders.0", "priority"), ("pyecore-load", None, None))


def test_xmi_dangling_fragment(mm: Metamodel) -> None:
    body = '  <orders number="1"/>\n  <customers xsi:type="shop:Customer" orders="//@orders.7"/>\n'
    _, diags = validate_xmi(xmi(body=body), mm)
    only(diags, ("dangling-reference", "//@customers.0", "orders"), ("pyecore-load", None, None))
    assert "//@orders.7" in [d for d in diags if d.code == "dangling-reference"][0].message


def test_xmi_bad_enum_literal(mm: Metamodel) -> None:
    # pyecore loads this silently; only the lxml reader + check_model catch it
    _, diags = validate_xmi(xmi('code="C1" status="PENDING"'), mm)
    only(diags, ("enum-literal", "/", "status"))


def test_xmi_pyecore_load(mm: Metamodel) -> None:
    # a namespace pyecore does not know: the lxml reader matches the class by name, pyecore refuses
    text = xmi().replace('xmlns:shop="http://example.org/shop"', 'xmlns:shop="http://example.org/no-such-package"')
    _, diags = validate_xmi(text, mm)
    only(diags, ("pyecore-load", None, None))


def test_xmi_reads_xmi_ids(mm: Metamodel) -> None:
    body = '  <orders xmi:id="o1" number="1"/>\n  <customers xsi:type="shop:Customer" xmi:id="c1" orders="o1"/>\n'
    model, diags = read_xmi(xmi(body=body), mm)
    assert not diags and model is not None
    assert model.by_id()["c1"].refs["orders"] == ["o1"]
    only(check_model(model, mm))


# -- the shared example ---------------------------------------------------------------
def test_shared_family_example_is_valid(shared_dir: Path) -> None:
    ecore = shared_dir / "examples" / "metamodels" / "Families.ecore"
    instance = shared_dir / "examples" / "instances" / "Family_model.xmi"
    if not (ecore.is_file() and instance.is_file()):
        pytest.fail(f"Families example missing under {shared_dir / 'examples'}")
    families = Metamodel(ecore)
    graph, diags = validate_xmi(instance.read_bytes(), families)
    assert graph is not None
    assert diags == [], "\n".join(d.render() for d in diags)
    assert len(graph.objects) == 7
    assert sorted(graph.by_id()["/"].refs) == ["daughters", "father", "mother", "sons"]
