"""Decoding schemas are generated from the pydantic types, in the grammar-safe subset."""
from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from conceptwright.compilers.cad.schema import part_schema
from conceptwright.compilers.sim.schema import sim_schema
from conceptwright.core.jsonschema import ASK, bounded_str, grammar_schema
from conceptwright.llm.llamacpp import check_grammar_schema


class Leaf(BaseModel):
    kind: Literal["leaf"]
    label: str
    note: str | None = None
    size: int = Field(3, json_schema_extra=ASK)


class Tree(BaseModel):
    name: bounded_str(12) = "t"
    leaves: list[Leaf] = Field(default_factory=list)
    pair: tuple[float, float] = (0, 0)


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_refs_inlined_nulls_dropped_and_everything_bounded() -> None:
    schema = grammar_schema(Tree, max_string=50, max_items=7)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"null"' not in text and "x-ask" not in text
    leaf = schema["properties"]["leaves"]["items"]
    assert leaf["required"] == ["kind", "label", "size"]  # ASK makes a defaulted field required, order kept
    assert leaf["properties"]["note"] == {"type": "string", "maxLength": 50}
    assert schema["properties"]["name"]["maxLength"] == 12
    assert schema["properties"]["leaves"]["maxItems"] == 7
    assert schema["properties"]["pair"] == {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    for node in _walk(schema):
        assert "title" not in node and "default" not in node and "oneOf" not in node
        if node.get("type") == "object":
            assert node["additionalProperties"] is False


@pytest.mark.parametrize("make", [part_schema, sim_schema])
def test_target_schemas_bound_every_string_and_array_and_compile(make) -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    schema = make()
    check_grammar_schema(schema)
    for node in _walk(schema):
        if node.get("type") == "string":
            assert {"maxLength", "enum", "const"} & set(node), node
        if node.get("type") == "array":
            assert "maxItems" in node, node
    assert LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False) is not None


def test_schema_follows_the_types() -> None:
    """A field of the model shows up in its schema: nothing is kept by hand beside the types."""
    from conceptwright.compilers.cad.model import Slot
    from conceptwright.compilers.sim.model import State

    slot = next(s for s in _walk(part_schema()) if s.get("properties", {}).get("shape", {}).get("const") == "slot")
    assert set(slot["properties"]) == set(Slot.model_fields)
    process, continuous = sim_schema()["anyOf"]
    assert process["properties"]["kind"]["const"] == "process"
    assert process["properties"]["sources"]["minItems"] == 1
    states = continuous["properties"]["states"]["items"]
    assert set(states["properties"]) == set(State.model_fields)
    assert continuous["properties"]["flows"]["items"]["required"] == ["id", "from", "to", "rate", "unit"]


def test_the_instance_schema_asks_for_the_label_attribute(metamodels):
    """A class's name (or ID attribute) is required in the decoding schema; other optional attributes are not."""
    from conceptwright.compilers.xmi.metamodel import Metamodel
    from conceptwright.compilers.xmi.schema import class_variant, objects_by_id_schema

    mm = Metamodel(metamodels / "library.ecore")
    writer, book = class_variant(mm, "Writer"), class_variant(mm, "Book")
    assert writer["properties"]["attrs"]["required"] == ["name"] and "attrs" in writer["required"]
    assert book["properties"]["attrs"]["required"] == [] and "attrs" not in book["required"]  # Book has a title, no name
    follow = objects_by_id_schema(mm, {"w9": ["Writer"]})
    assert follow["properties"]["w9"]["properties"]["attrs"]["required"] == ["name"]
