"""Recording runs with `event_store=` and replaying them: the paths a property test rarely
takes (off-loop checks, user code that raises, aborts from handlers, early exits)."""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Sequence
from typing import Any

import pytest

import l0
from l0.errors import ErrorCode
from l0.eventsourcing import (
    EventEnvelope,
    EventReplayer,
    InMemoryEventStore,
    RecordedEvent,
    RecordedEventType,
    ReplayedState,
    Snapshot,
    StreamMetadata,
)
from l0.eventsourcing.codec import event_to_dict, lifecycle_to_dict
from l0.eventsourcing.facade import EventSourcing
from l0.eventsourcing.recorder import FactRecorder
from l0.runtime.core import RunCore
from l0.runtime.plan import make_plan
from l0.runtime.stream import Stream
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

FIXED = l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.5)


async def record(stream: l0.Stream, store: InMemoryEventStore) -> dict[str, Any]:
    """Consume a recorded stream; return what the consumer saw and the replay."""
    events: list[l0.Event] = []
    error: BaseException | None = None
    try:
        async for event in stream:
            events.append(event)
    except l0.Error as exc:
        error = exc
    (stream_id,) = await store.list_streams()
    replay = await EventReplayer(store).replay(stream_id)
    return {"events": events, "error": error, "replay": replay, "stream_id": stream_id}


def kinds(envelopes: Sequence[EventEnvelope]) -> list[RecordedEventType]:
    return [e.event.type for e in envelopes]


def same_run(stream: l0.Stream, outcome: dict[str, Any]) -> None:
    replay = outcome["replay"]
    core = stream._core
    assert core is not None
    assert [event_to_dict(e) for e in replay.events] == [
        event_to_dict(e) for e in outcome["events"]
    ]
    assert replay.replayed_state == ReplayedState.from_state(stream.state, phase=core.phase)
    assert replay.divergence() is None


async def test_a_recorded_run_is_listed_and_replays_to_the_same_state() -> None:
    """run(event_store=...) records; list_streams() finds it; replay() gives its state."""
    store = InMemoryEventStore()
    seen: list[l0.ObservabilityEvent] = []
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello world"))
    stream = await l0.run(stream=factory, retry=FIXED, event_store=store, on_event=seen.append)
    outcome = await record(stream, store)
    assert outcome["stream_id"] == stream.stream_id
    replay = outcome["replay"]
    assert replay.state.content == "Hello world" == stream.state.content
    assert replay.state.network_retry_count == 1
    assert [lifecycle_to_dict(e) for e in replay.lifecycle] == [lifecycle_to_dict(e) for e in seen]
    same_run(stream, outcome)
    assert factory.calls == 2  # replaying called no factory
    metadata = await store.get_metadata(outcome["stream_id"])
    assert isinstance(metadata, StreamMetadata)
    assert (metadata.status, metadata.retries, metadata.content_length) == ("completed", 1, 11)
    assert metadata.event_count == len(await store.read(outcome["stream_id"]))
    assert (await store.get_snapshot(outcome["stream_id"])) == replay.snapshot
    assert replay.snapshot is not None and replay.snapshot.state == replay.replayed_state


async def test_recording_is_off_without_a_store() -> None:
    """Without event_store the driver hands everything to the plain core itself: recording
    costs nothing. With one, a recorder stands in front of the same plain core."""
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("abc")))
    await stream.read()
    assert type(stream._core) is RunCore
    assert stream._driver is not None and stream._driver.port is stream._core
    recorded = await l0.run(
        stream=ScriptedFactory(Script.tokens("abc")), event_store=InMemoryEventStore()
    )
    await recorded.read()
    assert type(recorded._core) is RunCore
    assert recorded._driver is not None
    port = recorded._driver.port
    assert isinstance(port, FactRecorder) and port.core is recorded._core


async def test_an_event_store_that_is_not_one_is_refused() -> None:
    """A value without the EventStore methods is a clear INVALID_ARGUMENT."""
    with pytest.raises(l0.Error) as caught:
        await l0.run(stream=ScriptedFactory(Script.tokens("a")), event_store={"not": "a store"})
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert "event_store must be an l0.EventStore" in str(caught.value)


def test_the_plan_checks_exactly_the_event_store_protocols_methods() -> None:
    """The plan checks a store by method names (it may not import storage modules); the
    names are the `EventStore` protocol's, so the check is the protocol's isinstance."""
    from l0.eventsourcing.store import EventStore
    from l0.runtime.options import EVENT_STORE_METHODS

    members = {n for n, v in vars(EventStore).items() if callable(v) and not n.startswith("_")}
    assert set(EVENT_STORE_METHODS) == members


async def test_a_wrapped_raw_stream_is_recorded() -> None:
    """wrap(raw_stream, event_store=...) records the one-off stream."""
    store = InMemoryEventStore()

    async def tokens() -> Any:
        for token in ("one ", "two"):
            yield token

    stream = l0.wrap(tokens(), event_store=store)
    outcome = await record(stream, store)
    assert outcome["replay"].state.content == "one two"
    same_run(stream, outcome)


def _heavy_rule(state: l0.State) -> list[l0.GuardrailViolation]:
    if state.content.endswith("!"):
        return [l0.GuardrailViolation(rule="no_bang", message="ends with !", severity="error")]
    return []


async def test_off_loop_guardrail_checks_are_recorded_and_replayed() -> None:
    """Checks run in a worker thread (large outputs) are CHECK/CHECKED facts and replay."""
    big = "x" * 6000
    factory = ScriptedFactory(Script(chunks=[big, big, "!"]), Script(chunks=[big, big, "."]))
    store = InMemoryEventStore()
    stream = await l0.run(
        stream=factory,
        retry=FIXED,
        guardrails=[l0.GuardrailRule(name="no_bang", check=_heavy_rule)],
        check_interval=1,
        event_store=store,
    )
    outcome = await record(stream, store)
    recorded = kinds(await store.read(outcome["stream_id"]))
    assert RecordedEventType.CHECK in recorded and RecordedEventType.CHECKED in recorded
    assert stream.state.content.endswith(".") and stream.state.model_retry_count == 1
    same_run(stream, outcome)


async def test_user_callbacks_that_raise_replay_with_the_same_errors() -> None:
    """A calculate_delay that raises and a rule that raises are reproduced on replay."""

    def broken_delay(context: dict[str, Any]) -> float:
        raise ZeroDivisionError("no delay for you")

    store = InMemoryEventStore()
    stream = await l0.run(
        stream=ScriptedFactory(Script(chunks=["a"], fail_at=0)),
        retry=l0.Retry(calculate_delay=broken_delay),
        event_store=store,
    )
    outcome = await record(stream, store)
    assert RecordedEventType.DELAY in kinds(await store.read(outcome["stream_id"]))
    assert str(outcome["replay"].error) == str(outcome["error"])
    assert "ZeroDivisionError: no delay for you" in str(outcome["error"])
    same_run(stream, outcome)

    def broken_rule(state: l0.State) -> list[l0.GuardrailViolation]:
        raise KeyError("rule bug")

    store = InMemoryEventStore()
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("abc")),
        guardrails=[l0.GuardrailRule(name="buggy", check=broken_rule)],
        check_interval=1,
        event_store=store,
    )
    outcome = await record(stream, store)
    assert "Guardrail rule 'buggy' raised KeyError" in str(outcome["error"])
    assert str(outcome["replay"].error) == str(outcome["error"])
    same_run(stream, outcome)


async def test_an_abort_from_an_event_handler_replays_at_the_same_point() -> None:
    """A handler that aborts while the core emits is replayed right after that event."""
    store = InMemoryEventStore()
    holder: dict[str, l0.Stream] = {}

    def abort_on_checkpoint(event: l0.ObservabilityEvent) -> None:
        if event.type is l0.ObservabilityEventType.CHECKPOINT_SAVED:
            holder["stream"].abort()

    factory = ScriptedFactory(Script.tokens("abcdefgh"))
    stream = await l0.run(
        stream=factory,
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=3),
        event_store=store,
        on_event=abort_on_checkpoint,
    )
    holder["stream"] = stream
    outcome = await record(stream, store)
    assert outcome["error"].code is ErrorCode.STREAM_ABORTED
    assert stream.state.content == "abc"
    envelopes = await store.read(outcome["stream_id"])
    nested = [e for e in envelopes if e.event.type is RecordedEventType.ABORT_REQUESTED]
    assert nested and nested[0].event.data["nested"] is True
    same_run(stream, outcome)


async def test_an_abort_before_the_first_read_is_recorded() -> None:
    """abort() before iterating is a fact like any other."""
    store = InMemoryEventStore()
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("abc")), event_store=store)
    stream.abort()
    outcome = await record(stream, store)
    recorded = kinds(await store.read(outcome["stream_id"]))
    assert recorded[1:3] == [RecordedEventType.ABORT_REQUESTED, RecordedEventType.START]
    assert outcome["replay"].state.aborted
    same_run(stream, outcome)


async def test_a_stream_closed_early_is_recorded_up_to_where_it_stopped() -> None:
    """Leaving `async with` mid-stream writes the recording; it replays to that point."""
    store = InMemoryEventStore()
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("abcdef")), event_store=store)
    async with stream:
        async for event in stream:
            if event.text == "c":
                break
    (stream_id,) = await store.list_streams()
    replay = await EventReplayer(store).replay(stream_id)
    assert replay.state.content == "abc" == stream.state.content
    assert replay.phase == "streaming"
    metadata = await store.get_metadata(stream_id)
    assert metadata is not None and metadata.status == "cancelled"


async def test_an_unreadable_chunk_replays_with_the_same_message() -> None:
    """A chunk l0 cannot read is recorded by its type name and fails the same way."""

    class Weird:
        pass

    store = InMemoryEventStore()
    stream = await l0.run(
        stream=ScriptedFactory(Script(chunks=["a", Weird()])), retry=FIXED, event_store=store
    )
    outcome = await record(stream, store)
    assert "Weird" in str(outcome["error"])
    assert str(outcome["replay"].error) == str(outcome["error"])
    same_run(stream, outcome)


async def test_a_callers_random_generator_is_recorded_by_its_state() -> None:
    """A run given its own rng replays the same jitter from the recorded generator state."""
    store = InMemoryEventStore()
    plan = make_plan(
        ScriptedFactory(Script(chunks=["a"], fail_at=0), Script.tokens("ok")),
        l0.RunOptions(retry=l0.Retry(strategy=l0.BackoffStrategy.FULL_JITTER), event_store=store),
    )
    stream = Stream(plan, rng=random.Random(1234))
    outcome = await record(stream, store)
    init = (await store.read(outcome["stream_id"]))[0].event
    assert "state" in init.data["rng"]
    live_delay = next(e for e in outcome["replay"].recorded_lifecycle if e.meta.get("delay"))
    replayed = next(e for e in outcome["replay"].lifecycle if e.meta.get("delay"))
    assert replayed.meta["delay"] == live_delay.meta["delay"] > 0
    same_run(stream, outcome)


async def test_a_store_that_fails_is_logged_and_the_stream_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Recording never breaks the stream it observes; the writer retries, then reports the
    failure through logging and the run's EventBus."""

    class BrokenStore(InMemoryEventStore):
        async def append(
            self,
            stream_id: str,
            events: Sequence[EventEnvelope],
            metadata: StreamMetadata | None = None,
            *,
            snapshot: Snapshot | None = None,
        ) -> None:
            self.attempts = getattr(self, "attempts", 0) + 1
            raise OSError("disk full")

    store = BrokenStore()
    seen: list[l0.ObservabilityEvent] = []
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("fine")), event_store=store, on_event=seen.append
    )
    with caplog.at_level(logging.ERROR, logger="l0"):
        assert await stream.read() == "fine"
        await EventSourcing.drain()
    assert "could not write the recording" in caplog.text
    assert store.attempts > 2  # retried before giving up
    (report,) = [e for e in seen if e.meta.get("recording")]
    assert report.type is l0.ObservabilityEventType.ERROR and "disk full" in report.meta["error"]
    assert report.meta["final"] is False


async def test_replaying_leaves_the_global_metrics_alone() -> None:
    """A replay reports the run's metrics without adding them to the global counters."""
    store = InMemoryEventStore()
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("abc")), event_store=store)
    await stream.read()
    (stream_id,) = await store.list_streams()
    before = l0.Metrics.get_global().snapshot()
    replay = await EventReplayer(store).replay(stream_id)
    assert l0.Metrics.get_global().snapshot() == before
    assert replay.metrics is not None
    assert (replay.metrics.requests, replay.metrics.tokens, replay.metrics.completions) == (1, 3, 1)


async def test_replaying_an_unknown_stream_says_so() -> None:
    """replay() of an id the store does not have raises a clear error."""
    with pytest.raises(l0.Error) as caught:
        await EventReplayer(InMemoryEventStore()).replay("nope")
    assert "No recording of stream 'nope'" in str(caught.value)


async def test_a_recording_the_core_cannot_follow_is_reported_as_divergent() -> None:
    """An edited recording (a wake-up after the run completed) stops the replay clearly."""
    store = InMemoryEventStore()
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("ab")), event_store=store)
    await stream.read()
    (stream_id,) = await store.list_streams()
    envelopes = await store.read(stream_id)
    late = RecordedEvent(RecordedEventType.WOKE, 9.0, {})
    edited = [*envelopes, EventEnvelope(stream_id, len(envelopes), late)]
    with pytest.raises(l0.Error) as caught:
        EventReplayer.replay_envelopes(edited)
    assert "cannot be replayed" in str(caught.value)
    assert f"record {len(envelopes)}" in str(caught.value)


async def test_a_divergence_names_the_first_field_that_differs() -> None:
    """One field of one recorded lifecycle event edited: the message names its path and
    both values, briefly; a final state that differs is named the same way."""
    store = InMemoryEventStore()
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello"))
    stream = await l0.run(stream=factory, retry=FIXED, event_store=store)
    await stream.read()
    envelopes = await store.read(stream.stream_id)
    edited = []
    for envelope in envelopes:
        data = copy.deepcopy(envelope.to_dict())
        event = data["data"].get("event")
        if event is not None and event["type"] == "RETRY_ATTEMPT":
            event["meta"]["attempt"] = 7
        edited.append(EventEnvelope.from_dict(data))
    replay = EventReplayer.replay_envelopes(edited)
    message = replay.divergence()
    assert message is not None
    assert "(RETRY_ATTEMPT): meta.attempt was recorded as 7 but replays as 1" in message
    assert len(message) < 200
    state = ReplayedState(phase="complete", values={**replay.replayed_state.values, "content": "?"})
    snapshot = Snapshot(stream.stream_id, len(envelopes) - 1, state)
    again = EventReplayer.replay_envelopes(envelopes, snapshot=snapshot)
    assert (
        again.divergence() == "the final state: content was recorded as '?' but replays as 'Hello'"
    )
