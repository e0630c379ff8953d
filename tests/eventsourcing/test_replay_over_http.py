"""Hypothesis: a run recorded through the real SDKs over HTTP replays identically.

Each example scripts a FaultServer model with a generated schedule of faults — connections
dropped mid-body or reset before the response, 429s and 503s, malformed chunks, stalls past
the inter-token timeout, a 401 — then an answer, and runs it through `l0.wrap` around the
real openai SDK (asyncio and trio) or litellm (asyncio), recording into a store. The replay,
with no provider and no event loop, must reproduce the live run's lifecycle events, stream
events, final state and error exactly, and say it matches.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.eventsourcing import EventReplayer, InMemoryEventStore, ReplayedState
from l0.eventsourcing.codec import event_to_dict, lifecycle_to_dict
from l0.eventsourcing.errors import SerializedError
from l0.testing import ErrorReply, FaultServer, Reply, ResetConnection, Stall

pytestmark = pytest.mark.anyio

WORDS = ("Hel", "lo", ", ", "wor", "ld", "!")
_models = itertools.count()


@st.composite
def _reply_with_fault(draw: st.DrawFn) -> Reply:
    tokens = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
    at = draw(st.integers(0, len(tokens)))
    fault = draw(st.sampled_from(["drop", "malformed", "stall"]))
    if fault == "drop":
        return Reply(tokens, drop_after=at)
    if fault == "malformed":
        return Reply(tokens, malformed_after=at)
    return Reply(tokens, stall=Stall(0.4, after=at))


steps = st.lists(
    st.one_of(
        _reply_with_fault(),
        st.just(ResetConnection()),
        st.just(ErrorReply(429, retry_after=0)),
        st.just(ErrorReply(503)),
        st.just(ErrorReply(401)),
    ),
    max_size=3,
)
answers = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6)


@contextlib.asynccontextmanager
async def _client(sdk: str, server: FaultServer, store: InMemoryEventStore, **options: Any) -> Any:
    if sdk == "openai":
        import openai

        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
            yield l0.wrap(raw, event_store=store, **options), {}
        return
    import litellm

    litellm.suppress_debug_info = True
    extra = {"api_base": server.base_url, "api_key": "test"}
    yield l0.wrap(litellm.acompletion, event_store=store, **options), extra


@pytest.mark.parametrize("sdk", ["openai", "litellm"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(schedule=steps, answer=answers, continuation=st.booleans())
async def test_a_run_recorded_over_http_replays_identically(
    sdk: str,
    anyio_backend: Any,
    server: FaultServer,
    schedule: list[Any],
    answer: list[str],
    continuation: bool,
) -> None:
    """Whatever the faults, the replay matches the live run field for field."""
    if sdk == "litellm" and "trio" in str(anyio_backend):
        pytest.skip("litellm streams on asyncio only")
    model = f"replay-http-{next(_models)}"
    server.script(model, schedule, then=Reply(answer))
    store = InMemoryEventStore()
    lifecycle: list[l0.ObservabilityEvent] = []
    options = {
        "retry": l0.Retry(
            attempts=4, max_retries=8, base_delay=0.001, strategy=l0.BackoffStrategy.FIXED
        ),
        "timeout": l0.Timeout(initial_token=5_000, inter_token=150),
        "continue_from_last_good_token": continuation,
        "on_event": lifecycle.append,
    }
    events: list[l0.Event] = []
    error: BaseException | None = None
    async with _client(sdk, server, store, **options) as (client, extra):
        model_name = model if sdk == "openai" else f"openai/{model}"
        stream = await client.chat.completions.create(
            model=model_name,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            **extra,
        )
        try:
            async for event in stream:
                events.append(event)
        except l0.Error as exc:
            error = exc
    replay = await EventReplayer(store).replay(stream.stream_id)
    assert replay.divergence() is None
    assert replay.faithful
    assert [lifecycle_to_dict(e) for e in replay.lifecycle] == [
        lifecycle_to_dict(e) for e in lifecycle
    ]
    assert [event_to_dict(e) for e in replay.events] == [event_to_dict(e) for e in events]
    core = stream._core
    assert core is not None
    assert replay.replayed_state == ReplayedState.from_state(stream.state, phase=core.phase)
    if error is None:
        assert replay.error is None and replay.state.content == stream.state.content
    else:
        assert replay.error is not None
        assert SerializedError.from_exception(replay.error) == SerializedError.from_exception(error)
