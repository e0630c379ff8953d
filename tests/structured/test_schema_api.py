"""UnifiedSchema and JSONSchema: one API over a Pydantic model or a JSON Schema dict."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic
import pytest
from pydantic import BaseModel
from schema_models import Address, Item, User

from l0.errors import Error, ErrorCode
from l0.jsonkit import JSONParseError
from l0.structured_output import (
    JSONSchema,
    JSONSchemaAdapter,
    JSONSchemaValidationError,
    SchemaIssue,
    UnifiedSchema,
)
from l0.structured_output.json_schema import ValidateFn

ADA = {
    "name": "Ada",
    "age": 36,
    "score": 9.5,
    "active": True,
    "role": "admin",
    "address": {"street": "1 Main St", "city": "London"},
}
BAD = {"name": "", "age": -1, "score": "high", "role": "root", "address": {"city": 3}}
BAD_PATHS = {
    ("name",),
    ("age",),
    ("score",),
    ("active",),
    ("role",),
    ("address", "street"),
    ("address", "city"),
}


@pytest.fixture(params=["pydantic", "json_schema"])
def user_schema(request: pytest.FixtureRequest) -> UnifiedSchema[Any]:
    if request.param == "pydantic":
        return UnifiedSchema(User)
    return UnifiedSchema(User.model_json_schema())


def test_kind_and_name(user_schema: UnifiedSchema[Any]) -> None:
    assert user_schema.name == "User"
    assert user_schema.kind in ("pydantic", "json_schema")
    assert repr(user_schema) == f"UnifiedSchema(User, kind={user_schema.kind!r})"


def test_validate_returns_the_value(user_schema: UnifiedSchema[Any]) -> None:
    result = user_schema.validate(ADA)
    if user_schema.kind == "pydantic":
        assert result == User.model_validate(ADA)
    else:
        assert result == ADA


def test_every_error_is_reported_with_its_path(user_schema: UnifiedSchema[Any]) -> None:
    with pytest.raises(JSONSchemaValidationError) as caught:
        user_schema.validate(BAD)
    error = caught.value
    assert isinstance(error, Error) and error.code is ErrorCode.INVALID_ARGUMENT
    assert error.schema_name == "User"
    assert {issue.path for issue in error.errors} == BAD_PATHS
    assert error.message.startswith("7 validation errors for User: ")
    assert "; and 2 more" in error.message
    assert not user_schema.is_valid(BAD)
    assert {issue.path for issue in user_schema.errors(BAD)} == BAD_PATHS


def test_pydantic_errors_keep_their_cause() -> None:
    with pytest.raises(JSONSchemaValidationError) as caught:
        UnifiedSchema(Address).validate({"city": "X"})
    assert caught.value.errors == (SchemaIssue(("street",), "Field required", "missing"),)
    assert isinstance(caught.value.__cause__, pydantic.ValidationError)


def test_validate_json_is_strict_and_never_repairs(user_schema: UnifiedSchema[Any]) -> None:
    text = (
        '{"name": "Ada", "age": 36, "score": 9.5, "active": true, "role": "admin", '
        '"address": {"street": "1 Main St", "city": "London"}}'
    )
    assert user_schema.validate_json(text) == user_schema.validate(ADA)
    with pytest.raises(JSONParseError, match="trailing comma"):
        user_schema.validate_json(text[:-2] + ",}}")
    with pytest.raises(JSONParseError, match="ends before the JSON does"):
        user_schema.validate_json(text[:-1])
    with pytest.raises(JSONSchemaValidationError, match=r"/address/street: "):
        user_schema.validate_json('{"name": "Ada", "address": {"city": "X"}}')


def test_json_schema_is_the_schema(user_schema: UnifiedSchema[Any]) -> None:
    schema = user_schema.json_schema()
    assert schema == User.model_json_schema()
    schema["title"] = "changed"
    assert user_schema.json_schema()["title"] == "User"


def test_required_issues_name_the_missing_property() -> None:
    schema = JSONSchema({"type": "object", "required": ["a", "b/c"], "title": "T"})
    issues = schema.errors({})
    assert [issue.path for issue in issues] == [("a",), ("b/c",)]
    assert [issue.location for issue in issues] == ["/a", "/b~1c"]
    assert {issue.kind for issue in issues} == {"required"}
    assert str(issues[0]) == "/a: 'a' is a required property"
    assert str(SchemaIssue((), "bad", "type")) == "(root): bad"


def test_name_comes_from_the_title_or_the_caller() -> None:
    assert UnifiedSchema({"type": "integer"}).name == "schema"
    assert UnifiedSchema({"type": "integer", "title": "Count"}).name == "Count"
    assert UnifiedSchema({"type": "integer"}, name="Count").name == "Count"
    assert UnifiedSchema(Item, name="Line").name == "Line"


def test_the_draft_named_by_the_schema_is_used() -> None:
    """Draft 7's array form of `items` checks each position; 2020-12 calls that prefixItems."""
    draft7 = JSONSchema(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "array",
            "items": [{"type": "integer"}, {"type": "string"}],
        }
    )
    assert draft7.is_valid([1, "a"])
    assert [issue.path for issue in draft7.errors([1, 2])] == [(1,)]
    with pytest.raises(Error, match="The JSON Schema itself is invalid"):
        JSONSchema({"type": "array", "items": [{"type": "integer"}]})  # not 2020-12


def test_refs_are_resolved_inside_the_definition() -> None:
    schema = JSONSchema(
        {
            "$defs": {"positive": {"type": "integer", "minimum": 1}},
            "type": "object",
            "properties": {"n": {"$ref": "#/$defs/positive"}},
        }
    )
    assert schema.validate({"n": 2}) == {"n": 2}
    assert [issue.kind for issue in schema.errors({"n": 0})] == ["minimum"]


def test_invalid_schemas_are_refused() -> None:
    with pytest.raises(Error, match="itself is invalid at type") as caught:
        JSONSchema({"type": "not-a-type"})
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(Error, match="must be a dict, got list"):
        JSONSchema([])  # type: ignore[arg-type]
    with pytest.raises(Error, match="give a Pydantic model class"):
        UnifiedSchema(42)
    with pytest.raises(Error, match="strict=True applies to Pydantic schemas"):
        UnifiedSchema({"type": "object"}, strict=True)
    with pytest.raises(Error, match="adapter= applies to JSON Schema dicts"):
        UnifiedSchema(User, adapter=JSONSchemaAdapter())  # type: ignore[call-overload]


def test_from_model_and_of() -> None:
    schema = JSONSchema.from_model(User)
    assert schema.name == "User" and schema.definition == User.model_json_schema()
    assert UnifiedSchema(schema).is_valid(ADA)
    unified = UnifiedSchema(User)
    assert UnifiedSchema.of(unified) is unified
    assert UnifiedSchema.of(User).kind == "pydantic"
    with pytest.raises(Error, match="already a UnifiedSchema"):
        UnifiedSchema(unified)


def test_any_type_pydantic_validates() -> None:
    items = UnifiedSchema(list[Item])
    assert items.validate([{"sku": "a", "quantity": 2}]) == [Item(sku="a", quantity=2)]
    assert [issue.path for issue in items.errors([{"sku": "a", "quantity": 0}])] == [
        (0, "quantity")
    ]
    assert items.json_schema()["type"] == "array"


def test_a_validator_plugs_in_through_the_adapter() -> None:
    class EvenOnly(JSONSchemaAdapter):
        def compile(self, definition: Any) -> ValidateFn:
            def validate(value: Any) -> list[SchemaIssue]:
                return [] if value % 2 == 0 else [SchemaIssue((), "odd", "even")]

            return validate

    schema = UnifiedSchema({"title": "Even"}, adapter=EvenOnly())
    assert schema.validate(4) == 4
    with pytest.raises(JSONSchemaValidationError, match="1 validation error for Even: "):
        schema.validate(3)


class Event(BaseModel):
    when: datetime
    count: int


def test_strict_mode_is_json_strictness() -> None:
    """Strict refuses "3" for an int but, validating as JSON, takes a date string."""
    strict = UnifiedSchema(Event, strict=True)
    event = strict.validate({"when": "2024-05-01T12:00:00", "count": 3})
    assert event.when == datetime(2024, 5, 1, 12)
    assert [
        issue.path for issue in strict.errors({"when": "2024-05-01T12:00:00", "count": "3"})
    ] == [("count",)]
    assert UnifiedSchema(Event).validate({"when": "2024-05-01T12:00:00", "count": "3"}).count == 3
