"""One structured run, shared by `structured` and `structured_stream`: the arguments checked
and merged with the config, the streams turned into factories, the runtime run with the
`schema` rule, and its ending turned into a `StructuredResult` or an error.

A stream may be given as a factory (a callable returning a stream, re-created for every
attempt) or as a stream itself (an async iterator, or an awaitable such as an un-awaited
`client.chat.completions.create(...)`). A stream itself can be read once: its attempt is never
retried, so a validation or network failure moves straight on to the next fallback (through
the runtime's own `should_retry` veto), and a stream given as a fallback that was never
needed is closed at the end.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

import anyio

from l0.callbacks import refuse_async
from l0.errors import Error, ErrorCode
from l0.retry import Retry
from l0.runtime.options import NO_OPTIONS, RunOptions
from l0.runtime.plan import make_plan
from l0.runtime.stream import Stream
from l0.structured_output.config import StructuredConfig
from l0.structured_output.json_schema import JSONSchema
from l0.structured_output.results import (
    StructuredOutputError,
    StructuredResult,
    StructuredTelemetry,
)
from l0.structured_output.schema import UnifiedSchema
from l0.structured_output.validator import OnAutoCorrect, OnValidationError, SchemaCheck

if TYPE_CHECKING:
    from l0.types import ErrorCategory, State

T = TypeVar("T")

logger = logging.getLogger("l0")

_CLOSE_GRACE = 5.0  # seconds an unused stream gets to close
# The schema rule only runs when a stream ends: without streaming rules of the caller's,
# no streaming checks are ever due.
_NO_STREAMING_CHECKS = 1 << 62
_DEFAULT_CONFIG = StructuredConfig()


def _is_stream(value: object) -> bool:
    return hasattr(value, "__aiter__") or hasattr(value, "__await__")


class _OneShot:
    """A stream given as is, as a factory that can be called once."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.used = False

    def __call__(self) -> object:
        if self.used:  # the retry veto keeps this from happening
            raise Error(
                "A stream passed as is can be read only once; pass a factory (lambda: ...) "
                "to let l0 re-create it for a retry",
                code=ErrorCode.INVALID_STREAM,
            )
        self.used = True
        return self._stream

    async def discard(self) -> None:
        """Close the stream if no attempt ever used it."""
        if self.used:
            return
        self.used = True
        stream = self._stream
        if inspect.iscoroutine(stream):
            stream.close()  # never awaited: close it so it does not warn
            return
        closer = getattr(stream, "aclose", None) or getattr(stream, "close", None)
        if closer is None:
            return
        with anyio.move_on_after(_CLOSE_GRACE, shield=True):
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.debug("l0: closing an unused stream raised", exc_info=True)


def _problem(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _factory(source: object, what: str) -> Callable[[], Any]:
    if _is_stream(source):
        return _OneShot(source)
    if callable(source):
        return source
    raise _problem(
        f"{what} must be a stream (an async iterator or awaitable) or a factory returning "
        f"one, got {type(source).__name__}"
    )


def resolve_schema(schema: Any, *, strict: bool) -> UnifiedSchema[Any]:
    """`schema` as a UnifiedSchema; `strict` applies to a Pydantic schema given bare."""
    if schema is None:
        raise _problem("schema is required: a Pydantic model class or a JSON Schema dict")
    if isinstance(schema, UnifiedSchema):
        return schema
    if isinstance(schema, (JSONSchema, Mapping)):
        return UnifiedSchema(schema)  # JSON Schema is strict by type already
    return UnifiedSchema(schema, strict=strict)


def _without_retries_for(indexes: frozenset[int], retry: Retry) -> Retry:
    """`retry`, vetoing any retry of the streams at `indexes` (they cannot be re-created)."""
    user = retry.should_retry

    def should_retry(
        error: BaseException, state: State, attempt: int, category: ErrorCategory
    ) -> Any:
        if state.fallback_index in indexes:
            return False
        return True if user is None else user(error, state, attempt, category)

    return dataclasses.replace(retry, should_retry=should_retry)


class StructuredRun(Generic[T]):
    """The pieces of one structured run (see the module docstring)."""

    def __init__(
        self,
        schema: Any,
        stream: object,
        *,
        fallbacks: Sequence[object] | None = None,
        auto_correct: bool | None = None,
        on_validation_error: OnValidationError | None = None,
        on_auto_correct: OnAutoCorrect | None = None,
        config: StructuredConfig | None = None,
        options: RunOptions = NO_OPTIONS,
    ) -> None:
        """Check the arguments (an `l0.Error` names the first problem) and prepare the run;
        `options` are the run's (`retry`, `timeout`, `on_event`, `guardrails`... as for
        `l0.run`, checked already); those given win over the config's values."""
        if config is None:
            config = _DEFAULT_CONFIG
        elif not isinstance(config, StructuredConfig):
            raise _problem(f"config must be an l0.StructuredConfig, got {type(config).__name__}")
        for name, callback in (
            ("on_validation_error", on_validation_error),
            ("on_auto_correct", on_auto_correct),
        ):
            if callback is not None and not callable(callback):
                raise _problem(f"{name} must be callable, got {type(callback).__name__}")
            refuse_async(callback, name, "It is called as validation happens.")
        if auto_correct is not None and not isinstance(auto_correct, bool):
            raise _problem(f"auto_correct must be a bool, got {auto_correct!r}")
        if fallbacks is not None and (
            isinstance(fallbacks, (str, bytes)) or not isinstance(fallbacks, Sequence)
        ):
            raise _problem(
                f"fallbacks must be a list of streams or factories, got {type(fallbacks).__name__}"
            )
        chosen_retry = options.retry if options.retry is not None else config.retry
        self.schema: UnifiedSchema[T] = resolve_schema(schema, strict=config.strict)
        self._factories = [
            _factory(source, "stream" if index == 0 else f"fallbacks[{index - 1}]")
            for index, source in enumerate([stream, *(fallbacks or ())])
        ]
        single = frozenset(
            index for index, f in enumerate(self._factories) if isinstance(f, _OneShot)
        )
        chosen_retry = chosen_retry if chosen_retry is not None else Retry()
        self._retry = _without_retries_for(single, chosen_retry) if single else chosen_retry
        self._options = options
        self._timeout = options.timeout if options.timeout is not None else config.timeout
        self.check = SchemaCheck(
            self.schema,
            auto_correct=config.auto_correct if auto_correct is None else auto_correct,
            on_validation_error=on_validation_error,
            on_auto_correct=on_auto_correct,
        )

    async def start(self) -> Stream:
        """The runtime run (lazy: nothing happens until it is iterated)."""
        given = self._options
        streaming_rules = given.guardrails or given.drift_detector is not None
        options = given.merge(
            RunOptions(
                fallbacks=self._factories[1:],
                guardrails=[*given.guardrails, self.check.rule],
                retry=self._retry,
                timeout=self._timeout,
                on_event=self.check.observer(given.on_event),
                check_interval=None
                if streaming_rules or "check_interval" in given.given
                else _NO_STREAMING_CHECKS,
            )
        )
        stream = Stream(make_plan(self._factories[0], options))
        self.check.bind(stream.state)
        return stream

    def result(self, stream: Stream) -> StructuredResult[T]:
        """The result of a run that completed (its last attempt passed the schema)."""
        state = stream.state
        accepted = self.check.accepted
        if accepted is None or not state.completed:
            raise Error("The run ended without a validated object", code=ErrorCode.INTERNAL_ERROR)
        structured_state = self.check.state
        attempts = self.check.attempt
        telemetry = StructuredTelemetry(
            schema_name=self.schema.name,
            attempts=attempts,
            validation_attempts=structured_state.checked,
            validation_failures=len(structured_state.failures),
            auto_corrected=len(structured_state.corrections),
            corrections=accepted.corrections,
            fallback_index=state.fallback_index,
            model_retries=state.model_retry_count,
            network_retries=state.network_retry_count,
            token_count=state.token_count,
            partials=structured_state.partials,
            duration=state.duration,
            validation_seconds=structured_state.validation_seconds,
        )
        return StructuredResult(
            data=accepted.data,
            raw=accepted.raw,
            json=accepted.json,
            corrections=accepted.corrections,
            attempts=attempts,
            failures=tuple(structured_state.failures),
            state=state,
            structured_state=structured_state,
            telemetry=telemetry,
            _run=stream,
        )

    def reraise(self, error: Exception) -> NoReturn:
        """Raise what the user should see for the run's `error` (call it in `except`)."""
        if self.check.user_error is not None:
            raise self.check.user_error  # a callback or validator of theirs raised
        if self.check.owns(error):
            assert isinstance(error, Error)
            problem = StructuredOutputError(self.schema.name, tuple(self.check.state.failures))
            problem.context = error.context
            problem.violations = list(error.violations)
            raise problem from error
        raise error

    async def close(self) -> None:
        """Close the streams given as is that no attempt used."""
        for factory in self._factories:
            if isinstance(factory, _OneShot):
                await factory.discard()


__all__ = ["StructuredRun", "resolve_schema"]
