"""Read the whole text of a stream: `consume_stream` and `get_text`.

`consume_stream` uses the stream's own ``async read()`` when it has one (l0's `Stream` and
`LazyStream`). Otherwise it iterates the stream: ``str`` items are text, and of `l0.Event`s
it joins the text of TOKEN events, honours RESET events (keeps the first ``data["kept"]``
characters: a retry discarded the rest) and raises the error of an ERROR event. Every other
event (data, progress, tool calls, completion) carries no text and is skipped.

`get_text` is the same for a stream that has not run yet. A stream that already ran (its
`state` is completed or aborted, e.g. after ``async for`` and ``abort()``) is not read
again: its text is ``state.content``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Awaitable
from typing import Any, Protocol

from l0.errors import Error, ErrorCode
from l0.types import Event, EventType, State


class SupportsRead(Protocol):
    """Anything whose ``read()`` returns the full text, awaited (l0's `Stream`)."""

    def read(self) -> Awaitable[str]: ...


Readable = SupportsRead | AsyncIterable[Event] | AsyncIterable[str] | AsyncIterable[Event | str]


async def consume_stream(stream: Readable) -> str:
    """Consume `stream` and return its full text."""
    read = getattr(stream, "read", None)
    if callable(read):
        text = read()
        if inspect.isawaitable(text):
            text = await text
        if not isinstance(text, str):
            raise Error(
                f"consume_stream: {type(stream).__name__}.read() returned "
                f"{type(text).__name__}, expected str",
                code=ErrorCode.INVALID_STREAM,
            )
        return text
    if isinstance(stream, AsyncIterable):
        return await _join(stream)
    raise Error(
        f"consume_stream needs an l0 stream, an object with async read(), or an async "
        f"iterable of Events or str; got {type(stream).__name__}",
        code=ErrorCode.INVALID_ARGUMENT,
    )


async def get_text(result: Readable | str) -> str:
    """The full text of `result`: read now, or taken from the state of a stream that ran."""
    if isinstance(result, str):
        return result
    try:
        state = getattr(result, "state", None)
    except Exception:  # a lazy stream may refuse `state` before it starts: read it instead
        state = None
    if isinstance(state, State) and (state.completed or state.aborted):
        return state.content
    return await consume_stream(result)


async def _join(items: AsyncIterable[Any]) -> str:
    parts: list[str] = []
    async for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif not isinstance(item, Event):
            await _close(items)
            raise Error(
                f"consume_stream: expected Events or str from the stream, got "
                f"{type(item).__name__}",
                code=ErrorCode.INVALID_CHUNK,
            )
        elif item.type is EventType.TOKEN:
            if item.text:
                parts.append(item.text)
        elif item.type is EventType.RESET:
            kept = (item.data or {}).get("kept", 0)
            parts[:] = ["".join(parts)[:kept]]
        elif item.type is EventType.ERROR:
            await _close(items)
            if item.error is not None:
                raise item.error
            raise Error(
                f"the stream failed: {item.text or 'an error event without an exception'}",
                code=ErrorCode.INTERNAL_ERROR,
            )
    return "".join(parts)


async def _close(items: AsyncIterable[Any]) -> None:
    # Leaving an async generator suspended lets it be finalized at some random later point
    # (trio warns about it); close it now that we stop early.
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        await aclose()


__all__ = ["SupportsRead", "consume_stream", "get_text"]
