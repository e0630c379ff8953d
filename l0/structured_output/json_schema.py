"""Validation against a plain JSON Schema dict, with every error and its path.

`JSONSchema(definition)` checks the definition once and validates values with it. The work is
done by a `JSONSchemaAdapter`; the default one uses the `jsonschema` package, with the draft
the definition names in `$schema` (Draft 2020-12 when it names none), `$ref`s resolved inside
the definition only (nothing is fetched), and `format` treated as an annotation, as the
drafts say by default. A different validator plugs in by subclassing the adapter.

`JSONSchemaValidationError` is also what `UnifiedSchema` raises for a Pydantic schema, so a
caller handles one error type whichever way the schema was given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from l0.errors import Error, ErrorCode
from l0.jsonkit.strict import load

JSONSchemaDefinition: TypeAlias = Mapping[str, Any]
"""A JSON Schema document, as the dict `json.loads` would give."""

PathItem: TypeAlias = "str | int"


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One way a value fails a schema.

    `path` leads from the root to the offending value (keys and list indexes; for a missing
    property it ends with the property's name); `kind` is the failed keyword (`type`,
    `required`, ...) for JSON Schema, or Pydantic's error type (`missing`, `int_parsing`...).
    For `anyOf`/`oneOf`, `branches` holds the issues of each alternative that failed.
    """

    path: tuple[PathItem, ...]
    message: str
    kind: str
    branches: tuple[tuple[SchemaIssue, ...], ...] = ()

    @property
    def location(self) -> str:
        """The path as a JSON Pointer (`/addr/city`, or `` for the root)."""
        return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in self.path)

    def __str__(self) -> str:
        return f"{self.location or '(root)'}: {self.message}"


class JSONSchemaValidationError(Error):
    """A value does not match its schema (given as a JSON Schema dict or a Pydantic model).

    `errors` holds every failure with its path; `schema_name` names the schema. For a
    Pydantic schema the `pydantic.ValidationError` is the `__cause__`.
    """

    def __init__(self, schema_name: str, errors: Iterable[SchemaIssue]) -> None:
        self.errors = tuple(errors)
        self.schema_name = schema_name
        count = len(self.errors)
        listed = "; ".join(str(issue) for issue in self.errors[:5])
        more = f"; and {count - 5} more" if count > 5 else ""
        plural = "s" if count != 1 else ""
        super().__init__(
            f"{count} validation error{plural} for {schema_name}: {listed}{more}",
            code=ErrorCode.INVALID_ARGUMENT,
        )


ValidateFn: TypeAlias = Callable[[Any], list[SchemaIssue]]


def _required_issue(error: Any, path: tuple[PathItem, ...]) -> SchemaIssue:
    # jsonschema reports one error per missing property; its name is only in the message.
    for name in error.validator_value:
        if error.message.startswith(f"{name!r} "):
            return SchemaIssue((*path, name), error.message, "required")
    return SchemaIssue(path, error.message, "required")


def issue_from_jsonschema(error: Any) -> SchemaIssue:
    """A `jsonschema.ValidationError` as a `SchemaIssue`."""
    path = tuple(error.absolute_path)
    if error.validator == "required":
        return _required_issue(error, path)
    branches: dict[Any, list[SchemaIssue]] = {}
    for sub in error.context or ():
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
        branches.setdefault(branch, []).append(issue_from_jsonschema(sub))
    alternatives = tuple(tuple(issues) for issues in branches.values())
    return SchemaIssue(path, error.message, str(error.validator), alternatives)


class JSONSchemaAdapter:
    """Turns a JSON Schema definition into a validating function; the default uses the
    `jsonschema` package. Subclass and override `compile` to use another validator."""

    def compile(self, definition: JSONSchemaDefinition) -> ValidateFn:
        """Check `definition` (raise `l0.Error` if it is not a valid schema) and return a
        function that lists the issues of a value."""
        import jsonschema  # type: ignore[import-untyped, unused-ignore]  # stubs are optional

        validator_class = jsonschema.validators.validator_for(
            definition, default=jsonschema.Draft202012Validator
        )
        try:
            validator_class.check_schema(definition)
        except jsonschema.SchemaError as exc:
            where = "/".join(map(str, exc.path)) or "its root"
            raise Error(
                f"The JSON Schema itself is invalid at {where}: {exc.message}. "
                "Fix the schema definition.",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from exc
        validator = validator_class(definition)

        def validate(value: Any) -> list[SchemaIssue]:
            return [issue_from_jsonschema(error) for error in validator.iter_errors(value)]

        return validate


_DEFAULT_ADAPTER = JSONSchemaAdapter()


class JSONSchema:
    """A JSON Schema definition, checked once, that validates JSON values."""

    def __init__(
        self,
        definition: JSONSchemaDefinition,
        *,
        name: str | None = None,
        adapter: JSONSchemaAdapter | None = None,
    ) -> None:
        if not isinstance(definition, Mapping):
            raise Error(
                f"A JSON Schema must be a dict, got {type(definition).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self.definition = definition
        title = definition.get("title")
        self.name = name or (title if isinstance(title, str) and title else "schema")
        self._validate = (adapter or _DEFAULT_ADAPTER).compile(definition)

    @classmethod
    def from_model(cls, model: Any, *, adapter: JSONSchemaAdapter | None = None) -> JSONSchema:
        """The JSON Schema of a Pydantic model (or any type Pydantic can validate)."""
        from pydantic import TypeAdapter

        return cls(TypeAdapter(model).json_schema(), adapter=adapter)

    def errors(self, value: Any) -> list[SchemaIssue]:
        """Every way `value` fails the schema (empty when it is valid)."""
        return self._validate(value)

    def is_valid(self, value: Any) -> bool:
        return not self._validate(value)

    def validate(self, value: Any) -> Any:
        """Return `value` if it is valid; raise `JSONSchemaValidationError` otherwise."""
        issues = self._validate(value)
        if issues:
            raise JSONSchemaValidationError(self.name, issues)
        return value

    def validate_json(self, text: str) -> Any:
        """Parse `text` as strict JSON and validate it (`JSONParseError` if not JSON)."""
        return self.validate(load(text))

    def __repr__(self) -> str:
        return f"JSONSchema(name={self.name!r})"


__all__ = [
    "JSONSchema",
    "JSONSchemaAdapter",
    "JSONSchemaDefinition",
    "JSONSchemaValidationError",
    "SchemaIssue",
    "ValidateFn",
    "issue_from_jsonschema",
]
