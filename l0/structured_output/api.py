"""The entry points: `structured` (the validated object), `structured_stream` (previews while
it streams, then the object), and the shape conveniences `structured_object` and
`structured_array`.

`schema` is a Pydantic model class (or any type Pydantic validates), a JSON Schema dict, a
`JSONSchema` or a `UnifiedSchema`; `result.data` is typed as the schema. Every other option
is keyword-only; those the reference lists come first. Extras: `config` (a
`StructuredConfig`, e.g. `l0.STRICT_STRUCTURED`), whose values apply where an argument is not
given, and every other option of `l0.run` (`timeout`, `context`, `guardrails`, ...: the
fields of `l0.RunOptions`), by keyword.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from l0.errors import Error, ErrorCode
from l0.observability import EventHandler
from l0.pipeline.run_options import checked_run_options
from l0.retry import Retry
from l0.runtime.api import RunKeywordsBesidesFallbacks
from l0.runtime.options import RunOptions
from l0.structured_output.config import StructuredConfig
from l0.structured_output.json_schema import JSONSchema, JSONSchemaDefinition
from l0.structured_output.results import StructuredResult
from l0.structured_output.run import StructuredRun
from l0.structured_output.schema import UnifiedSchema
from l0.structured_output.streaming import StructuredStreamResult
from l0.structured_output.validator import OnAutoCorrect, OnValidationError
from l0.timeout import Timeout

if TYPE_CHECKING:
    from typing_extensions import Unpack

T = TypeVar("T")

StreamSource = Any
"""A stream factory (`lambda: client.chat.completions.create(..., stream=True)`), or a stream
itself (an async iterator, or an awaitable returning one), which cannot be retried."""

JSONSchemaLike = JSONSchemaDefinition | JSONSchema


class StructuredOptions(RunKeywordsBesidesFallbacks, total=False):
    """The keyword options shared by every structured entry point (see `structured`): those
    of `l0.run` (fallbacks may be streams here) and the structured ones."""

    fallbacks: Sequence[StreamSource] | None
    auto_correct: bool | None
    on_validation_error: OnValidationError | None
    on_auto_correct: OnAutoCorrect | None
    config: StructuredConfig | None


@overload
async def structured(
    schema: type[T] | UnifiedSchema[T],
    stream: StreamSource,
    **options: Unpack[StructuredOptions],
) -> StructuredResult[T]: ...
@overload
async def structured(
    schema: JSONSchemaLike,
    stream: StreamSource,
    **options: Unpack[StructuredOptions],
) -> StructuredResult[Any]: ...
async def structured(
    schema: Any,
    stream: StreamSource,
    *,
    fallbacks: Sequence[StreamSource] | None = None,
    auto_correct: bool | None = None,
    retry: Retry | None = None,
    on_validation_error: OnValidationError | None = None,
    on_auto_correct: OnAutoCorrect | None = None,
    on_event: EventHandler | None = None,
    adapter: Any = None,
    timeout: Timeout | None = None,
    context: dict[str, Any] | None = None,
    config: StructuredConfig | None = None,
    **run_options: Any,
) -> StructuredResult[Any]:
    """Run `stream` until it produces JSON that matches `schema`; return the validated object.

    Each attempt's output is auto-corrected (`auto_correct`, default True) and validated when
    its stream ends. A failure retries the stream within `retry`'s budget (validation
    failures count toward `Retry.attempts`), then tries `fallbacks` in order, then raises
    `StructuredOutputError` (an `l0.Error`) with every attempt's text and errors. Output cut
    short is never accepted, repaired or not. `on_validation_error(error, attempt)` and
    `on_auto_correct(info)` are called as it happens (attempts count from 1); `on_event`
    receives the run's observability events. The other options of `l0.run` (`guardrails`,
    `event_store`, `breaker`, ...) apply as they do there.
    """
    run: StructuredRun[Any] = StructuredRun(
        schema,
        stream,
        fallbacks=fallbacks,
        auto_correct=auto_correct,
        on_validation_error=on_validation_error,
        on_auto_correct=on_auto_correct,
        config=config,
        options=_run_options(
            run_options,
            retry=retry,
            on_event=on_event,
            adapter=adapter,
            timeout=timeout,
            context=context,
        ),
    )
    try:
        events = await run.start()
        async with events:
            try:
                async for _event in events:
                    pass
            except Exception as exc:
                run.reraise(exc)
        return run.result(events)
    finally:
        await run.close()


@overload
async def structured_stream(
    schema: type[T] | UnifiedSchema[T],
    stream: StreamSource,
    *,
    include_pending_string: bool = False,
    **options: Unpack[StructuredOptions],
) -> StructuredStreamResult[T]: ...
@overload
async def structured_stream(
    schema: JSONSchemaLike,
    stream: StreamSource,
    *,
    include_pending_string: bool = False,
    **options: Unpack[StructuredOptions],
) -> StructuredStreamResult[Any]: ...
async def structured_stream(
    schema: Any,
    stream: StreamSource,
    *,
    fallbacks: Sequence[StreamSource] | None = None,
    auto_correct: bool | None = None,
    retry: Retry | None = None,
    on_validation_error: OnValidationError | None = None,
    on_auto_correct: OnAutoCorrect | None = None,
    on_event: EventHandler | None = None,
    adapter: Any = None,
    timeout: Timeout | None = None,
    context: dict[str, Any] | None = None,
    config: StructuredConfig | None = None,
    include_pending_string: bool = False,
    **run_options: Any,
) -> StructuredStreamResult[Any]:
    """Like `structured`, read as it streams: iterate the result for `StructuredPartial`
    previews (the fields received so far, valid so far, as plain JSON data), then the
    `StructuredResult`. With `include_pending_string=True` a string value still being
    written is previewed too. Nothing runs until the result is iterated."""
    if not isinstance(include_pending_string, bool):
        raise Error(
            f"include_pending_string must be a bool, got {include_pending_string!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    run: StructuredRun[Any] = StructuredRun(
        schema,
        stream,
        fallbacks=fallbacks,
        auto_correct=auto_correct,
        on_validation_error=on_validation_error,
        on_auto_correct=on_auto_correct,
        config=config,
        options=_run_options(
            run_options,
            retry=retry,
            on_event=on_event,
            adapter=adapter,
            timeout=timeout,
            context=context,
        ),
    )
    events = await run.start()
    return StructuredStreamResult(run, events, include_pending_string=include_pending_string)


def _run_options(others: dict[str, Any], **named: Any) -> RunOptions:
    """The run's options: those the structured entry points name, and the others of
    `l0.run` given by keyword (an unknown name is an `l0.Error`, not a TypeError)."""
    return checked_run_options({**others, **named}, where="structured()")


def _is_json_schema(value: object) -> bool:
    return isinstance(value, (Mapping, JSONSchema))


def _definition(value: Any) -> Mapping[str, Any]:
    return value.definition if isinstance(value, JSONSchema) else value


def object_schema(shape: Mapping[str, Any], *, name: str = "StructuredObject") -> Any:
    """The schema of an object with the fields of `shape`.

    Values are Pydantic annotations (`str`, `list[int]`, a model...), `(annotation, default)`
    pairs or `(annotation, Field(...))`, making a Pydantic model; or all JSON Schema dicts,
    making a JSON Schema object whose fields are all required.
    """
    if not isinstance(shape, Mapping) or not shape:
        raise Error(
            "structured_object needs a non-empty dict of field name -> type (or -> JSON Schema)",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    kinds = {_is_json_schema(value) for value in shape.values()}
    if kinds == {True}:
        return {
            "title": name,
            "type": "object",
            "properties": {key: dict(_definition(value)) for key, value in shape.items()},
            "required": list(shape),
        }
    if kinds != {False}:
        raise Error(
            "structured_object's shape mixes JSON Schema dicts and Python types; use one kind",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    from pydantic import create_model
    from pydantic.errors import PydanticUserError

    fields: dict[str, Any] = {}
    for key, value in shape.items():
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
            raise Error(
                f"structured_object field names must be public identifiers, got {key!r}; "
                "use a JSON Schema dict for other names",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        fields[key] = value if isinstance(value, tuple) else (value, ...)
    try:
        return create_model(name, **fields)
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise Error(
            f"structured_object could not build a model from the shape: {exc}",
            code=ErrorCode.INVALID_ARGUMENT,
        ) from exc


def array_schema(item_schema: Any) -> Any:
    """The schema of a JSON array whose items match `item_schema`."""
    if isinstance(item_schema, UnifiedSchema):
        if item_schema.kind == "json_schema":
            return {"type": "array", "items": item_schema.json_schema()}
        return list[item_schema.schema]
    if _is_json_schema(item_schema):
        return {"type": "array", "items": dict(_definition(item_schema))}
    return list[item_schema]


async def structured_object(
    shape: Mapping[str, Any],
    stream: StreamSource,
    *,
    name: str = "StructuredObject",
    **options: Unpack[StructuredOptions],
) -> StructuredResult[Any]:
    """`structured` for an object described inline: `{"name": str, "age": int}` (a model
    instance in `data`) or `{"name": {"type": "string"}}` (a dict in `data`)."""
    return await structured(object_schema(shape, name=name), stream, **options)


@overload
async def structured_array(
    item_schema: type[T] | UnifiedSchema[T],
    stream: StreamSource,
    **options: Unpack[StructuredOptions],
) -> StructuredResult[list[T]]: ...
@overload
async def structured_array(
    item_schema: JSONSchemaLike,
    stream: StreamSource,
    **options: Unpack[StructuredOptions],
) -> StructuredResult[list[Any]]: ...
async def structured_array(
    item_schema: Any,
    stream: StreamSource,
    **options: Unpack[StructuredOptions],
) -> StructuredResult[list[Any]]:
    """`structured` for a JSON array of `item_schema` items; `data` is a list."""
    result: StructuredResult[list[Any]] = await structured(
        array_schema(item_schema), stream, **options
    )
    return result


__all__ = [
    "StreamSource",
    "StructuredOptions",
    "array_schema",
    "object_schema",
    "structured",
    "structured_array",
    "structured_object",
    "structured_stream",
]
