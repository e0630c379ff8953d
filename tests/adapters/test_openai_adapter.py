"""The OpenAI adapter on real `openai.AsyncOpenAI` streams from a local FaultServer.

For every server fault: what the SDK raises (at `create` or while iterating) and what the
adapter turns it into. The SDK never retries underneath (`max_retries=0`), checked through
the attempts the server saw. Runs on asyncio and trio.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.adapters import Adapters, OpenAIAdapter
from l0.testing import ErrorReply, FaultServer, Reply, ResetConnection, Stall, Step, ToolCall
from l0.types import Event, EventType

# On trio, the openai SDK (and httpx2 under it) leave inner async generators unexhausted when
# a stream reaches [DONE]; trio warns when they are garbage collected. The SDK's, not ours.
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator '(openai|httpx|httpcore):ResourceWarning"),
]

# The SDK's read timeout in the stall tests: well under the stalls (30 s), well over the time
# the server needs to answer on a busy machine.
SDK_TIMEOUT = 1.0

USER = [{"role": "user", "content": "What is the weather in Paris?"}]


def make_client(server: FaultServer, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, **options)


@pytest.fixture
async def client(server: FaultServer) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = make_client(server)
    yield sdk
    await sdk.close()


async def open_stream(
    client: openai.AsyncOpenAI, model: str, *, messages: Any = USER, **extra: Any
) -> Any:
    return await client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )


async def adapt(stream: Any) -> list[Event]:
    adapter = Adapters.detect(stream)
    assert isinstance(adapter, OpenAIAdapter) and adapter.name == "openai"
    return [event async for event in adapter.wrap(stream)]


def tokens(events: list[Event]) -> list[str]:
    return [e.text or "" for e in events if e.is_token]


# -- successful streams ------------------------------------------------------------------


async def test_tokens_complete_usage_model_and_finish_reason(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("ok")
    server.script(model, [Reply(["It is", " sunny", " in Paris."])])
    events = await adapt(await open_stream(client, model))
    assert tokens(events) == ["It is", " sunny", " in Paris."]
    complete = events[-1]
    assert [e.type for e in events].count(EventType.COMPLETE) == 1 and complete.is_complete
    assert complete.data == {"finish_reason": "stop", "model": model}
    prompt = len(USER[0]["content"].split())
    assert complete.usage == {"prompt_tokens": prompt, "completion_tokens": 3,
                              "total_tokens": prompt + 3}  # fmt: skip
    assert server.attempts(model) == 1


async def test_usage_is_absent_when_the_request_did_not_ask_for_it(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("nousage")
    server.script(model, [Reply(["a"])])
    stream = await client.chat.completions.create(model=model, messages=USER, stream=True)  # type: ignore[arg-type]
    events = await adapt(stream)
    assert events[-1].is_complete and events[-1].usage is None


async def test_answering_model_name_comes_from_the_chunks(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("alias")
    server.script(model, [Reply(["a"], model="gpt-4o-2024-08-06")])
    events = await adapt(await open_stream(client, model))
    assert events[-1].data == {"finish_reason": "stop", "model": "gpt-4o-2024-08-06"}


async def test_empty_content_chunks_make_no_tokens(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("empty")
    server.script(model, [Reply(["", "a", "", "b", ""])])
    events = await adapt(await open_stream(client, model))
    assert tokens(events) == ["a", "b"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    parts=st.lists(
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8), max_size=12
    )
)
async def test_text_is_preserved_exactly_for_any_token_split(
    server: FaultServer, new_model: Callable[[str], str], parts: list[str]
) -> None:
    model = new_model("split")
    server.script(model, [Reply(parts)])
    async with make_client(server) as sdk:
        events = await adapt(await open_stream(sdk, model))
    assert tokens(events) == [part for part in parts if part]
    assert events[-1].is_complete


# -- tool calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("interleave", [False, True])
async def test_tool_call_arguments_split_across_many_chunks_arrive_whole_and_once(
    server: FaultServer,
    client: openai.AsyncOpenAI,
    new_model: Callable[[str], str],
    interleave: bool,
) -> None:
    weather = json.dumps({"location": "Paris", "unit": "celsius", "days": [1, 2, 3]})
    clock = json.dumps({"timezone": "Europe/Paris"})
    model = new_model("tools")
    server.script(
        model,
        [
            Reply(
                ["Let me check."],
                tool_calls=[
                    ToolCall("get_weather", list(weather)),  # one chunk per character
                    ToolCall("get_time", [clock[:5], clock[5:9], clock[9:]], id="call_clock"),
                ],
                interleave_tool_calls=interleave,
            )
        ],
    )
    events = await adapt(await open_stream(client, model, tools=[]))
    assert [e.type for e in events] == [
        EventType.TOKEN,
        EventType.TOOL_CALL,
        EventType.TOOL_CALL,
        EventType.COMPLETE,
    ]
    first, second = (e.data for e in events if e.is_tool_call)
    assert first is not None and second is not None
    assert (first["name"], first["arguments"], first["arguments_valid"]) == (
        "get_weather",
        weather,
        True,
    )
    assert first["id"]
    assert (second["id"], second["name"], second["arguments"]) == ("call_clock", "get_time", clock)
    assert events[-1].data is not None and events[-1].data["finish_reason"] == "tool_calls"


async def test_reference_tool_call_example_fields(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    """The fields the reference's "Tool Call Handling" example prints."""
    model = new_model("weather")
    server.script(model, [Reply(tool_calls=[ToolCall("get_weather", '{"location": "Paris"}')])])
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What's the weather?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get weather for a location",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                },
            }
        ],
        stream=True,
    )
    calls = [event async for event in OpenAIAdapter().wrap(stream) if event.is_tool_call]
    assert len(calls) == 1 and calls[0].data is not None
    assert calls[0].data["name"] == "get_weather"
    assert calls[0].data["arguments"] == '{"location": "Paris"}'
    assert calls[0].data["id"].startswith("call_")


async def test_invalid_tool_arguments_are_delivered_whole_not_repaired(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("badargs")
    server.script(model, [Reply(tool_calls=[ToolCall("f", ['{"a": ', "1,"])])])
    events = await adapt(await open_stream(client, model))
    (call,) = [e.data for e in events if e.is_tool_call]
    assert call is not None
    assert (call["arguments"], call["arguments_valid"]) == ('{"a": 1,', False)


# -- faults that end a stream that had started -------------------------------------------


async def test_dropped_connection_is_one_error_event_after_the_tokens_it_sent(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("drop")
    server.script(model, [Reply(["Hel", "lo", " wor", "ld"], drop_after=2)])
    events = await adapt(await open_stream(client, model))
    assert tokens(events) == ["Hel", "lo"]
    assert [e.type for e in events][-1] is EventType.ERROR
    assert not any(e.is_complete for e in events)
    error = events[-1].error
    assert type(error) is openai.APIConnectionError
    assert type(error.__cause__) is httpx2.RemoteProtocolError
    assert server.attempts(model) == 1


async def test_malformed_chunk_is_an_error_event_with_the_raw_json_error(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("malformed")
    server.script(model, [Reply(["a", "b"], malformed_after=1)])
    events = await adapt(await open_stream(client, model))
    assert tokens(events) == ["a"]
    assert type(events[-1].error) is json.JSONDecodeError


async def test_stall_among_tokens_past_the_sdk_timeout_is_an_api_timeout_error(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("stall")
    server.script(model, [Reply(["a", "b"], stall=Stall(30, after=1))])
    async with make_client(server, timeout=SDK_TIMEOUT) as sdk:
        events = await adapt(await open_stream(sdk, model))
    assert tokens(events) == ["a"]
    assert type(events[-1].error) is openai.APITimeoutError


async def test_stream_without_done_after_a_finish_reason_completes_with_usage(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("nodone")
    server.script(model, [Reply(["a", "b"], done=False)])
    events = await adapt(await open_stream(client, model))
    assert tokens(events) == ["a", "b"]
    assert events[-1].is_complete
    assert events[-1].data == {"finish_reason": "stop", "model": model}
    assert events[-1].usage is not None and events[-1].usage["completion_tokens"] == 2


async def test_stream_without_done_or_finish_reason_is_incomplete(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("bare")
    server.script(model, [Reply(["a", "b"], done=False, finish=False)])
    events = await adapt(await open_stream(client, model))
    assert tokens(events) == ["a", "b"]
    assert events[-1].is_error
    assert isinstance(events[-1].error, l0.Error)
    assert events[-1].error.code is l0.ErrorCode.INCOMPLETE_STREAM


async def test_stopping_early_releases_the_http_response(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("early")
    server.script(model, [Reply(["a", "b"], stall=Stall(600, after=1))])
    stream = await open_stream(client, model)
    events = OpenAIAdapter().wrap(stream)
    assert (await events.__anext__()).text == "a"
    await events.aclose()  # type: ignore[attr-defined]
    assert stream.response.is_closed


# -- faults raised by create() -------------------------------------------------------------

CREATE_FAULTS: list[tuple[str, Step, type[Exception], int | None]] = [
    ("429", ErrorReply(429), openai.RateLimitError, 429),
    ("429-retry-after", ErrorReply(429, retry_after=2), openai.RateLimitError, 429),
    ("429-retry-after-ms", ErrorReply(429, retry_after_ms=1500), openai.RateLimitError, 429),
    ("500", ErrorReply(500), openai.InternalServerError, 500),
    ("503", ErrorReply(503), openai.InternalServerError, 503),
    ("401", ErrorReply(401), openai.AuthenticationError, 401),
    ("403", ErrorReply(403), openai.PermissionDeniedError, 403),
    ("context", ErrorReply(400, code="context_length_exceeded"), openai.BadRequestError, 400),
    ("policy", ErrorReply(400, code="content_policy_violation"), openai.BadRequestError, 400),
    ("reset", ResetConnection(), openai.APIConnectionError, None),
]


@pytest.mark.parametrize(
    ("name", "step", "raised", "status"), CREATE_FAULTS, ids=[f[0] for f in CREATE_FAULTS]
)
async def test_http_faults_raise_from_create_once(
    server: FaultServer,
    client: openai.AsyncOpenAI,
    new_model: Callable[[str], str],
    name: str,
    step: Step,
    raised: type[Exception],
    status: int | None,
) -> None:
    model = new_model(name)
    server.script(model, [step])
    with pytest.raises(raised) as caught:
        await open_stream(client, model)
    assert type(caught.value) is raised
    assert getattr(caught.value, "status_code", None) == status
    assert server.attempts(model) == 1  # max_retries=0: the SDK did not retry underneath
    if isinstance(step, ErrorReply):
        error = caught.value
        assert isinstance(error, openai.APIStatusError)
        assert error.code == step.body()["error"]["code"]  # type: ignore[index]
        headers = error.response.headers
        if step.retry_after is not None:
            assert headers["retry-after"] == "2"
        if step.retry_after_ms is not None:
            assert headers["retry-after-ms"] == "1500"
    else:
        assert type(caught.value.__cause__) is httpx2.ReadError


async def test_stall_before_headers_past_the_sdk_timeout_raises_api_timeout_error(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("slowstart")
    server.script(model, [Reply(["a"], stall=Stall(30, before_headers=True))])
    async with make_client(server, timeout=SDK_TIMEOUT) as sdk:
        with pytest.raises(openai.APITimeoutError) as caught:
            await open_stream(sdk, model)
    assert type(caught.value.__cause__) is httpx2.ReadTimeout


async def test_prefill_rejection_is_a_bad_request_with_its_code(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    model = new_model("prefill")
    server.script(model, [Reply(["ignored"])])
    messages = [*USER, {"role": "assistant", "content": "It is"}]
    with pytest.raises(openai.BadRequestError) as caught:
        await open_stream(client, model, messages=messages)
    assert caught.value.code == "prefill_not_supported"
    assert "prefill" in caught.value.message


async def test_finish_reason_then_silence_completes_after_the_grace(
    server: FaultServer, client: openai.AsyncOpenAI, new_model: Callable[[str], str]
) -> None:
    """Issue 13.4: a finish chunk (and usage), then neither [DONE] nor a close: COMPLETE with
    the finish reason and usage after FINISH_GRACE, and the HTTP response is closed."""
    from l0.adapters.openai import FINISH_GRACE

    model = new_model("finish-hang")
    server.script(model, [Reply(["a", "b"], hang_after_finish=30.0)])
    stream = await open_stream(client, model)
    with anyio.fail_after(FINISH_GRACE + 5.0):  # far less than the 30 s hang
        events = await adapt(stream)
    assert tokens(events) == ["a", "b"]
    assert events[-1].is_complete
    assert events[-1].data == {"finish_reason": "stop", "model": model}
    assert events[-1].usage is not None and events[-1].usage["completion_tokens"] == 2
    assert stream.response.is_closed
