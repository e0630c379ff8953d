"""HTTP faults through the wrapped client, with the real SDKs against a FaultServer.

For each fault: the attempts the server saw and the gaps between them (lower bounds only),
the answer delivered or the error raised, and the run's state. Retries use small real
delays (`base_delay=0.05`, fixed) so the gaps are measurable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import l0
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs
from l0.runtime.stream import Stream
from l0.testing import ErrorReply, FaultServer, Reply, ResetConnection
from l0.types import ErrorCategory
from tests.integration._support import Provider, consume

pytestmark = pytest.mark.anyio

BASE_DELAY = 0.05
FAST = l0.Retry(base_delay=BASE_DELAY, max_delay=2.0, strategy=l0.BackoffStrategy.FIXED)
ANSWER = ["Hello", ",", " world"]


def recorder() -> tuple[list[ObservabilityEvent], Callable[[ObservabilityEvent], None]]:
    events: list[ObservabilityEvent] = []
    return events, events.append


def retry_delays(events: list[ObservabilityEvent]) -> list[float]:
    return [e.meta["delay"] for e in events if e.type is Obs.RETRY_ATTEMPT]


# -- 429 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limited",
    [ErrorReply(429, retry_after=0.3), ErrorReply(429, retry_after_ms=300)],
    ids=["retry-after", "retry-after-ms"],
)
async def test_rate_limit_waits_as_long_as_the_server_asks_then_answers(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str], limited: ErrorReply
) -> None:
    model = new_model("limited")
    server.script(model, [limited, Reply(ANSWER)])
    seen, on_event = recorder()
    client = provider.wrap(retry=FAST, on_event=on_event)
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.error is None and outcome.text == "Hello, world"
    assert server.attempts(model) == 2
    assert server.gaps(model)[0] >= 0.3
    assert retry_delays(seen) == [0.3]
    assert (stream.state.network_retry_count, stream.state.model_retry_count) == (1, 0)
    assert stream.state.completed


async def test_rate_limit_retry_after_is_capped_by_max_delay(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("capped")
    server.script(model, [ErrorReply(429, retry_after=30), Reply(ANSWER)])
    seen, on_event = recorder()
    retry = l0.Retry(base_delay=BASE_DELAY, max_delay=0.2, strategy=l0.BackoffStrategy.FIXED)
    client = provider.wrap(retry=retry, on_event=on_event)
    outcome = await consume(await provider.create(client, model))
    assert outcome.text == "Hello, world"
    assert retry_delays(seen) == [0.2]
    assert server.gaps(model)[0] >= 0.2


async def test_rate_limit_without_retry_after_backs_off(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("limited-plain")
    server.script(model, [ErrorReply(429), ErrorReply(429), Reply(ANSWER)])
    client = provider.wrap(retry=FAST)
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.text == "Hello, world"
    assert server.attempts(model) == 3
    assert all(gap >= BASE_DELAY for gap in server.gaps(model))
    assert stream.state.network_retry_count == 2 and stream.state.model_retry_count == 0


# -- 5xx ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient_and_retried(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str], status: int
) -> None:
    model = new_model(f"e{status}")
    server.script(model, [ErrorReply(status), Reply(ANSWER)])
    seen, on_event = recorder()
    client = provider.wrap(retry=FAST, on_event=on_event)
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.text == "Hello, world"
    assert server.attempts(model) == 2
    assert server.gaps(model)[0] >= BASE_DELAY
    errors = [e for e in seen if e.type is Obs.ERROR and not e.meta["final"]]
    assert [(e.meta["category"], e.meta["reason"]) for e in errors] == [
        ("transient", "server_error")
    ]
    assert stream.state.model_retry_count == 0 and stream.state.network_retry_count == 1


async def test_the_sdk_never_retries_underneath_l0(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("no-sdk-retry")
    server.script(model, [ErrorReply(503)] * 5)
    client = provider.wrap(retry=l0.Retry(attempts=0, max_retries=0))
    outcome = await consume(await provider.create(client, model))
    assert isinstance(outcome.error, l0.Error)
    assert outcome.error.status_code == 503
    assert server.attempts(model) == 1  # the SDK's own default would have made 3 (openai, litellm)
    if provider.name == "openai":
        assert client.unwrapped.max_retries == 2  # the client that was wrapped is unchanged


# -- 401 / 403 -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors_are_fatal_and_not_retried(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str], status: int
) -> None:
    model = new_model(f"auth{status}")
    server.script(model, [ErrorReply(status), Reply(ANSWER)])
    client = provider.wrap(retry=FAST)
    outcome = await consume(stream := await provider.create(client, model))
    error = outcome.error
    assert isinstance(error, l0.Error) and error.code is l0.ErrorCode.PROVIDER_ERROR
    assert error.category is ErrorCategory.FATAL and error.status_code == status
    assert error.__cause__ is not None and getattr(error.__cause__, "status_code", None) == status
    assert server.attempts(model) == 1
    assert stream.errors == [error.__cause__]
    assert not stream.state.completed


async def test_an_auth_error_moves_to_a_fallback_on_another_route(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    primary, backup = new_model("auth-primary"), new_model("auth-backup")
    server.script(primary, [ErrorReply(401)])
    server.script(backup, [Reply(ANSWER)])
    client = provider.wrap()
    completions = client.chat.completions
    stream = await l0.run(
        stream=completions.factory(**provider.request(primary)),
        fallbacks=[completions.factory(**provider.request(backup))],
        retry=FAST,
    )
    assert await stream.read() == "Hello, world"
    assert (server.attempts(primary), server.attempts(backup)) == (1, 1)
    assert stream.state.fallback_index == 1


# -- 400 with a provider code ----------------------------------------------------------------


async def test_context_length_exceeded_goes_to_the_fallback_without_retrying(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    primary, bigger = new_model("small-context"), new_model("big-context")
    server.script(primary, [ErrorReply(400, code="context_length_exceeded"), Reply(["no"])])
    server.script(bigger, [Reply(ANSWER, model=f"{bigger}-2024-08-06")])
    seen, on_event = recorder()
    completions = provider.wrap().chat.completions
    stream = await l0.run(
        stream=completions.factory(**provider.request(primary)),
        fallbacks=[completions.factory(**provider.request(bigger))],
        retry=FAST,
        on_event=on_event,
    )
    outcome = await consume(stream)
    assert outcome.text == "Hello, world"
    assert (server.attempts(primary), server.attempts(bigger)) == (1, 1)
    fallback = [e for e in seen if e.type is Obs.FALLBACK_START]
    assert [e.meta["reason"] for e in fallback] == ["context_length_exceeded"]
    assert stream.state.fallback_index == 1
    # The model that actually answered: the chunks' model name for openai; LiteLLM reports
    # the model that was asked for.
    answered = f"{bigger}-2024-08-06" if provider.name == "openai" else bigger
    assert stream.state.model == answered
    complete = outcome.events[-1]
    assert complete.is_complete and complete.data is not None
    assert complete.data["model"] == answered


async def test_context_length_exceeded_without_a_fallback_is_raised_at_once(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("too-long")
    server.script(model, [ErrorReply(400, code="context_length_exceeded"), Reply(ANSWER)])
    outcome = await consume(await provider.create(provider.wrap(retry=FAST), model))
    assert isinstance(outcome.error, l0.Error) and outcome.error.status_code == 400
    assert "maximum context length" in str(outcome.error)
    assert server.attempts(model) == 1


async def test_content_policy_violation_is_never_retried_nor_sent_to_a_fallback(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    primary, backup = new_model("policy"), new_model("policy-backup")
    server.script(primary, [ErrorReply(400, code="content_policy_violation"), Reply(ANSWER)])
    server.script(backup, [Reply(ANSWER)])
    completions = provider.wrap().chat.completions
    stream = await l0.run(
        stream=completions.factory(**provider.request(primary)),
        fallbacks=[completions.factory(**provider.request(backup))],
        retry=FAST,
    )
    outcome = await consume(stream)
    error = outcome.error
    assert isinstance(error, l0.Error) and error.status_code == 400
    # The provider's reason reaches the message the user sees.
    assert "rejected as a result of our safety system" in str(error)
    assert (server.attempts(primary), server.attempts(backup)) == (1, 0)
    assert stream.state.fallback_index == 0


# -- the connection ---------------------------------------------------------------------


async def test_a_connection_reset_before_the_headers_is_a_network_retry(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("reset")
    server.script(model, [ResetConnection(), Reply(ANSWER)])
    seen, on_event = recorder()
    client = provider.wrap(retry=FAST, on_event=on_event)
    outcome = await consume(stream := await provider.create(client, model))
    assert outcome.text == "Hello, world"
    assert server.attempts(model) == 2 and server.gaps(model)[0] >= BASE_DELAY
    # LiteLLM reports it as a 500; the cause behind it says it is the network.
    assert len(stream.state.network_errors) == 1
    assert [e.type for e in seen].count(Obs.NETWORK_ERROR) == 1
    assert [e.type for e in seen].count(Obs.NETWORK_RECOVERY) == 1
    assert stream.state.network_retry_count == 1


async def test_non_streaming_calls_pass_straight_through_to_the_sdk(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("whole")
    server.script(model, [Reply(ANSWER)])
    client = provider.wrap(retry=FAST)
    request: dict[str, Any] = provider.request(model)
    del request["stream"]
    answer = await client.chat.completions.create(**request)
    assert not isinstance(answer, Stream)
    assert answer.choices[0].message.content == "Hello, world"
    assert server.requests_for(model)[0].body.get("stream") in (None, False)
