"""Lifecycle events: the reference's examples, the documented meta, and the order invariants
on generated fault schedules (every run here is also checked by tests/_invariants.py)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.observability import ObservabilityEventType as Obs
from l0.testing.scripted import Script, ScriptedFactory
from tests._invariants import check_lifecycle
from tests.eventsourcing.fault_runs import (
    BACKENDS,
    run_scenario,
    scenarios,
)

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Collect:
    def __init__(self) -> None:
        self.events: list[l0.ObservabilityEvent] = []

    def __call__(self, event: l0.ObservabilityEvent) -> None:
        self.events.append(event)

    def of(self, kind: Obs) -> list[l0.ObservabilityEvent]:
        return [e for e in self.events if e.type is kind]

    @property
    def types(self) -> list[Obs]:
        return [e.type for e in self.events]


async def test_the_reference_handler_example_prints_each_documented_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The ObservabilityEventType usage example, verbatim, on a run with a retry, a fallback
    and checkpoints: every case prints its documented meta."""

    def handle_event(event: l0.ObservabilityEvent) -> None:
        match event.type:
            case l0.ObservabilityEventType.SESSION_START:
                print(f"Session started: {event.stream_id}")
            case l0.ObservabilityEventType.RETRY_ATTEMPT:
                print(f"Retrying (attempt {event.meta.get('attempt', '?')})")
            case l0.ObservabilityEventType.FALLBACK_START:
                print(f"Switching to fallback {event.meta.get('index', '?')}")
            case l0.ObservabilityEventType.CHECKPOINT_SAVED:
                print(f"Checkpoint saved ({event.meta.get('token_count', 0)} tokens)")
            case l0.ObservabilityEventType.NETWORK_ERROR:
                print(f"Network error: {event.meta.get('error', 'unknown')}")
            case l0.ObservabilityEventType.COMPLETE:
                print(f"Complete! Duration: {event.meta.get('duration', 0)}s")
            case l0.ObservabilityEventType.ERROR:
                print(f"Error: {event.meta.get('error', 'unknown')}")

    primary = ScriptedFactory(
        Script.tokens("abcdefg", fail_at=6), Script(chunks=["x"], fail_at=0, error=ValueError("no"))
    )
    fallback = ScriptedFactory(Script.tokens("fallback answer", delay=0.1))
    result = await l0.run(
        stream=primary,
        fallbacks=[fallback],
        retry=l0.Retry(attempts=0, strategy=l0.BackoffStrategy.FIXED, base_delay=1.0),
        on_event=handle_event,
        context={"request_id": "req-123", "user_id": "user-456"},
        continue_from_last_good_token=True,
    )
    assert await result.read() == "abcdeffallback answer"  # resumed after the checkpoint
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Session started: {result.stream_id}"
    assert "Checkpoint saved (5 tokens)" in lines
    assert "Network error: connection reset by peer (scripted)" in lines
    assert "Retrying (attempt 1)" in lines
    assert "Error: no" in lines
    assert "Switching to fallback 1" in lines
    assert lines[-1].startswith("Complete! Duration: ") and lines[-1].endswith("s")
    # seconds on the virtual clock: the 1 s backoff, then 15 chunks 0.1 s apart
    assert float(lines[-1].removeprefix("Complete! Duration: ")[:-1]) == pytest.approx(2.5)


async def test_each_event_carries_its_documented_meta() -> None:
    """attempt, index, token_count, error and duration (seconds) where the reference says."""
    seen = Collect()
    primary = ScriptedFactory(Script.tokens("hello", fail_at=3), Script(chunks=[], fail_at=0))
    fallback = ScriptedFactory(Script.tokens("hi there"))
    stream = await l0.run(
        stream=primary,
        fallbacks=[fallback],
        retry=l0.Retry(
            attempts=0, max_retries=1, strategy=l0.BackoffStrategy.FIXED, base_delay=0.5
        ),
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=2),
        on_event=seen,
    )
    await stream.read()
    (retry,) = seen.of(Obs.RETRY_ATTEMPT)
    assert (retry.meta["attempt"], retry.meta["delay"], retry.meta["reason"]) == (
        1,
        0.5,
        "econnreset",
    )
    (switch,) = seen.of(Obs.FALLBACK_START)
    assert (switch.meta["index"], switch.meta["previous_index"]) == (1, 0)
    assert [e.meta["token_count"] for e in seen.of(Obs.CHECKPOINT_SAVED)][:1] == [2]
    network = seen.of(Obs.NETWORK_ERROR)
    assert network[0].meta["error"] == "connection reset by peer (scripted)"
    assert network[0].meta["network_type"] == "econnreset"
    failures = [e for e in seen.of(Obs.ERROR)]
    assert all(isinstance(e.meta["exception"], BaseException) for e in failures)
    inits = seen.of(Obs.STREAM_INIT)
    assert [(e.meta["attempt"], e.meta["fallback_index"]) for e in inits] == [
        (0, 0),
        (1, 0),
        (2, 1),
    ]
    (complete,) = seen.of(Obs.COMPLETE)
    assert complete.meta["duration"] == pytest.approx(0.5)  # the backoff, on the virtual clock
    assert (complete.meta["token_count"], complete.meta["attempts"]) == (11, 3)
    assert complete.meta["fallback_index"] == 1
    assert seen.types[-2:] == [Obs.SESSION_END, Obs.COMPLETE]


async def test_timestamps_are_epoch_milliseconds_and_the_stream_id_a_uuid7() -> None:
    """ts is Unix epoch ms; every event of a run shares one UUIDv7 stream id."""
    seen = Collect()
    before = time.time() * 1000.0
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("ok")), on_event=seen)
    await stream.read()
    after = time.time() * 1000.0
    assert all(before - 1000 <= e.ts <= after + 1000 for e in seen.events)
    assert {e.stream_id for e in seen.events} == {stream.stream_id}
    assert stream.stream_id is not None and stream.stream_id[14] == "7"
    other = Collect()
    again = await l0.run(stream=ScriptedFactory(Script.tokens("ok")), on_event=other)
    await again.read()
    assert again.stream_id != stream.stream_id


async def test_context_is_copied_when_the_run_starts() -> None:
    """Mutating the context dict later never rewrites the events of the run."""
    seen = Collect()
    context: dict[str, Any] = {"request_id": "req-123", "tags": ["a"]}
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("abc", delay=1.0)), on_event=seen, context=context
    )
    events = stream.__aiter__()
    await events.__anext__()
    context["request_id"] = "changed"
    context["tags"].append("b")
    async for _event in events:
        pass
    assert {e.context["request_id"] for e in seen.events} == {"req-123"}
    assert all(e.context["tags"] == ["a"] for e in seen.events)


async def test_a_handler_that_raises_never_breaks_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The run completes and the failure is logged on the "l0" logger."""

    def broken(event: l0.ObservabilityEvent) -> None:
        raise RuntimeError("handler bug")

    stream = await l0.run(stream=ScriptedFactory(Script.tokens("fine")), on_event=broken)
    with caplog.at_level(logging.ERROR, logger="l0"):
        assert await stream.read() == "fine"
    assert "on_event handler raised for SESSION_START" in caplog.text


async def test_the_event_bus_reference_example() -> None:
    """EventBus(handler, context): a UUIDv7 stream_id, and emit() with custom meta."""
    received: list[l0.ObservabilityEvent] = []

    def my_handler(event: l0.ObservabilityEvent) -> None:
        received.append(event)

    bus = l0.EventBus(handler=my_handler, context={"service": "my-app", "request_id": "req-123"})
    assert bus.stream_id[14] == "7" and len(bus.stream_id) == 36
    before = time.time() * 1000.0
    bus.emit(l0.ObservabilityEventType.CHECKPOINT_SAVED, checkpoint="...", token_count=100)
    (event,) = received
    assert event.type is l0.ObservabilityEventType.CHECKPOINT_SAVED
    assert event.stream_id == bus.stream_id
    assert event.context == {"service": "my-app", "request_id": "req-123"}
    assert event.meta == {"checkpoint": "...", "token_count": 100}
    assert before <= event.ts <= time.time() * 1000.0


async def test_run_passes_context_to_every_event() -> None:
    """The 'Using with run()' example: context and meta on every event."""
    seen = Collect()
    result = await l0.run(
        stream=ScriptedFactory(Script.tokens("ok")),
        on_event=seen,
        context={"request_id": "req-123", "user_id": "user-456"},
    )
    await result.read()
    assert seen.events
    assert all(e.context == {"request_id": "req-123", "user_id": "user-456"} for e in seen.events)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios, backend=st.sampled_from(sorted(BACKENDS)))
def test_lifecycle_events_agree_with_the_run_on_any_fault_schedule(
    scenario: Any, backend: str
) -> None:
    """Order invariants hold, and the events account for every attempt, retry, fallback,
    network error and the outcome."""
    outcome = run_scenario(scenario, backend)
    events = outcome.lifecycle
    state = outcome.stream.state
    core = outcome.stream._core
    assert core is not None
    check_lifecycle(events, finished=core.phase in ("complete", "error"))
    count = Counter(e.type for e in events)
    assert count[Obs.STREAM_INIT] == sum(f.calls for f in outcome.factories)
    assert count[Obs.RETRY_ATTEMPT] == state.model_retry_count + state.network_retry_count
    assert count[Obs.FALLBACK_START] == state.fallback_index
    assert count[Obs.NETWORK_ERROR] == len(state.network_errors)
    assert (count[Obs.COMPLETE] == 1) is state.completed
    assert (outcome.error is not None) is (events[-1].type is Obs.ERROR)
    if not scenario.continuation:
        assert count[Obs.CHECKPOINT_SAVED] == 0
    if events[-1].type is Obs.ERROR:
        assert events[-1].meta["exception"] is outcome.error
