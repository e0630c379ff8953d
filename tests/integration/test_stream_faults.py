"""Faults inside a stream, through the wrapped client, with the real SDKs.

Dropped connections, malformed chunks, stalls, a missing `[DONE]`, and continuation from the
checkpoint: the text the consumer ends with (RESETs applied) must be exactly the answer, with
no character lost or repeated, whether the target accepts the checkpoint as an assistant
prefill or refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import l0
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs
from l0.testing import FaultServer, Reply, Stall, ToolCall
from l0.types import EventType
from tests.integration._support import USER, Provider, consume

pytestmark = pytest.mark.anyio

BASE_DELAY = 0.05
FAST = l0.Retry(base_delay=BASE_DELAY, max_delay=2.0, strategy=l0.BackoffStrategy.FIXED)
TOKENS = ["Hel", "lo", " wor", "ld", ", how", " are", " you?"]
FULL = "".join(TOKENS)
STALL = 10.0  # seconds a stalled reply stays silent: far beyond every l0 deadline below


# -- dropped streams -------------------------------------------------------------------


async def test_a_dropped_stream_restarts_cleanly_without_continuation(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("drop")
    server.script(model, [Reply(TOKENS, drop_after=2), Reply(TOKENS)])
    outcome = await consume(stream := await provider.create(provider.wrap(retry=FAST), model))
    assert outcome.error is None and outcome.text == FULL == stream.state.content
    assert [r.data for r in outcome.of_type(EventType.RESET)] == [
        {
            "reason": "connection_dropped",
            "attempt": 1,
            "fallback_index": 0,
            "discarded": len("Hello"),
            "kept": 0,
        }
    ]
    assert server.attempts(model) == 2 and server.gaps(model)[0] >= BASE_DELAY
    # LiteLLM reports the drop as a MidStreamFallbackError (500): its cause is the network.
    assert len(stream.state.network_errors) == 1
    assert stream.state.network_retry_count == 1 and not stream.state.resumed


async def test_a_dropped_stream_continues_from_the_checkpoint_when_prefill_is_accepted(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("resume")
    # The continuation repeats the end of the checkpoint ("lo"): it is removed.
    server.script(
        model, [Reply(TOKENS, drop_after=2), Reply(["lo", *TOKENS[2:]])], accept_prefill=True
    )
    client = provider.wrap(retry=FAST, continue_from_last_good_token=True)
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.error is None and outcome.text == FULL == stream.state.content
    assert outcome.of_type(EventType.RESET) == []
    continued = server.requests_for(model)[1]
    assert continued.messages == [*USER, {"role": "assistant", "content": "Hello"}]
    state = stream.state
    assert state.resumed and state.continuation_used
    assert state.deduplication_applied and state.overlap_removed == "lo"
    assert [r.outcome for r in server.requests_for(model)] == ["reply", "reply"]


async def test_a_dropped_stream_restarts_the_target_cleanly_when_it_refuses_prefill(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("no-prefill")
    server.script(
        model,
        [Reply(TOKENS, drop_after=2), Reply(TOKENS), Reply(TOKENS, drop_after=3), Reply(TOKENS)],
        accept_prefill=False,
    )
    seen: list[ObservabilityEvent] = []
    client = provider.wrap(retry=FAST, continue_from_last_good_token=True, on_event=seen.append)
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.error is None and outcome.text == FULL == stream.state.content
    assert [r.outcome for r in server.requests_for(model)] == ["reply", "prefill_rejected", "reply"]
    reset = outcome.of_type(EventType.RESET)
    assert len(reset) == 1 and reset[0].data is not None
    assert (reset[0].data["reason"], reset[0].data["kept"]) == ("prefill_rejected", 0)
    # The refusal is no retry of a failure: only the drop counts.
    assert (stream.state.network_retry_count, stream.state.model_retry_count) == (1, 0)
    assert [e.meta["delay"] for e in seen if e.type is Obs.RETRY_ATTEMPT] == [BASE_DELAY, 0.0]
    assert any(
        isinstance(e, l0.Error) and e.code is l0.ErrorCode.PREFILL_REJECTED for e in stream.errors
    )

    # The client remembers that the model refuses: the next run restarts without asking.
    again = await consume(await provider.create(client, model))
    assert again.text == FULL
    outcomes = [r.outcome for r in server.requests_for(model)]
    assert outcomes == ["reply", "prefill_rejected", "reply", "reply", "reply"]


async def test_build_continuation_prompt_continues_with_a_user_message_instead_of_a_prefill(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("prompted")
    server.script(model, [Reply(TOKENS, drop_after=4), Reply(TOKENS[4:])], accept_prefill=False)
    client = provider.wrap(
        retry=FAST,
        continue_from_last_good_token=True,
        build_continuation_prompt=lambda checkpoint: f"Continue after: {checkpoint!r}",
    )
    outcome = await consume(await provider.create(client, model))
    assert outcome.text == FULL and outcome.of_type(EventType.RESET) == []
    assert server.requests_for(model)[1].messages == [
        *USER,
        {"role": "assistant", "content": "Hello world"},
        {"role": "user", "content": "Continue after: 'Hello world'"},
    ]


async def test_a_malformed_chunk_is_retried_and_the_text_stays_exact(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("malformed")
    server.script(model, [Reply(TOKENS, malformed_after=3), Reply(TOKENS)])
    outcome = await consume(stream := await provider.create(provider.wrap(retry=FAST), model))
    assert outcome.text == FULL == stream.state.content
    assert server.attempts(model) == 2 and server.gaps(model)[0] >= BASE_DELAY
    # A broken chunk is a network failure (LiteLLM: a 500 whose cause is the JSON error).
    assert len(stream.state.network_errors) == 1
    [reset] = outcome.of_type(EventType.RESET)
    assert reset.data is not None and reset.data["reason"] == "partial_chunks"


# -- stalls ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stall", [Stall(STALL, before_headers=True), Stall(STALL, after=0)], ids=["headers", "body"]
)
async def test_a_silent_first_token_moves_to_the_fallback_rather_than_retrying(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str], stall: Stall
) -> None:
    primary, backup = new_model("silent"), new_model("silent-backup")
    server.script(primary, [Reply(TOKENS, stall=stall), Reply(TOKENS)])
    server.script(backup, [Reply(TOKENS)])
    completions = provider.wrap().chat.completions
    stream = await l0.run(
        stream=completions.factory(**provider.request(primary)),
        fallbacks=[completions.factory(**provider.request(backup))],
        retry=FAST,
        timeout=l0.Timeout(initial_token=1000),  # the backup's connect + first token fit, loaded
    )
    outcome = await consume(stream)
    assert outcome.text == FULL
    assert (server.attempts(primary), server.attempts(backup)) == (1, 1)
    assert stream.state.fallback_index == 1
    [timeout] = stream.errors
    assert isinstance(timeout, l0.TimeoutError) and timeout.timeout_type == "initial_token"


async def test_a_silent_first_token_without_a_fallback_is_retried(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("silent-alone")
    server.script(model, [Reply(TOKENS, stall=Stall(STALL, after=0)), Reply(TOKENS)])
    client = provider.wrap(retry=FAST, timeout=l0.Timeout(initial_token=1000))
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.text == FULL
    # The initial-token deadline counts from the run's start, a little before the first
    # request reaches the server (a new connection on a busy machine), so the server-side
    # gap may fall short of deadline + backoff by that latency; it never falls below 1 s.
    assert server.attempts(model) == 2 and server.gaps(model)[0] >= 1.0
    assert stream.state.network_retry_count == 1


async def test_a_stall_among_tokens_is_resumed_from_the_checkpoint(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("stall-mid")
    server.script(
        model,
        [Reply(TOKENS, stall=Stall(STALL, after=3)), Reply(["wor", *TOKENS[3:]])],
        accept_prefill=True,
    )
    client = provider.wrap(
        retry=FAST, timeout=l0.Timeout(inter_token=400), continue_from_last_good_token=True
    )
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.text == FULL == stream.state.content
    assert server.requests_for(model)[1].messages[-1] == {
        "role": "assistant",
        "content": "Hello wor",
    }
    [timeout] = stream.errors
    assert isinstance(timeout, l0.TimeoutError) and timeout.timeout_type == "inter_token"
    assert stream.state.overlap_removed == "wor"
    assert server.attempts(model) == 2 and server.gaps(model)[0] >= 0.4 + BASE_DELAY
    assert stream.state.network_retry_count == 1


async def test_the_sdk_read_timeout_is_a_network_timeout(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("sdk-timeout")
    server.script(model, [Reply(TOKENS, stall=Stall(STALL, after=2)), Reply(TOKENS)])
    seen: list[ObservabilityEvent] = []
    client = provider.wrap(retry=FAST, on_event=seen.append)
    # The SDK's own read timeout (0.5 s) fires first: openai's APITimeoutError, LiteLLM's
    # Timeout (408): both are a network timeout, not a server error.
    outcome = await consume(stream := await provider.create(client, model, timeout=0.5))
    assert outcome.text == FULL == stream.state.content
    network = [e for e in seen if e.type is Obs.NETWORK_ERROR]
    assert [e.meta["network_type"] for e in network] == ["timeout"]
    assert server.attempts(model) == 2 and server.gaps(model)[0] >= 0.5 + BASE_DELAY
    assert stream.state.network_retry_count == 1


# -- the end of a stream ------------------------------------------------------------------


async def test_a_stream_without_done_after_its_finish_reason_completes_with_usage(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("no-done")
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    server.script(model, [Reply(TOKENS, done=False, usage=usage)])
    outcome = await consume(stream := await provider.create(provider.wrap(retry=FAST), model))
    assert outcome.error is None and outcome.text == FULL
    assert server.attempts(model) == 1
    complete = outcome.events[-1]
    assert complete.is_complete and complete.usage == usage
    assert complete.data is not None and complete.data["finish_reason"] == "stop"
    assert stream.state.usage == usage and stream.state.finish_reason == "stop"
    assert stream.state.completed


async def test_a_stream_cut_without_a_finish_reason_is_retried(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """No finish reason and no [DONE]: the answer may be cut short, so it is retried."""
    model = new_model("no-finish")
    server.script(model, [Reply(TOKENS, done=False, finish=False), Reply(TOKENS)])
    outcome = await consume(stream := await provider.create(provider.wrap(retry=FAST), model))
    assert outcome.error is None and outcome.text == FULL
    assert server.attempts(model) == 2
    assert stream.state.finish_reason == "stop"
    assert stream.state.network_retry_count == 1


async def test_usage_and_the_answering_model_reach_state_and_complete(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("usage")
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    server.script(model, [Reply(TOKENS, usage=usage, model=f"{model}-2024-08-06")])
    outcome = await consume(stream := await provider.create(provider.wrap(), model))
    answered = f"{model}-2024-08-06" if provider.name == "openai" else model
    assert stream.state.usage == usage and stream.state.model == answered
    assert outcome.events[-1].usage == usage
    assert outcome.events[-1].data == {"finish_reason": "stop", "model": answered}
    # The wrapped client asks for usage unless the request says otherwise.
    assert server.requests_for(model)[0].body["stream_options"] == {"include_usage": True}


async def test_tool_call_arguments_split_across_many_chunks_arrive_whole_and_once(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    weather = json.dumps({"location": "Paris", "unit": "celsius", "days": [1, 2, 3]})
    clock = json.dumps({"timezone": "Europe/Paris"})
    model = new_model("tools")
    server.script(
        model,
        [
            Reply(
                tool_calls=[
                    ToolCall("get_weather", list(weather), id="call_weather"),
                    ToolCall("get_time", [clock[:4], clock[4:9], clock[9:]], id="call_time"),
                ],
                interleave_tool_calls=True,
            )
        ],
    )
    outcome = await consume(stream := await provider.create(provider.wrap(), model))
    calls = [e.data for e in outcome.of_type(EventType.TOOL_CALL)]
    assert [(c["id"], c["name"], c["arguments"]) for c in calls if c is not None] == [
        ("call_weather", "get_weather", weather),
        ("call_time", "get_time", clock),
    ]
    assert [(c["name"], c["arguments"]) for c in stream.state.tool_calls] == [
        ("get_weather", weather),
        ("get_time", clock),
    ]
    assert stream.state.finish_reason == "tool_calls" and stream.state.completed
