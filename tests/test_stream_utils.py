"""consume_stream and get_text on streams with read(), event iterables and str iterables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from l0.errors import Error, ErrorCode
from l0.stream_utils import consume_stream, get_text
from l0.types import Event, EventType, State

pytestmark = pytest.mark.anyio


def _token(text: str) -> Event:
    return Event(type=EventType.TOKEN, text=text)


async def _events(*events: Event) -> AsyncIterator[Event]:
    for event in events:
        yield event


class FakeStream:
    """Stands in for l0's Stream: events, a live state, abort() and read()."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = tokens
        self.state = State()
        self.reads = 0

    def __aiter__(self) -> FakeStream:
        self._position = 0
        return self

    async def __anext__(self) -> Event:
        if self.state.aborted or self._position == len(self.tokens):
            self.state.completed = not self.state.aborted
            raise StopAsyncIteration
        text = self.tokens[self._position]
        self._position += 1
        self.state.content += text
        return _token(text)

    def abort(self) -> None:
        self.state.aborted = True

    async def read(self) -> str:
        self.reads += 1
        async for _ in self:
            pass
        return self.state.content


async def test_consume_stream_uses_read_when_there_is_one() -> None:
    stream = FakeStream("Hel", "lo")
    assert await consume_stream(stream) == "Hello"
    assert stream.reads == 1


async def test_consume_stream_joins_token_events_and_skips_the_rest() -> None:
    events = _events(
        _token("Hello"),
        Event(type=EventType.DATA, data={"content_type": "json", "data": 1}),
        Event(type=EventType.PROGRESS, data={"percent": 50}),
        Event(type=EventType.TOOL_CALL, data={"name": "f"}),
        Event(type=EventType.MESSAGE, text="not a token"),
        _token(""),
        _token(" world"),
        Event(type=EventType.COMPLETE, usage={"output_tokens": 2}),
    )
    assert await consume_stream(events) == "Hello world"


async def test_consume_stream_joins_str_items() -> None:
    async def chunks() -> AsyncIterator[str]:
        for part in ("a", "b", "c"):
            yield part

    assert await consume_stream(chunks()) == "abc"


async def test_consume_stream_honours_reset_events() -> None:
    events = _events(
        _token("Hello wor"),
        Event(type=EventType.RESET, data={"kept": 6, "discarded": 3}),
        _token("world"),
    )
    assert await consume_stream(events) == "Hello world"


async def test_consume_stream_raises_the_error_of_an_error_event_and_closes() -> None:
    closed = []

    async def failing() -> AsyncIterator[Event]:
        try:
            yield _token("partial")
            yield Event(type=EventType.ERROR, error=ConnectionResetError("dropped"))
            yield _token("never")
        finally:
            closed.append(True)

    with pytest.raises(ConnectionResetError, match="dropped"):
        await consume_stream(failing())
    assert closed == [True]


async def test_error_event_without_exception_is_an_l0_error() -> None:
    with pytest.raises(Error, match="boom"):
        await consume_stream(_events(Event(type=EventType.ERROR, text="boom")))


async def test_consume_stream_rejects_foreign_items_and_objects() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(Error) as info:
        await consume_stream(numbers())  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_CHUNK

    with pytest.raises(Error) as info:
        await consume_stream(["a", "b"])  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_ARGUMENT

    class BytesReader:
        async def read(self) -> bytes:
            return b"x"

    with pytest.raises(Error) as info:
        await consume_stream(BytesReader())  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_STREAM


async def test_get_text_reads_a_fresh_stream() -> None:
    result = FakeStream("Hi", "!")
    text = await get_text(result)
    assert text == "Hi!"
    assert result.reads == 1


async def test_get_text_after_iteration_uses_the_state_without_reading_again() -> None:
    result = FakeStream("a", "b")
    async for _ in result:
        pass
    assert await get_text(result) == "ab"
    assert result.reads == 0


async def test_aborting_streams_example_then_get_text_returns_the_partial_text() -> None:
    result = FakeStream("one ", "two ", "three")
    processed = []

    # Start consuming
    async for event in result:
        if event.text == "two ":  # should_stop(event)
            result.abort()
            break
        processed.append(event.text)

    # Check if aborted
    assert result.state.aborted is True
    assert processed == ["one "]
    assert await get_text(result) == "one two "


async def test_get_text_of_a_str_is_the_str() -> None:
    assert await get_text("done") == "done"


async def test_get_text_falls_back_to_reading_when_state_is_not_ready() -> None:
    class Lazy:
        @property
        def state(self) -> State:
            raise Error("not started", code=ErrorCode.INVALID_STREAM)

        async def read(self) -> str:
            return "lazy text"

    assert await get_text(Lazy()) == "lazy text"
