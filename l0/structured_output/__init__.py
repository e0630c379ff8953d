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

The package is named `structured_output` so that importing it never rebinds `l0.structured`,
the function. Pydantic is imported only when a schema is first built.
"""

from l0.structured_output.api import (
    structured,
    structured_array,
    structured_object,
    structured_stream,
)
from l0.structured_output.config import (
    MINIMAL_STRUCTURED,
    RECOMMENDED_STRUCTURED,
    STRICT_STRUCTURED,
    StructuredConfig,
)
from l0.structured_output.json_schema import (
    JSONSchema,
    JSONSchemaAdapter,
    JSONSchemaDefinition,
    JSONSchemaValidationError,
    SchemaIssue,
)
from l0.structured_output.results import (
    AutoCorrectInfo,
    StructuredOutputError,
    StructuredPartial,
    StructuredResult,
    StructuredState,
    StructuredTelemetry,
    ValidationFailure,
)
from l0.structured_output.schema import PartialValidation, UnifiedSchema
from l0.structured_output.streaming import StructuredStreamResult

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
