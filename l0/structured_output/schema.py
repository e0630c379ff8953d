"""`UnifiedSchema`: one validation API over a Pydantic model (or any type Pydantic validates)
or a plain JSON Schema dict.

Both kinds answer the same questions: is this value valid (`validate`, `errors`), is this
text valid JSON of the schema (`validate_json`, strict JSON, never repaired), and is this
partial value, read from a stream that has not finished, valid so far (`validate_partial`)?
Failures raise `JSONSchemaValidationError` carrying every issue with its path.

"Valid so far" means: nothing received contradicts the schema. Issues that more text can
still fix are set apart as pending: a required property not yet received, a list or object
still shorter than its minimum, and, when the partial value ends with a string still being
written, anything wrong with that string. Pydantic schemas are checked with Pydantic's
partial validation (`experimental_allow_partial`, which also forgives an unfinished last
item of a list); JSON Schema alternatives (`anyOf`/`oneOf`) are pending when one of their
branches fails only in pending ways. The final value must still pass `validate`.

`strict=True` (Pydantic only) validates in Pydantic's strict JSON mode: no "3" for an int,
no 1 for a bool, as JSON Schema does.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast, overload

from l0.errors import Error, ErrorCode
from l0.jsonkit.partial import PartialJSON
from l0.jsonkit.strict import load
from l0.structured_output.json_schema import (
    JSONSchema,
    JSONSchemaAdapter,
    JSONSchemaDefinition,
    JSONSchemaValidationError,
    PathItem,
    SchemaIssue,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

# Issue kinds that more text can still fix (Pydantic error types, JSON Schema keywords).
PENDING_KINDS = frozenset(
    {"missing", "too_short", "required", "minItems", "minProperties", "dependentRequired"}
)


@dataclass(frozen=True, slots=True)
class PartialValidation:
    """How a partial value stands against its schema.

    `valid` is true when nothing received so far contradicts the schema; `errors` lists the
    contradictions, `pending` what is still missing or unfinished. `value` is the partial
    value itself (JSON data: dicts and lists), never presented as a validated object.
    """

    value: Any
    valid: bool
    errors: tuple[SchemaIssue, ...] = ()
    pending: tuple[SchemaIssue, ...] = ()


def _build_adapter(schema: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter
    from pydantic.errors import PydanticUserError

    try:
        return TypeAdapter(schema)
    except (PydanticUserError, TypeError) as exc:
        raise Error(
            f"Cannot validate with {schema!r}: give a Pydantic model class, a type Pydantic "
            f"can validate, or a JSON Schema dict ({exc})",
            code=ErrorCode.INVALID_ARGUMENT,
        ) from exc


_cached_adapter = functools.lru_cache(maxsize=256)(_build_adapter)


def _type_adapter(schema: Any) -> TypeAdapter[Any]:
    try:
        return _cached_adapter(schema)
    except TypeError:  # an unhashable annotation: build it each time
        return _build_adapter(schema)


def _issues_of(exc: ValidationError) -> list[SchemaIssue]:
    return [
        SchemaIssue(tuple(error["loc"]), error["msg"], error["type"])
        for error in exc.errors(include_url=False)
    ]


def _last_leaf_path(value: Any) -> tuple[PathItem, ...]:
    path: list[PathItem] = []
    while True:
        if isinstance(value, dict) and value:
            key = next(reversed(value))
            path.append(key)
            value = value[key]
        elif isinstance(value, list) and value:
            path.append(len(value) - 1)
            value = value[-1]
        else:
            return tuple(path)


def _is_pending(issue: SchemaIssue, open_path: tuple[PathItem, ...] | None) -> bool:
    if issue.kind in PENDING_KINDS or issue.path == open_path:
        return True
    return any(all(_is_pending(sub, open_path) for sub in branch) for branch in issue.branches)


class UnifiedSchema(Generic[T]):
    """A schema given as a Pydantic model (or type) or as a JSON Schema dict."""

    kind: Literal["pydantic", "json_schema"]

    @overload
    def __init__(
        self: UnifiedSchema[Any],
        schema: JSONSchemaDefinition | JSONSchema,
        *,
        name: str | None = None,
        adapter: JSONSchemaAdapter | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self: UnifiedSchema[T], schema: type[T], *, name: str | None = None, strict: bool = False
    ) -> None: ...
    @overload
    def __init__(
        self: UnifiedSchema[Any], schema: Any, *, name: str | None = None, strict: bool = False
    ) -> None: ...
    def __init__(
        self,
        schema: Any,
        *,
        name: str | None = None,
        strict: bool = False,
        adapter: JSONSchemaAdapter | None = None,
    ) -> None:
        self.schema = schema
        self.strict = strict
        self._json: JSONSchema | None = None
        self._pydantic: TypeAdapter[Any] | None = None
        if isinstance(schema, UnifiedSchema):
            raise Error(
                "schema is already a UnifiedSchema; use UnifiedSchema.of(schema) to accept both",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        if isinstance(schema, (JSONSchema, Mapping)):
            if strict:
                raise Error(
                    "strict=True applies to Pydantic schemas; JSON Schema is always strict",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
            self.kind = "json_schema"
            self._json = (
                schema
                if isinstance(schema, JSONSchema)
                else JSONSchema(schema, name=name, adapter=adapter)
            )
            self.name = name or self._json.name
        else:
            if adapter is not None:
                raise Error(
                    "adapter= applies to JSON Schema dicts, not to Pydantic schemas",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
            self.kind = "pydantic"
            self._pydantic = _type_adapter(schema)
            self.name = name or getattr(schema, "__name__", None) or repr(schema)

    @staticmethod
    def of(schema: Any) -> UnifiedSchema[Any]:
        """`schema` as a UnifiedSchema (returned as is when it already is one)."""
        return schema if isinstance(schema, UnifiedSchema) else UnifiedSchema(schema)

    def _check(
        self, value: Any, *, partial: bool = False
    ) -> tuple[Any, list[SchemaIssue], Exception | None]:
        """The validated value, the issues, and Pydantic's error (the value is meaningless
        when there are issues)."""
        if self._json is not None:
            return value, self._json.errors(value), None
        from pydantic import ValidationError
        from pydantic_core import to_json

        adapter = cast("TypeAdapter[Any]", self._pydantic)
        try:
            if self.strict:  # JSON-mode strictness: Python mode would refuse "2024-01-01"
                data = to_json(value)
                return (
                    adapter.validate_json(data, strict=True, experimental_allow_partial=partial),
                    [],
                    None,
                )
            return adapter.validate_python(value, experimental_allow_partial=partial), [], None
        except ValidationError as exc:
            return value, _issues_of(exc), exc

    def errors(self, value: Any) -> list[SchemaIssue]:
        """Every way `value` fails the schema (empty when it is valid)."""
        return self._check(value)[1]

    def is_valid(self, value: Any) -> bool:
        return not self._check(value)[1]

    def validate(self, value: Any) -> T:
        """The validated value (a model instance for a Pydantic model; the value itself for
        JSON Schema); `JSONSchemaValidationError` with every issue otherwise."""
        result, issues, cause = self._check(value)
        if issues:
            raise JSONSchemaValidationError(self.name, issues) from cause
        return cast(T, result)

    def validate_json(self, text: str) -> T:
        """Parse `text` as strict JSON (never repaired) and validate it."""
        return self.validate(load(text))

    def validate_partial(self, value: Any) -> PartialValidation:
        """Whether a partial value (or a `PartialJSON`) is valid so far; see the module doc."""
        open_path: tuple[PathItem, ...] | None = None
        if isinstance(value, PartialJSON):
            if value.pending_string:
                open_path = _last_leaf_path(value.value)
            value = value.value
        issues = self._check(value, partial=True)[1]
        pending = tuple(issue for issue in issues if _is_pending(issue, open_path))
        errors = tuple(issue for issue in issues if not _is_pending(issue, open_path))
        return PartialValidation(value, not errors, errors, pending)

    def json_schema(self) -> dict[str, Any]:
        """The schema as a JSON Schema dict (a copy: changing it changes nothing here)."""
        if self._json is not None:
            return copy.deepcopy(dict(self._json.definition))
        return cast("TypeAdapter[Any]", self._pydantic).json_schema()

    def __repr__(self) -> str:
        return f"UnifiedSchema({self.name}, kind={self.kind!r})"


__all__ = ["PENDING_KINDS", "PartialValidation", "UnifiedSchema"]
