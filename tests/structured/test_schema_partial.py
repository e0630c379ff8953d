"""Partial validation: the front of a valid document is valid so far, whichever way the schema
was given; a value that contradicts the schema is caught before the document ends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel
from schema_models import MODELS, Address, Inventory, User, valid_documents

from l0.jsonkit import JSON, PartialJSON
from l0.structured_output import PartialValidation, SchemaIssue, UnifiedSchema

KINDS = ["pydantic", "pydantic-strict", "json_schema"]


def _schema(model: type[BaseModel], kind: str) -> UnifiedSchema[Any]:
    if kind == "json_schema":
        return UnifiedSchema(model.model_json_schema())
    return UnifiedSchema(model, strict=kind == "pydantic-strict")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), include_pending_string=st.booleans())
def test_every_prefix_of_a_valid_document_is_valid_so_far(
    model: type[BaseModel], kind: str, data: st.DataObject, include_pending_string: bool
) -> None:
    schema = _schema(model, kind)
    document = data.draw(valid_documents(model))
    text = json.dumps(document, ensure_ascii=False)
    for end in range(1, len(text) + 1):
        partial = JSON.parse_partial(text[:end], include_pending_string=include_pending_string)
        if partial is None:
            continue
        verdict = schema.validate_partial(partial)
        assert verdict.valid, (text[:end], verdict.errors)
        assert verdict.value == partial.value
    final = schema.validate_partial(document)
    assert final == PartialValidation(document, valid=True)


@pytest.mark.parametrize("kind", KINDS)
def test_a_contradiction_is_caught_before_the_end(kind: str) -> None:
    partial = JSON.parse_partial('{"name": "Ada", "age": "old", "sco')
    assert partial is not None
    verdict = _schema(User, kind).validate_partial(partial)
    assert not verdict.valid
    assert [issue.path for issue in verdict.errors] == [("age",)]
    assert {issue.path for issue in verdict.pending} == {
        ("score",),
        ("active",),
        ("role",),
        ("address",),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_a_string_still_being_written_is_pending_until_it_ends(kind: str) -> None:
    schema = _schema(User, kind)
    writing = JSON.parse_partial('{"name": "Ada", "role": "adm', include_pending_string=True)
    assert writing == PartialJSON({"name": "Ada", "role": "adm"}, False, True, length=28)
    verdict = schema.validate_partial(writing)
    assert verdict.valid and ("role",) in {issue.path for issue in verdict.pending}
    ended = JSON.parse_partial('{"name": "Ada", "role": "adm"')
    assert ended is not None and not ended.pending_string
    verdict = schema.validate_partial(ended)
    assert not verdict.valid and [issue.path for issue in verdict.errors] == [("role",)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_list_below_its_minimum_is_pending_then_an_error(kind: str) -> None:
    schema = _schema(Inventory, kind)
    verdict = schema.validate_partial({"warehouse": "A", "counts": {}, "items": []})
    assert verdict.valid and [issue.path for issue in verdict.pending] == [("items",)]
    assert not schema.is_valid({"warehouse": "A", "counts": {}, "items": []})


class Contact(BaseModel):
    name: str
    address: Address | None = None


@pytest.mark.parametrize("kind", KINDS)
def test_an_optional_object_being_written_is_pending(kind: str) -> None:
    """JSON Schema says anyOf [Address, null]: pending when the Address branch only lacks
    properties still to come."""
    schema = _schema(Contact, kind)
    verdict = schema.validate_partial({"name": "Ada", "address": {"street": "Main"}})
    assert verdict.valid and verdict.errors == ()
    assert len(verdict.pending) == 1
    verdict = schema.validate_partial({"name": "Ada", "address": {"street": 3}})
    assert not verdict.valid


def test_pending_and_error_issues_are_told_apart() -> None:
    verdict = UnifiedSchema(Address.model_json_schema()).validate_partial({"street": ""})
    assert verdict == PartialValidation(
        {"street": ""},
        valid=False,
        errors=(SchemaIssue(("street",), "'' should be non-empty", "minLength"),),
        pending=(SchemaIssue(("city",), "'city' is a required property", "required"),),
    )
