"""The LiteLLM adapter on real `litellm.acompletion` streams from a local FaultServer.

LiteLLM's streaming works on asyncio only, so these tests run there alone. `num_retries=0`
keeps LiteLLM from retrying underneath (it makes 3 attempts by default), checked through
the attempts the server saw. For every server fault: what LiteLLM raises and what the
adapter turns it into.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import litellm
import openai
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litellm import exceptions as errors
from litellm.exceptions import MidStreamFallbackError

from l0.adapters import Adapters, LiteLLMAdapter
from l0.testing import ErrorReply, FaultServer, Reply, ResetConnection, Stall, Step, ToolCall
from l0.types import Event, EventType

litellm.suppress_debug_info = True  # no "Give Feedback" banner on every error

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.parametrize("anyio_backend", ["asyncio"]),
    # Warnings LiteLLM's own code triggers in pydantic while it streams (on lazily imported
    # TypedDicts, and on model fields read from instances). LiteLLM's, not ours; under
    # `filterwarnings = error` they would surface as stream errors.
    pytest.mark.filterwarnings("ignore:Item.*ReadOnly:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_.*on the instance is deprecated"),
]

# The SDK's read timeout in the stall tests: well under the stalls (30 s), well over the time
# the server needs to answer on a busy machine.
SDK_TIMEOUT = 1.0

USER = [{"role": "user", "content": "What is the weather in Paris?"}]


async def open_stream(
    server: FaultServer, model: str, *, messages: Any = USER, **extra: Any
) -> Any:
    options: dict[str, Any] = {"stream_options": {"include_usage": True}, **extra}
    return await litellm.acompletion(
        model=f"openai/{model}",
        api_base=server.base_url,
        api_key="test",
        messages=messages,
        stream=True,
        num_retries=0,
        **options,
    )


async def adapt(stream: Any) -> list[Event]:
    adapter = Adapters.detect(stream)
    assert isinstance(adapter, LiteLLMAdapter) and adapter.name == "litellm"
    return [event async for event in adapter.wrap(stream)]


def tokens(events: list[Event]) -> list[str]:
    return [e.text or "" for e in events if e.is_token]


def causes(error: BaseException | None) -> list[type[BaseException]]:
    chain: list[type[BaseException]] = []
    while error is not None and len(chain) < 10:
        chain.append(type(error))
        error = error.__cause__ or error.__context__
    return chain


# -- successful streams ------------------------------------------------------------------


async def test_tokens_complete_usage_model_and_finish_reason(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("ok")
    server.script(model, [Reply(["It is", " sunny", " in Paris."])])
    events = await adapt(await open_stream(server, model))
    assert tokens(events) == ["It is", " sunny", " in Paris."]
    assert [e.type for e in events].count(EventType.COMPLETE) == 1 and events[-1].is_complete
    assert events[-1].data == {"finish_reason": "stop", "model": model}
    prompt = len(USER[0]["content"].split())
    assert events[-1].usage == {
        "prompt_tokens": prompt,
        "completion_tokens": 3,
        "total_tokens": prompt + 3,
    }
    assert server.attempts(model) == 1


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    parts=st.lists(
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8),
        min_size=1,
        max_size=10,
    )
)
async def test_text_is_preserved_exactly_for_any_token_split(
    server: FaultServer, new_model: Callable[[str], str], parts: list[str]
) -> None:
    model = new_model("split")
    server.script(model, [Reply(parts)])
    events = await adapt(await open_stream(server, model))
    # LiteLLM may merge or re-split deltas; the text itself must arrive exactly.
    assert "".join(tokens(events)) == "".join(parts)
    assert all(tokens(events))
    assert events[-1].is_complete


async def test_tool_call_arguments_split_across_many_chunks_arrive_whole_and_once(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    weather = json.dumps({"location": "Paris", "unit": "celsius", "days": [1, 2, 3]})
    clock = json.dumps({"timezone": "Europe/Paris"})
    model = new_model("tools")
    server.script(
        model,
        [
            Reply(
                tool_calls=[
                    ToolCall("get_weather", list(weather)),
                    ToolCall("get_time", [clock[:5], clock[5:]], id="call_clock"),
                ]
            )
        ],
    )
    events = await adapt(await open_stream(server, model))
    assert [e.type for e in events] == [
        EventType.TOOL_CALL,
        EventType.TOOL_CALL,
        EventType.COMPLETE,
    ]
    first, second = (e.data for e in events if e.is_tool_call)
    assert first is not None and second is not None
    assert (first["name"], first["arguments"]) == ("get_weather", weather)
    assert (second["id"], second["name"], second["arguments"]) == ("call_clock", "get_time", clock)
    assert events[-1].data is not None and events[-1].data["finish_reason"] == "tool_calls"


async def test_stream_without_done_after_a_finish_reason_completes_with_usage(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("nodone")
    server.script(model, [Reply(["a", "b"], done=False)])
    events = await adapt(await open_stream(server, model))
    assert tokens(events) == ["a", "b"]
    assert events[-1].is_complete
    assert events[-1].data == {"finish_reason": "stop", "model": model}
    assert events[-1].usage is not None and events[-1].usage["completion_tokens"] == 2


# -- faults that end a stream that had started -------------------------------------------


async def test_dropped_connection_is_a_midstream_fallback_error_over_the_network_cause(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("drop")
    server.script(model, [Reply(["Hel", "lo", " wor", "ld"], drop_after=2)])
    events = await adapt(await open_stream(server, model))
    assert tokens(events) == ["Hel", "lo"]
    error = events[-1].error
    assert type(error) is MidStreamFallbackError
    assert isinstance(error, errors.ServiceUnavailableError)
    assert isinstance(error.original_exception, errors.APIConnectionError)
    assert error.status_code == 500
    chain = causes(error)
    assert openai.APIConnectionError in chain
    assert aiohttp.ClientPayloadError in chain
    assert not any(e.is_complete for e in events)
    assert server.attempts(model) == 1


async def test_malformed_chunk_is_a_midstream_fallback_error_over_a_json_error(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("malformed")
    server.script(model, [Reply(["a", "b"], malformed_after=1)])
    events = await adapt(await open_stream(server, model))
    assert tokens(events) == ["a"]
    error = events[-1].error
    assert type(error) is MidStreamFallbackError
    assert error.status_code == 500
    assert json.JSONDecodeError in causes(error)


async def test_stream_without_finish_reason_or_done_is_an_error_in_litellm(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """Unlike openai, LiteLLM itself refuses a stream that ends with no finish reason."""
    model = new_model("bare")
    server.script(model, [Reply(["a", "b"], done=False, finish=False)])
    events = await adapt(await open_stream(server, model))
    assert tokens(events) == ["a", "b"]
    error = events[-1].error
    assert type(error) is MidStreamFallbackError
    assert error.status_code == 500
    assert "finish_reason" in str(error)
    assert StopAsyncIteration in causes(error)


async def test_stall_among_tokens_past_the_timeout_is_a_litellm_timeout(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("stall")
    server.script(model, [Reply(["a", "b"], stall=Stall(30, after=1))])
    events = await adapt(await open_stream(server, model, timeout=SDK_TIMEOUT))
    assert tokens(events) == ["a"]
    error = events[-1].error
    assert type(error) is errors.Timeout
    assert error.status_code == 408
    assert openai.APITimeoutError in causes(error)


# -- faults raised by acompletion() -------------------------------------------------------

CREATE_FAULTS: list[tuple[str, Step, type[Exception], int, list[type[BaseException]]]] = [
    ("429", ErrorReply(429, retry_after=2), errors.RateLimitError, 429, [openai.RateLimitError]),
    ("500", ErrorReply(500), errors.InternalServerError, 500, [openai.InternalServerError]),
    ("503", ErrorReply(503), errors.ServiceUnavailableError, 503, [openai.InternalServerError]),
    ("401", ErrorReply(401), errors.AuthenticationError, 401, [openai.AuthenticationError]),
    ("403", ErrorReply(403), errors.APIError, 403, [openai.PermissionDeniedError]),
    (
        "context",
        ErrorReply(400, code="context_length_exceeded"),
        errors.ContextWindowExceededError,
        400,
        [openai.BadRequestError],
    ),
    (
        "policy",
        ErrorReply(400, code="content_policy_violation"),
        errors.BadRequestError,
        400,
        [openai.BadRequestError],
    ),
    (
        "reset",
        ResetConnection(),
        errors.InternalServerError,
        500,
        [openai.APIConnectionError, aiohttp.ClientOSError, ConnectionResetError],
    ),
    (
        "slowstart",
        Reply(["a"], stall=Stall(30, before_headers=True)),
        errors.Timeout,
        408,
        [openai.APITimeoutError],
    ),
]


@pytest.mark.parametrize(
    ("name", "step", "raised", "status", "chain"), CREATE_FAULTS, ids=[f[0] for f in CREATE_FAULTS]
)
async def test_http_faults_raise_from_acompletion_once(
    server: FaultServer,
    new_model: Callable[[str], str],
    name: str,
    step: Step,
    raised: type[Exception],
    status: int,
    chain: list[type[BaseException]],
) -> None:
    model = new_model(name)
    server.script(model, [step])
    with pytest.raises(raised) as caught:
        await open_stream(server, model, timeout=SDK_TIMEOUT)
    error = caught.value
    assert type(error) is raised
    assert getattr(error, "status_code", None) == status
    assert set(chain) <= set(causes(error))
    assert server.attempts(model) == 1  # num_retries=0: LiteLLM did not retry underneath


async def test_context_window_error_says_it_by_type_only(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("context-only")
    server.script(model, [ErrorReply(400, code="context_length_exceeded")])
    with pytest.raises(errors.ContextWindowExceededError) as caught:
        await open_stream(server, model)
    assert (caught.value.code, caught.value.body) == (None, None)


async def test_rate_limit_headers_stay_reachable_on_the_litellm_error(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("limited")
    server.script(model, [ErrorReply(429, retry_after=2, retry_after_ms=1500)])
    with pytest.raises(errors.RateLimitError) as caught:
        await open_stream(server, model)
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("2", "1500")


async def test_content_policy_code_is_on_the_litellm_error(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("policy-code")
    server.script(model, [ErrorReply(400, code="content_policy_violation")])
    with pytest.raises(errors.BadRequestError) as caught:
        await open_stream(server, model)
    assert caught.value.code == "content_policy_violation"


async def test_prefill_rejection_is_a_bad_request(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("prefill")
    server.script(model, [Reply(["ignored"])])
    messages = [*USER, {"role": "assistant", "content": "It is"}]
    with pytest.raises(errors.BadRequestError) as caught:
        await open_stream(server, model, messages=messages)
    assert "prefill" in str(caught.value)
