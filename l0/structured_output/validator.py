"""Checking each attempt's output against the schema, as the run's final guardrail rule.

Validation is a guardrail rule (`schema`) that runs once per attempt, when its stream ends
(`streaming=False`). A refused output is an error-severity, recoverable violation, so the
runtime handles it like any content failure: it retries the same stream (the retry counts
toward `Retry.attempts`), then moves on to the fallbacks, then fails with a
`GUARDRAIL_VIOLATION` naming the rule. There is one retry engine, with its backoff, events
and budget, for network failures and validation failures alike.

One attempt's check:

1. The text is the attempt's content. When the model wrote no text but made exactly one tool
   call, its arguments are the text instead, parsed strictly: tool-call arguments are never
   repaired (a repaired call could do what the model never asked for).
2. With auto-correction, `JSON.auto_correct` extracts and repairs the JSON, closing what the
   model left open after a complete value (`{"name": "X", "age": 1` is read as
   `{"name": "X", "age": 1}`, as the reference's `auto_correct_json` does). A text that
   stopped inside a value (a string, a key, after a comma) is refused as `json_truncated`:
   balancing it would accept the front of a larger object. So is any unclosed text when the
   provider says it stopped at its token limit (`finish_reason == "length"`). Without
   auto-correction only exact JSON passes.
3. The parsed value is validated in full by the schema (`UnifiedSchema.validate`); the
   accepted object is always built here, from the complete text, never from a preview.

Parse failures are reported as `JSONSchemaValidationError`s too (issue kinds `json_invalid`,
`json_truncated`, `tool_calls`); that is what the run's failures and `StructuredOutputError`
hold. `on_validation_error` gets a `pydantic.ValidationError`, as the reference says: the
one Pydantic raised for a Pydantic schema, otherwise one built from the same issues (their
kind as its error `type`, their path as `loc`, the attempt's text as `input`). A user
callback (or a model validator) that raises stops the run with a fatal violation, and
`structured` re-raises the user's exception as it was.

Attempts are counted from the run's own STREAM_INIT events (one per stream opened, retries
and fallbacks included), seen through an `on_event` handler placed in front of the user's;
the same moment marks which tool calls belong to the attempt. The check runs as a plain
rule, so it needs nothing from the guardrail engine but the final call.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule, GuardrailViolation, Severity
from l0.jsonkit.correct import correct
from l0.jsonkit.namespace import JSON
from l0.jsonkit.strict import load
from l0.jsonkit.types import CorrectionType, JSONParseError
from l0.observability import EventHandler, ObservabilityEvent, ObservabilityEventType
from l0.structured_output.json_schema import JSONSchemaValidationError, SchemaIssue
from l0.structured_output.results import AutoCorrectInfo, StructuredState, ValidationFailure
from l0.structured_output.schema import UnifiedSchema
from l0.types import State

RULE_NAME = "schema"

OnValidationError = Callable[[ValidationError, int], object]
OnAutoCorrect = Callable[[AutoCorrectInfo], object]


@dataclass(frozen=True, slots=True)
class Accepted:
    """An attempt's output that passed: the validated object and the text it came from."""

    data: Any
    raw: str
    json: str
    corrections: tuple[CorrectionType, ...]


class _Refused(Exception):
    """Internal: the attempt's output failed; carries the error to report."""

    def __init__(self, error: JSONSchemaValidationError) -> None:
        super().__init__(error.message)
        self.error = error


class SchemaCheck:
    """The `schema` rule for one structured run, and what it found (see the module doc)."""

    def __init__(
        self,
        schema: UnifiedSchema[Any],
        *,
        auto_correct: bool,
        on_validation_error: OnValidationError | None = None,
        on_auto_correct: OnAutoCorrect | None = None,
    ) -> None:
        self.schema = schema
        self.auto_correct = auto_correct
        self.on_validation_error = on_validation_error
        self.on_auto_correct = on_auto_correct
        self.state = StructuredState(schema.name)
        self.accepted: Accepted | None = None
        self.user_error: Exception | None = None  # raised by a callback or a model validator
        self.attempt = 0  # the run's current attempt, from 1 (0: none opened yet)
        self._run_state: State | None = None
        self._tool_calls_from = 0  # tool calls recorded before the current attempt opened
        self._ours: list[GuardrailViolation] = []  # the violations this rule reported
        self.rule = GuardrailRule(
            name=RULE_NAME,
            check=self._check_attempt,
            description=f"The output is JSON that matches {schema.name}",
            streaming=False,
            severity="error",
            recoverable=True,
        )

    def bind(self, run_state: State) -> None:
        """The run's state, to tell each attempt's tool calls from earlier ones."""
        self._run_state = run_state

    def observer(self, user_handler: EventHandler | None) -> EventHandler:
        """An `on_event` handler that notes each attempt opening, then calls the user's."""

        def observe(event: ObservabilityEvent) -> None:
            if event.type is ObservabilityEventType.STREAM_INIT:
                self.attempt += 1
                state = self._run_state
                self._tool_calls_from = len(state.tool_calls) if state is not None else 0
            if user_handler is not None:
                user_handler(event)

        return observe

    def _check_attempt(self, state: State) -> list[GuardrailViolation]:
        return self.check(state, tool_calls=state.tool_calls[self._tool_calls_from :])

    def owns(self, error: BaseException) -> bool:
        """Whether `error` is the run failing on a violation this rule reported."""
        return isinstance(error, Error) and any(
            v is ours for v in error.violations for ours in self._ours
        )

    # -- one attempt ---------------------------------------------------------------------------

    def check(
        self, state: State, *, tool_calls: Sequence[dict[str, Any]]
    ) -> list[GuardrailViolation]:
        """Check the attempt that just ended; returns the violation to report, if any."""
        attempt = self.attempt
        raw = state.content
        started = time.perf_counter()
        try:
            cut = state.finish_reason == "length"  # the provider hit its token limit
            self.accepted = self._judge(raw, tool_calls, attempt, cut=cut)
        except _Refused as refused:
            return self._refuse(ValidationFailure(attempt, raw, refused.error))
        except Exception as exc:  # the user's code (a callback, a model validator) failed
            return self._stop(exc, attempt)
        finally:
            self.state.checked += 1
            self.state.validation_seconds += time.perf_counter() - started
        self.state.valid = True
        self.state.data = self.accepted.data
        return []

    def _judge(
        self, raw: str, tool_calls: Sequence[dict[str, Any]], attempt: int, *, cut: bool
    ) -> Accepted:
        text, corrections, value = self._parse(raw, tool_calls, cut=cut)
        if corrections:
            info = AutoCorrectInfo(raw, text, corrections, attempt)
            self.state.corrections.append(info)
            if self.on_auto_correct is not None:
                _call(self.on_auto_correct, info)
        try:
            data = self.schema.validate(value)
        except JSONSchemaValidationError as exc:
            raise _Refused(exc) from exc
        return Accepted(data, raw, text, corrections)

    def _parse(
        self, raw: str, tool_calls: Sequence[dict[str, Any]], *, cut: bool = False
    ) -> tuple[str, tuple[CorrectionType, ...], Any]:
        """The JSON text, the corrections applied, and the value (`cut`: the provider stopped
        at its token limit)."""
        if not raw.strip() and tool_calls:
            return self._parse_tool_call(tool_calls)
        if not self.auto_correct:
            try:
                return raw.strip(), (), load(raw, what="the output")
            except JSONParseError as exc:
                kind = "json_truncated" if exc.truncated else "json_invalid"
                raise self._parse_failure(kind, exc.message, exc) from exc
        try:
            result, value = correct(raw)
        except JSONParseError as exc:  # nested too deep to be read at all
            raise self._parse_failure("json_invalid", exc.message, exc) from exc
        if not result.success:
            raise self._parse_failure(
                "json_invalid", f"the output is not JSON, even corrected: {result.error}"
            )
        if result.truncated and (cut or _cut_mid_value(raw, result.corrections)):
            repairs = ", ".join(c.value for c in result.corrections)
            why = "at its token limit" if cut else "in the middle of a value"
            raise self._parse_failure(
                "json_truncated",
                f"the output ended {why}, before its JSON did; it could be balanced "
                f"({repairs}) but the object would be incomplete, so it is not accepted",
            )
        return result.corrected, result.corrections, value

    def _parse_tool_call(
        self, tool_calls: Sequence[dict[str, Any]]
    ) -> tuple[str, tuple[CorrectionType, ...], Any]:
        if len(tool_calls) != 1:
            names = ", ".join(str(call.get("name")) for call in tool_calls)
            raise self._parse_failure(
                "tool_calls",
                f"the model made {len(tool_calls)} tool calls ({names}) and wrote no text; "
                "structured output takes one JSON answer",
            )
        arguments = tool_calls[0].get("arguments") or ""
        try:
            return arguments.strip(), (), JSON.parse_tool_arguments(arguments)
        except JSONParseError as exc:
            kind = "json_truncated" if exc.truncated else "json_invalid"
            raise self._parse_failure(kind, exc.message, exc) from exc

    def _parse_failure(
        self, kind: str, message: str, cause: BaseException | None = None
    ) -> _Refused:
        error = JSONSchemaValidationError(self.schema.name, [SchemaIssue((), message, kind)])
        error.__cause__ = cause
        return _Refused(error)

    def _refuse(self, failure: ValidationFailure) -> list[GuardrailViolation]:
        self.state.failures.append(failure)
        if self.on_validation_error is not None:
            try:
                _call(
                    self.on_validation_error,
                    as_pydantic_error(failure.error, failure.raw),
                    failure.attempt,
                )
            except Exception as exc:
                return self._stop(exc, failure.attempt)
        return [self._violation(failure.error.message, "error", failure.attempt)]

    def _stop(self, exc: Exception, attempt: int) -> list[GuardrailViolation]:
        """The user's code raised: a fatal violation ends the run, and `structured`
        re-raises the exception itself."""
        self.user_error = exc
        return [self._violation(f"{type(exc).__name__}: {exc}", "fatal", attempt)]

    def _violation(self, message: str, severity: Severity, attempt: int) -> GuardrailViolation:
        violation = GuardrailViolation(
            rule=RULE_NAME,
            message=message,
            severity=severity,
            recoverable=severity != "fatal",
            context={"attempt": attempt, "schema": self.schema.name},
            suggestion="Ask for JSON matching the schema (include it in the prompt)"
            if severity != "fatal"
            else None,
        )
        self._ours.append(violation)
        return violation


# Repairs that mean the text stopped inside a value, not merely before its closing brackets.
_CUT_MID_VALUE = frozenset(
    {CorrectionType.TRUNCATED_STRING_CLOSED, CorrectionType.INCOMPLETE_MEMBER_REMOVED}
)


def _cut_mid_value(raw: str, corrections: Sequence[CorrectionType]) -> bool:
    """Whether a truncated text stopped inside a value (a string, a key, after a comma)
    rather than after a complete value with only closing brackets missing."""
    return bool(_CUT_MID_VALUE.intersection(corrections)) or raw.rstrip().endswith((",", ":"))


def as_pydantic_error(error: JSONSchemaValidationError, raw: str) -> ValidationError:
    """The `pydantic.ValidationError` behind `error`, or one with the same issues (see the
    module docstring)."""
    if isinstance(error.__cause__, ValidationError):
        return error.__cause__
    details: list[InitErrorDetails] = [
        {"type": PydanticCustomError(issue.kind, issue.message), "loc": issue.path, "input": raw}
        for issue in error.errors
    ]
    return ValidationError.from_exception_data(error.schema_name, details)


def _call(callback: Callable[..., object], *args: Any) -> None:
    """Call a user callback; callbacks are plain functions (an awaitable is refused)."""
    result = callback(*args)
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # a coroutine never awaited would warn
        raise Error(
            f"{getattr(callback, '__name__', 'the callback')} returned an awaitable; "
            "on_validation_error and on_auto_correct must be plain (sync) functions",
            code=ErrorCode.INVALID_ARGUMENT,
        )


__all__ = ["RULE_NAME", "Accepted", "SchemaCheck", "as_pydantic_error"]
