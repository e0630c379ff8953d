"""What a structured run reports: the result, its partial previews, its live state, its
telemetry, and the error raised when no attempt produced a valid object.

A `StructuredResult` is only ever built from text that parsed completely and passed the
schema's strict validation; a `StructuredPartial` is a preview of JSON data still arriving and
is a different type, so one can never be taken for the other (`is_final` says which is which
without an isinstance check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from l0.errors import Error, ErrorCode
from l0.jsonkit.types import CorrectionType

if TYPE_CHECKING:
    from l0.runtime.stream import Stream
    from l0.structured_output.json_schema import JSONSchemaValidationError, SchemaIssue
    from l0.types import State

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AutoCorrectInfo:
    """Auto-correction changed an attempt's text before validation.

    `original` is the model's text, `corrected` the JSON text validated instead, `corrections`
    each kind of repair applied (once, in order), `attempt` the attempt number (1 = first).
    """

    original: str
    corrected: str
    corrections: tuple[CorrectionType, ...]
    attempt: int


@dataclass(frozen=True, slots=True)
class ValidationFailure:
    """One attempt whose output was refused: its number, its text, and why."""

    attempt: int
    raw: str
    error: JSONSchemaValidationError


@dataclass(slots=True)
class StructuredState:
    """What a structured run knows, live while it runs.

    `checked` counts the attempts whose output was checked against the schema (attempts that
    failed before their stream ended are not among them); `failures` holds each refused one;
    `corrections` the repairs applied to each accepted or refused text (one entry per attempt
    that needed any). `data` is set, and `valid` true, once an attempt passes. `partial` is
    the latest preview `structured_stream` yielded (JSON data, never a model instance).
    """

    schema_name: str
    checked: int = 0
    failures: list[ValidationFailure] = field(default_factory=list)
    corrections: list[AutoCorrectInfo] = field(default_factory=list)
    valid: bool = False
    data: Any = None
    partial: Any = None
    partials: int = 0
    validation_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class StructuredTelemetry:
    """Numbers about a finished structured run. Durations are seconds.

    `attempts` counts every stream opened (network retries and fallbacks included);
    `validation_attempts` those whose output was checked against the schema;
    `auto_corrected` those whose text needed auto-correction; `partials` the previews
    `structured_stream` yielded (0 for `structured`).
    """

    schema_name: str
    attempts: int
    validation_attempts: int
    validation_failures: int
    auto_corrected: int
    corrections: tuple[CorrectionType, ...]
    fallback_index: int
    model_retries: int
    network_retries: int
    token_count: int
    partials: int
    duration: float | None
    validation_seconds: float


@dataclass(frozen=True)  # no slots: Python 3.10 cannot build StructuredResult[X](...) with them
class StructuredResult(Generic[T]):
    """A validated object and how it was obtained.

    `data` is the schema's type (a model instance for a Pydantic model, the JSON value for a
    JSON Schema dict). `raw` is the accepted attempt's text as the model wrote it, `json` the
    JSON text that was validated (after auto-correction), `corrections` the repairs that took
    (empty when the text was clean). `attempts` counts every stream opened; `failures` holds
    the refused attempts before this one. `state` is the run's `l0.State`, `structured_state`
    the structured run's own; `diagram()` draws the path the run took through the runtime
    machine.
    """

    data: T
    raw: str
    json: str
    corrections: tuple[CorrectionType, ...]
    attempts: int
    failures: tuple[ValidationFailure, ...]
    state: State
    structured_state: StructuredState
    telemetry: StructuredTelemetry
    _run: Stream | None = field(default=None, repr=False, compare=False)

    def diagram(self, *, full: bool = False) -> str:
        """The path the run behind this result took through the runtime machine, as mermaid
        (as `Stream.diagram`; `full=True` draws the whole machine with the path marked)."""
        if self._run is None:
            raise Error(
                "This result was not made by a run (built by hand): it has no path to draw",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return self._run.diagram(full=full)

    @property
    def corrected(self) -> bool:
        """Auto-correction changed the text before it validated."""
        return bool(self.corrections)

    @property
    def is_final(self) -> Literal[True]:
        """Always True: a result is the strictly validated object (see `StructuredPartial`)."""
        return True


@dataclass(frozen=True, slots=True)
class StructuredPartial:
    """A preview from `structured_stream`: the JSON data received so far, valid so far.

    `value` holds the fields (or items) present so far as plain JSON data, never a model
    instance; every field it has will appear in the final object with the same value, except
    the last one, which may still grow. `pending` lists what the schema still needs (required
    fields not yet received...). `attempt` is the attempt it belongs to: after a retry the
    previews start over. `pending_string` is true when the last value is a string still being
    written (only with `include_pending_string=True`).
    """

    value: Any
    attempt: int
    pending: tuple[SchemaIssue, ...] = ()
    pending_string: bool = False

    @property
    def is_final(self) -> Literal[False]:
        """Always False: a preview is never the validated object."""
        return False


class StructuredOutputError(Error):
    """No attempt produced output that parses and matches the schema.

    `failures` holds every refused attempt (its number, text and validation error), in order;
    `validation_errors` their errors; `raw` the last attempt's text. The runtime's error
    (whose `violations` name the `schema` rule) is the `__cause__`.
    """

    def __init__(self, schema_name: str, failures: tuple[ValidationFailure, ...]) -> None:
        self.schema_name = schema_name
        self.failures = failures
        self.validation_errors = tuple(failure.error for failure in failures)
        self.raw = failures[-1].raw if failures else ""
        count = len(failures)
        last = failures[-1].error.message if failures else "no output was checked"
        super().__init__(
            f"No valid {schema_name} after {count} checked attempt{'s' if count != 1 else ''} "
            f"(retries and fallbacks exhausted). Last: {last}. Every attempt's text and "
            "errors are in .failures.",
            code=ErrorCode.GUARDRAIL_VIOLATION,
        )


__all__ = [
    "AutoCorrectInfo",
    "StructuredOutputError",
    "StructuredPartial",
    "StructuredResult",
    "StructuredState",
    "StructuredTelemetry",
    "ValidationFailure",
]
