"""Structured output: schemas (Pydantic models or JSON Schema dicts) and their validation.

`schema.py` holds `UnifiedSchema`, `json_schema.py` the JSON Schema path.
"""

from l0.structured.json_schema import (
    JSONSchema,
    JSONSchemaAdapter,
    JSONSchemaDefinition,
    JSONSchemaValidationError,
    SchemaIssue,
)
from l0.structured.schema import PartialValidation, UnifiedSchema

__all__ = [
    "JSONSchema",
    "JSONSchemaAdapter",
    "JSONSchemaDefinition",
    "JSONSchemaValidationError",
    "PartialValidation",
    "SchemaIssue",
    "UnifiedSchema",
]
