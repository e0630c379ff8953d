"""Structured output: validated objects from LLM streams, and the schemas that validate them.

| module | holds |
|---|---|
| `api` | `structured`, `structured_stream`, `structured_object`, `structured_array` |
| `run` | one structured run: arguments, stream sources, the runtime run, its ending |
| `validator` | the `schema` rule: each attempt's output parsed, corrected and validated |
| `streaming` | `StructuredStreamResult`: previews while the JSON streams in |
| `results` | results, previews, state, telemetry, `AutoCorrectInfo`, the error |
| `config` | `StructuredConfig` and its presets |
| `schema`, `json_schema` | `UnifiedSchema` and the JSON Schema path |

This package and the function `l0.structured` share a name. Python binds a package to its
parent's attribute when the package is first imported, so `l0.structured` could turn into
this module depending on import order; the module is therefore made callable, and calling it
calls `structured(...)`. Pydantic is imported only when a schema is first built.
"""

import sys
import types
from typing import Any

from l0.structured.api import (
    structured,
    structured_array,
    structured_object,
    structured_stream,
)
from l0.structured.config import (
    MINIMAL_STRUCTURED,
    RECOMMENDED_STRUCTURED,
    STRICT_STRUCTURED,
    StructuredConfig,
)
from l0.structured.json_schema import (
    JSONSchema,
    JSONSchemaAdapter,
    JSONSchemaDefinition,
    JSONSchemaValidationError,
    SchemaIssue,
)
from l0.structured.results import (
    AutoCorrectInfo,
    StructuredOutputError,
    StructuredPartial,
    StructuredResult,
    StructuredState,
    StructuredTelemetry,
    ValidationFailure,
)
from l0.structured.schema import PartialValidation, UnifiedSchema
from l0.structured.streaming import StructuredStreamResult


class _CallablePackage(types.ModuleType):
    """`l0.structured(...)` works even when `l0.structured` is bound to this package."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return structured(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = [
    "MINIMAL_STRUCTURED",
    "RECOMMENDED_STRUCTURED",
    "STRICT_STRUCTURED",
    "AutoCorrectInfo",
    "JSONSchema",
    "JSONSchemaAdapter",
    "JSONSchemaDefinition",
    "JSONSchemaValidationError",
    "PartialValidation",
    "SchemaIssue",
    "StructuredConfig",
    "StructuredOutputError",
    "StructuredPartial",
    "StructuredResult",
    "StructuredState",
    "StructuredStreamResult",
    "StructuredTelemetry",
    "UnifiedSchema",
    "ValidationFailure",
    "structured",
    "structured_array",
    "structured_object",
    "structured_stream",
]
