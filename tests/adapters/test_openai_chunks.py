"""The OpenAI adapter on in-process chunk streams: the adapter invariants, without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.adapters import LiteLLMAdapter, OpenAIAdapter, OpenAIAdapterOptions
from l0.errors import Error, ErrorCode
from l0.types import Event, EventType

pytestmark = pytest.mark.anyio


def chunk(
    content: str | None = None,
    *,
    finish_reason: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    index: int = 0,
    model: str | None = "gpt-test",
    usage: dict[str, Any] | None = None,
    refusal: str | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": content}
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    if refusal is not None:
        delta["refusal"] = refusal
    choice = {"index": index, "delta": delta, "finish_reason": finish_reason}
    return {"model": model, "choices": [choice], "usage": usage}


class FakeStream:
    """An async iterator over the given chunks that raises `error` at the end, if given."""

    def __init__(self, chunks: Sequence[Any], error: BaseException | None = None) -> None:
        self.chunks = list(chunks)
        self.error = error
        self.closed = 0

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> Any:
        if self.chunks:
            return self.chunks.pop(0)
        if self.error is not None:
            raise self.error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closed += 1


class GeneratorStream:
    """Like openai's AsyncStream: `__aiter__` makes a new async generator each time."""

    def __init__(self, chunks: Sequence[Any]) -> None:
        self.chunks = list(chunks)
        self.generators: list[Any] = []
        self.closed = 0

    def __aiter__(self) -> AsyncIterator[Any]:
        generator = self._iterate()
        self.generators.append(generator)
        return generator

    async def _iterate(self) -> AsyncIterator[Any]:
        for item in self.chunks:
            yield item

    async def aclose(self) -> None:
        self.closed += 1


async def events_of(stream: Any, adapter: OpenAIAdapter | None = None) -> list[Event]:
    return [event async for event in (adapter or OpenAIAdapter()).wrap(stream)]


async def test_tokens_then_one_complete_with_finish_reason_model_and_usage() -> None:
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 2,
        "total_tokens": 7,
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    stream = FakeStream(
        [
            chunk(""),
            chunk("Hel"),
            chunk("lo"),
            chunk(finish_reason="stop"),
            {"model": "gpt-test", "choices": [], "usage": usage},
        ]
    )
    events = await events_of(stream)
    assert [(e.type, e.text) for e in events] == [
        (EventType.TOKEN, "Hel"),
        (EventType.TOKEN, "lo"),
        (EventType.COMPLETE, None),
    ]
    assert events[-1].data == {"finish_reason": "stop", "model": "gpt-test"}
    assert events[-1].usage == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert stream.closed == 1


async def test_none_and_empty_content_make_no_token_events() -> None:
    events = await events_of(FakeStream([chunk(None), chunk(""), {"choices": []}, chunk("x")]))
    assert [e.text for e in events if e.is_token] == ["x"]


async def test_end_without_finish_reason_is_an_incomplete_stream_error() -> None:
    events = await events_of(FakeStream([chunk("a")]))
    assert [e.type for e in events] == [EventType.TOKEN, EventType.ERROR]
    assert isinstance(events[-1].error, l0.Error)
    assert events[-1].error.code is l0.ErrorCode.INCOMPLETE_STREAM


async def test_an_error_from_the_stream_is_one_error_event_with_the_same_object() -> None:
    boom = ConnectionResetError("peer went away")
    stream = FakeStream([chunk("a"), chunk("b")], error=boom)
    events = await events_of(stream)
    assert [e.type for e in events] == [EventType.TOKEN, EventType.TOKEN, EventType.ERROR]
    assert events[-1].error is boom
    assert stream.closed == 1


async def test_a_stream_that_is_not_iterable_becomes_an_error_event() -> None:
    events = await events_of(object())
    assert len(events) == 1 and events[0].is_error
    assert isinstance(events[0].error, TypeError)


async def test_breaking_out_early_closes_the_provider_stream() -> None:
    stream = FakeStream([chunk("a"), chunk("b"), chunk(finish_reason="stop")])
    events = OpenAIAdapter().wrap(stream)
    first = await events.__anext__()
    assert first.text == "a"
    await events.aclose()  # type: ignore[attr-defined]
    assert stream.closed == 1


async def test_breaking_out_early_also_closes_the_iterator_the_stream_made() -> None:
    stream = GeneratorStream([chunk("a"), chunk("b")])
    events = OpenAIAdapter().wrap(stream)
    assert (await events.__anext__()).text == "a"
    await events.aclose()  # type: ignore[attr-defined]
    (generator,) = stream.generators
    assert generator.ag_frame is None  # finished: closed, not left for the garbage collector
    assert stream.closed == 1


async def test_a_generator_stream_is_read_to_the_end() -> None:
    events = await events_of(GeneratorStream([chunk("a"), chunk(finish_reason="stop")]))
    assert [e.type for e in events] == [EventType.TOKEN, EventType.COMPLETE]


async def test_sync_close_is_used_when_there_is_no_aclose() -> None:
    closed: list[bool] = []

    class SyncClosing(FakeStream):
        aclose = None  # type: ignore[assignment]  # only close() is there

        def close(self) -> None:
            closed.append(True)

    await events_of(SyncClosing([chunk("a")]))
    assert closed == [True]


async def test_tool_calls_are_emitted_whole_at_the_finish_reason() -> None:
    head = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    stream = FakeStream(
        [
            chunk(tool_calls=[head]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a"'}}]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": ": 1}"}}]),
            chunk(finish_reason="tool_calls"),
            {"choices": [], "usage": {"prompt_tokens": 1}},
        ]
    )
    events = await events_of(stream)
    assert [e.type for e in events] == [EventType.TOOL_CALL, EventType.COMPLETE]
    assert events[0].data == {
        "id": "call_1",
        "name": "f",
        "arguments": '{"a": 1}',
        "index": 0,
        "arguments_valid": True,
    }
    assert events[1].usage == {"prompt_tokens": 1}


async def test_tool_calls_cut_short_by_a_missing_finish_are_not_emitted() -> None:
    head = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}
    events = await events_of(FakeStream([chunk(tool_calls=[head])]))
    assert [e.type for e in events] == [EventType.ERROR]


async def test_options_turn_tool_calls_and_usage_off() -> None:
    head = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}
    stream = FakeStream(
        [chunk(tool_calls=[head], finish_reason="tool_calls", usage={"total_tokens": 3})]
    )
    options = OpenAIAdapterOptions(include_usage=False, emit_tool_calls=False)
    events = await events_of(stream, OpenAIAdapter(options))
    assert [e.type for e in events] == [EventType.COMPLETE]
    assert events[0].usage is None


async def test_only_the_chosen_choice_is_followed() -> None:
    stream = FakeStream(
        [
            chunk("first", index=0),
            chunk("second", index=1),
            chunk(index=1, finish_reason="length"),
            chunk(index=0, finish_reason="stop"),
        ]
    )
    events = await events_of(stream, OpenAIAdapter(OpenAIAdapterOptions(choice_index=1)))
    assert [e.text for e in events if e.is_token] == ["second"]
    assert events[-1].data is not None and events[-1].data["finish_reason"] == "length"


async def test_a_refusal_is_reported_on_complete() -> None:
    events = await events_of(
        FakeStream([chunk(refusal="I can't "), chunk(refusal="help."), chunk(finish_reason="stop")])
    )
    assert [e.type for e in events] == [EventType.COMPLETE]
    assert events[0].data is not None and events[0].data["refusal"] == "I can't help."


async def test_sdk_like_objects_are_read_by_attribute() -> None:
    usage = SimpleNamespace(prompt_tokens=2, completion_tokens=1, total_tokens=3)
    delta = SimpleNamespace(content="hi", tool_calls=None, refusal=None)
    choice = SimpleNamespace(index=0, delta=delta, finish_reason="stop")
    events = await events_of(
        FakeStream([SimpleNamespace(model="m", choices=[choice], usage=usage)])
    )
    assert [e.text for e in events if e.is_token] == ["hi"]
    assert events[-1].usage == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    assert events[-1].data == {"finish_reason": "stop", "model": "m"}


def test_bad_options_are_rejected_clearly() -> None:
    with pytest.raises(Error) as caught:
        OpenAIAdapterOptions(choice_index=-1)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(Error) as caught:
        OpenAIAdapter(options={"include_usage": False})  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


def test_litellm_adapter_is_the_openai_adapter_with_its_own_name() -> None:
    adapter = LiteLLMAdapter()
    assert adapter.name == "litellm"
    assert isinstance(adapter, OpenAIAdapter)


text_chunks = st.lists(
    st.one_of(st.none(), st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6)),
    max_size=20,
)


@settings(max_examples=150)
@given(parts=text_chunks, fails=st.booleans())
async def test_invariants_over_any_chunking(parts: list[str | None], fails: bool) -> None:
    """Text is preserved; the last event is one COMPLETE or one ERROR; nothing follows it."""
    boom = RuntimeError("mid-stream")
    ending = [] if fails else [chunk(finish_reason="stop")]
    stream = FakeStream([*(chunk(p) for p in parts), *ending], error=boom if fails else None)
    events = await events_of(stream)
    assert "".join(e.text or "" for e in events if e.is_token) == "".join(p or "" for p in parts)
    assert all(e.text for e in events if e.is_token)
    terminal = [e for e in events if e.is_complete or e.is_error]
    assert terminal == [events[-1]]
    assert events[-1].is_error if fails else events[-1].is_complete
    assert stream.closed == 1
