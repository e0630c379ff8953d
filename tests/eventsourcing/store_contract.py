"""The contract every `EventStore` keeps, as a reusable test class.

A store's test module subclasses `EventStoreContract` and provides a `store` fixture (a fresh,
empty store); every test here then runs against it:

    class TestMyStore(EventStoreContract):
        @pytest.fixture
        def store(self, tmp_path: Path) -> EventStore:
            return MyStore(...)

What it checks is the write protocol of `l0.eventsourcing.store`: `append(stream_id, events,
metadata=None)` is one atomic step (envelopes and metadata, and `snapshot=` for a store with
snapshots); sequences continue without gaps; a stream whose metadata says "running", or that
has events and no metadata, is incomplete; a real run records into the store progressively
and replays from it; a cancelled run is recorded as such.
"""

from __future__ import annotations

import anyio
import pytest

import l0
from l0.errors import ErrorCode
from l0.eventsourcing import (
    EventEnvelope,
    EventReplayer,
    EventStore,
    EventStoreWithSnapshots,
    RecordedEvent,
    RecordedEventType,
    ReplayedState,
    Snapshot,
    StreamMetadata,
)
from l0.eventsourcing.facade import EventSourcing
from l0.eventsourcing.store import incomplete_streams, recording_status
from l0.testing.scripted import Script, ScriptedFactory


def envelopes(stream_id: str, count: int, start: int = 0) -> list[EventEnvelope]:
    return [
        EventEnvelope(
            stream_id, n, RecordedEvent(RecordedEventType.TOKEN, 1.0 + n, {"text": f"t{n}"})
        )
        for n in range(start, start + count)
    ]


def metadata(stream_id: str, status: str = "running", count: int = 0) -> StreamMetadata:
    return StreamMetadata(stream_id=stream_id, created_at=1.0, status=status, event_count=count)


@pytest.mark.anyio
class EventStoreContract:
    """The tests; subclasses provide the `store` fixture."""

    async def test_batches_continue_the_sequence_and_replace_the_metadata(
        self, store: EventStore
    ) -> None:
        """Each append adds its envelopes and the latest metadata wins."""
        await store.append("a", envelopes("a", 3), metadata("a", count=3))
        await store.append("a", envelopes("a", 2, start=3), metadata("a", "completed", 5))
        assert [e.sequence for e in await store.read("a")] == [0, 1, 2, 3, 4]
        saved = await store.get_metadata("a")
        assert saved is not None and (saved.status, saved.event_count) == ("completed", 5)
        assert await store.exists("a") and await store.list_streams() == ["a"]

    async def test_a_refused_batch_writes_nothing_not_even_its_metadata(
        self, store: EventStore
    ) -> None:
        """A gap, a foreign envelope or metadata of another stream: the whole batch is
        refused and the store is as it was."""
        await store.append("a", envelopes("a", 2), metadata("a", count=2))
        bad_batches = [
            (envelopes("a", 2, start=5), metadata("a", "completed", 7)),  # a gap
            (envelopes("b", 1, start=2), metadata("a", "completed", 3)),  # foreign envelope
            (envelopes("a", 1, start=2), metadata("b", "completed", 3)),  # foreign metadata
        ]
        for events, meta in bad_batches:
            with pytest.raises(l0.Error) as caught:
                await store.append("a", events, meta)
            assert caught.value.code is ErrorCode.INVALID_ARGUMENT
        assert [e.sequence for e in await store.read("a")] == [0, 1]
        saved = await store.get_metadata("a")
        assert saved is not None and saved.status == "running"
        assert await store.get_metadata("b") is None

    async def test_running_and_metadata_less_streams_are_incomplete(
        self, store: EventStore
    ) -> None:
        """Metadata "running", or events and no metadata: incomplete; finished: not."""
        await store.append("running", envelopes("running", 1), metadata("running", count=1))
        await store.append("bare", envelopes("bare", 1))
        await store.append("done", envelopes("done", 1), metadata("done", "completed", 1))
        assert await incomplete_streams(store) == ["running", "bare"]
        assert await recording_status(store, "bare") == "incomplete"
        assert await recording_status(store, "done") == "completed"
        assert await EventSourcing.incomplete(store) == ["running", "bare"]

    async def test_metadata_alone_can_be_appended(self, store: EventStore) -> None:
        """An empty batch with metadata only updates the metadata."""
        await store.append("a", envelopes("a", 1), metadata("a", count=1))
        await store.append("a", [], metadata("a", "cancelled", 1))
        saved = await store.get_metadata("a")
        assert saved is not None and saved.status == "cancelled"
        assert len(await store.read("a")) == 1

    async def test_the_final_snapshot_is_written_with_the_last_batch(
        self, store: EventStore
    ) -> None:
        """A store with snapshots takes the snapshot in the same append."""
        if not isinstance(store, EventStoreWithSnapshots):
            pytest.skip("this store keeps no snapshots")
        state = ReplayedState(phase="complete", values={"content": "ab"})
        await store.append(
            "a", envelopes("a", 2), metadata("a", "completed", 2), snapshot=Snapshot("a", 1, state)
        )
        snapshot = await store.get_snapshot("a")
        assert snapshot is not None and snapshot.state == state
        with pytest.raises(l0.Error):
            await store.append(
                "a", envelopes("a", 1, start=2), None, snapshot=Snapshot("b", 2, state)
            )
        assert len(await store.read("a")) == 2

    async def test_delete_forgets_everything_of_a_stream(self, store: EventStore) -> None:
        await store.append("a", envelopes("a", 2), metadata("a", "completed", 2))
        await store.delete("a")
        assert not await store.exists("a") and await store.get_metadata("a") is None
        assert await store.list_streams() == []

    async def test_streams_keep_their_order_and_deleted_ones_are_forgotten(
        self, store: EventStore
    ) -> None:
        """append/read/exists/list_streams/delete: streams listed in the order they were
        first written, each read back in sequence order."""
        await store.append("b", envelopes("b", 2))
        await store.append("a", envelopes("a", 3))
        await store.append("a", envelopes("a", 1, start=3))
        assert await store.list_streams() == ["b", "a"]
        assert await store.read("a") == envelopes("a", 4)
        assert await store.exists("a") and not await store.exists("zzz")
        assert await store.read("zzz") == []
        await store.delete("a")
        assert await store.list_streams() == ["b"]
        assert await store.read("a") == []

    async def test_metadata_and_snapshots_saved_alone_round_trip(self, store: EventStore) -> None:
        """`save_metadata` and `save_snapshot` outside an append: read back as saved, the
        latest snapshot wins; unknown streams have neither."""
        assert isinstance(store, EventStoreWithSnapshots)
        saved = StreamMetadata(
            stream_id="a", created_at=1.5, status="aborted", token_count=3, context={"k": [1, "ü"]}
        )
        await store.save_metadata(saved)
        assert await store.get_metadata("a") == saved
        assert await store.get_metadata("b") is None
        state = ReplayedState.from_state(l0.State(content="abc", token_count=3), phase="complete")
        await store.save_snapshot(Snapshot("a", 4, state, created_at=2.0))
        await store.save_snapshot(Snapshot("a", 9, state, created_at=3.0))
        latest = await store.get_snapshot("a")
        assert latest is not None and latest.sequence == 9 and latest.state == state
        assert latest.state.to_state().content == "abc"
        assert await store.get_snapshot("b") is None

    async def test_a_run_records_into_the_store_and_replays_from_it(
        self, store: EventStore
    ) -> None:
        """A real run: completed, every record written, the replay matches."""
        factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello"))
        stream = await l0.run(
            stream=factory,
            retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.01),
            event_store=store,
        )
        assert await stream.read() == "Hello"
        saved = await store.get_metadata(stream.stream_id)
        assert saved is not None and saved.status == "completed"
        assert saved.event_count == len(await store.read(stream.stream_id))
        replay = await EventReplayer(store).replay(stream.stream_id)
        assert replay.faithful and not replay.incomplete
        assert replay.state.content == "Hello"

    async def test_a_cancelled_run_is_recorded_as_cancelled_and_replays(
        self, store: EventStore
    ) -> None:
        """Cancelled while the provider is silent: status "cancelled", and the replay
        reproduces how it stopped."""
        stream = await l0.run(
            stream=ScriptedFactory(Script.tokens("abcdef", stall_at=3, stall_for=60.0)),
            event_store=store,
        )
        with anyio.CancelScope() as scope:
            async for event in stream:
                if event.text == "c":
                    scope.cancel()  # lands in the run, waiting on the silent provider
        await EventSourcing.drain()
        saved = await store.get_metadata(stream.stream_id)
        assert saved is not None and saved.status == "cancelled"
        replay = await EventReplayer(store).replay(stream.stream_id)
        assert replay.faithful
        assert replay.state.content == "abc"
