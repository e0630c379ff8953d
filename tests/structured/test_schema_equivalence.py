"""The JSON Schema path validates the same cases as the Pydantic path: a model and its JSON
Schema accept the same documents and reject the same ones, at the same places."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel
from schema_models import MODELS, User, mutated, valid_documents

from l0.structured_output import UnifiedSchema


def _both(model: type[BaseModel]) -> tuple[UnifiedSchema[Any], UnifiedSchema[Any]]:
    return UnifiedSchema(model, strict=True), UnifiedSchema(model.model_json_schema())


def _error_paths(schema: UnifiedSchema[Any], value: Any) -> set[tuple[Any, ...]]:
    return {issue.path for issue in schema.errors(value)}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_valid_documents_pass_both_ways(model: type[BaseModel], data: st.DataObject) -> None:
    document = data.draw(valid_documents(model))
    pydantic_schema, json_schema = _both(model)
    assert pydantic_schema.is_valid(document)
    assert json_schema.validate(document) == document
    assert pydantic_schema.validate(document) == model.model_validate(document)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_documents_get_the_same_verdict(
    model: type[BaseModel], data: st.DataObject
) -> None:
    document = data.draw(mutated(copy.deepcopy(data.draw(valid_documents(model)))))
    pydantic_schema, json_schema = _both(model)
    assert pydantic_schema.is_valid(document) == json_schema.is_valid(document), document
    assert _error_paths(pydantic_schema, document) == _error_paths(json_schema, document)


def test_the_documented_difference_integral_floats() -> None:
    """JSON Schema's "integer" accepts 30.0; Pydantic's strict mode does not, lax mode does."""
    document = {
        "name": "Ada",
        "age": 30.0,
        "score": 1.5,
        "active": True,
        "role": "user",
        "address": {"street": "Main", "city": "X"},
    }
    assert UnifiedSchema(User.model_json_schema()).is_valid(document)
    assert not UnifiedSchema(User, strict=True).is_valid(document)
    assert UnifiedSchema(User).is_valid(document)


def test_lax_pydantic_coerces_what_json_schema_refuses() -> None:
    """The default (lax) Pydantic mode takes "30" for an int; strict mode and JSON Schema
    refuse it, at the same path."""
    document = {
        "name": "Ada",
        "age": "30",
        "score": 1.5,
        "active": True,
        "role": "user",
        "address": {"street": "Main", "city": "X"},
    }
    assert UnifiedSchema(User).validate(document).age == 30
    pydantic_schema, json_schema = _both(User)
    assert _error_paths(pydantic_schema, document) == {("age",)}
    assert _error_paths(json_schema, document) == {("age",)}
