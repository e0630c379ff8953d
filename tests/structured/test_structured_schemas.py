"""The JSON Schema path through `structured` validates the same cases as the Pydantic path
(hypothesis over valid and damaged documents); `structured_object` and `structured_array`
on both paths; `result.data` typed as the schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import BaseModel, Field
from schema_models import MODELS, mutated, valid_documents
from typing_extensions import assert_type

import l0
from l0.structured_output import (
    JSONSchema,
    StructuredConfig,
    StructuredOutputError,
    StructuredResult,
    UnifiedSchema,
    structured,
    structured_array,
    structured_object,
)
from l0.testing import Script, ScriptedFactory

pytestmark = pytest.mark.anyio

# Strict types on the Pydantic side (JSON Schema is strict by type), no retries.
ONCE = StructuredConfig(strict=True, retry=l0.Retry(attempts=0))


async def verdict(schema: Any, text: str) -> tuple[Any, set[tuple[Any, ...]]]:
    """The data, or None and the paths of the errors."""
    factory = ScriptedFactory(Script.tokens(text, size=9))
    try:
        result = await structured(schema, factory, config=ONCE)
    except StructuredOutputError as error:
        [failure] = error.validation_errors
        return None, {issue.path for issue in failure.errors}
    return result.data, set()


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_the_json_schema_path_gives_the_same_verdicts_as_the_pydantic_path(
    model: type[BaseModel], data: st.DataObject
) -> None:
    document = data.draw(valid_documents(model))
    if data.draw(st.booleans()):
        document = data.draw(mutated(copy.deepcopy(document)))
    text = json.dumps(document)
    if data.draw(st.booleans()):
        text = f"Here it is:\n```json\n{text}\n```"  # corrected the same way on both paths

    from_model, model_errors = await verdict(model, text)
    from_schema, schema_errors = await verdict(model.model_json_schema(), text)

    assert (from_model is None) == (from_schema is None)
    assert model_errors == schema_errors
    if from_model is not None:
        assert from_schema == document
        assert from_model == model.model_validate(document)


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


ITEM_SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
    "required": ["sku", "quantity"],
}
ITEMS = '[{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 1}]'


def stream_of(text: str) -> ScriptedFactory:
    return ScriptedFactory(Script.tokens(text, size=6))


async def test_results_are_typed_as_their_schema() -> None:
    """What a type checker infers (checked by mypy) matches what arrives."""
    one = await structured(Item, stream_of('{"sku": "a", "quantity": 2}'))
    assert_type(one, StructuredResult[Item])
    assert_type(one.data, Item)
    many = await structured_array(Item, stream_of(ITEMS))
    assert_type(many.data, list[Item])
    assert many.data == [Item(sku="a", quantity=2), Item(sku="b", quantity=1)]
    raw = await structured(ITEM_SCHEMA, stream_of('{"sku": "a", "quantity": 2}'))
    assert_type(raw, StructuredResult[Any])
    assert raw.data == {"sku": "a", "quantity": 2}


@pytest.mark.parametrize(
    "item_schema",
    [ITEM_SCHEMA, JSONSchema(ITEM_SCHEMA), UnifiedSchema(ITEM_SCHEMA), UnifiedSchema(Item)],
    ids=["dict", "JSONSchema", "Unified-json", "Unified-model"],
)
async def test_structured_array_takes_every_kind_of_item_schema(item_schema: Any) -> None:
    result = await structured_array(item_schema, stream_of(ITEMS))
    assert [dict(item) for item in result.data] == json.loads(ITEMS)

    with pytest.raises(StructuredOutputError) as caught:
        await structured_array(
            item_schema, stream_of('[{"sku": "a", "quantity": 0}]'), retry=l0.Retry(attempts=0)
        )
    assert [issue.path for issue in caught.value.validation_errors[0].errors] == [(0, "quantity")]


async def test_structured_object_from_python_types() -> None:
    result = await structured_object(
        {"name": str, "age": int, "tags": (list[str], [])},
        stream_of('{"name": "Ada", "age": 36}'),
    )
    assert isinstance(result.data, BaseModel)
    assert result.data.model_dump() == {"name": "Ada", "age": 36, "tags": []}
    assert result.telemetry.schema_name == "StructuredObject"

    with pytest.raises(StructuredOutputError) as caught:
        await structured_object(
            {"name": str, "age": int}, stream_of('{"name": "Ada"}'), retry=l0.Retry(attempts=0)
        )
    assert caught.value.validation_errors[0].errors[0].path == ("age",)


async def test_structured_object_from_json_schema_properties() -> None:
    shape = {"name": {"type": "string"}, "age": {"type": "integer"}}
    result = await structured_object(shape, stream_of('{"name": "Ada", "age": 36}'), name="Who")
    assert result.data == {"name": "Ada", "age": 36}
    assert result.telemetry.schema_name == "Who"

    with pytest.raises(StructuredOutputError) as caught:
        await structured_object(shape, stream_of('{"name": "Ada"}'), retry=l0.Retry(attempts=0))
    assert caught.value.validation_errors[0].errors[0].path == ("age",)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ({}, "non-empty dict"),
        ({"name": str, "age": {"type": "integer"}}, "mixes JSON Schema dicts and Python types"),
        ({"first-name": str}, "public identifiers"),
        ({"name": 42}, "could not build a model"),
    ],
)
async def test_structured_object_refuses_a_bad_shape(shape: Any, message: str) -> None:
    factory = stream_of("{}")
    with pytest.raises(l0.Error, match=message) as caught:
        await structured_object(shape, factory)
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert factory.calls == 0
