"""Event sourcing: record a run's inputs, replay them to the same events and final state.

    store = l0.InMemoryEventStore()
    stream = await l0.run(stream=factory, event_store=store)
    await stream.read()
    (stream_id,) = await store.list_streams()
    replayed = await l0.EventReplayer(store).replay(stream_id)
    assert replayed.state.content == stream.state.content

See docs/replay.md for what is recorded and how a replay works.
"""

from l0.eventsourcing.errors import SerializedError
from l0.eventsourcing.recording import EventRecorder
from l0.eventsourcing.replayer import EventReplayer, ReplayCallbacks, ReplayResult
from l0.eventsourcing.store import EventStore, EventStoreWithSnapshots, InMemoryEventStore
from l0.eventsourcing.types import (
    EventEnvelope,
    RecordedEvent,
    RecordedEventType,
    ReplayedState,
    Snapshot,
    StreamMetadata,
)

__all__ = [
    "EventEnvelope",
    "EventRecorder",
    "EventReplayer",
    "EventStore",
    "EventStoreWithSnapshots",
    "InMemoryEventStore",
    "RecordedEvent",
    "RecordedEventType",
    "ReplayCallbacks",
    "ReplayResult",
    "ReplayedState",
    "SerializedError",
    "Snapshot",
    "StreamMetadata",
]
