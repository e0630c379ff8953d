"""Where recordings live: the `EventStore` protocol and the in-memory store.

A store keeps, per stream id, the ordered envelopes of a recording and its
`StreamMetadata`; a store `WithSnapshots` also keeps `Snapshot`s of the state. Every method
is a coroutine, so a store may do I/O (the SQLite store runs it in a worker thread).

The write protocol, which every store follows (the contract tests in
tests/eventsourcing/store_contract.py check it against any store):

- `append(stream_id, events, metadata=None)` adds the envelopes AND, when `metadata` is
  given, replaces the stream's metadata, in ONE atomic step: after a crash a store holds
  whole batches, each with the metadata written beside it, or nothing of a batch.
  A store with snapshots also takes `snapshot=`, written in the same step.
- The recorder appends in batches while a run goes (at phase boundaries, every
  `BATCH_RECORDS` records or `BATCH_SECONDS`), each batch with metadata whose `status` is
  `"running"`; the last batch carries the final metadata (and snapshot).
- So a stream whose metadata says `"running"`, or that has events and no metadata, never
  finished: `recording_status` says `"running"` / `"incomplete"` and `incomplete_streams`
  lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from l0.errors import Error, ErrorCode
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata


@runtime_checkable
class EventStore(Protocol):
    """Persistence for recordings (see the module docstring)."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[EventEnvelope],
        metadata: StreamMetadata | None = None,
    ) -> None:
        """Add envelopes to a stream's recording (sequence numbers continue) and, with
        `metadata`, replace its metadata: one atomic step (module docstring)."""
        ...

    async def read(self, stream_id: str) -> list[EventEnvelope]:
        """Every envelope of a stream, in sequence order (empty if unknown)."""
        ...

    async def exists(self, stream_id: str) -> bool: ...

    async def list_streams(self) -> list[str]:
        """Recorded stream ids, oldest first."""
        ...

    async def delete(self, stream_id: str) -> None: ...

    async def save_metadata(self, metadata: StreamMetadata) -> None: ...

    async def get_metadata(self, stream_id: str) -> StreamMetadata | None: ...


@runtime_checkable
class EventStoreWithSnapshots(EventStore, Protocol):
    """A store that also keeps snapshots of a stream's state."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[EventEnvelope],
        metadata: StreamMetadata | None = None,
        *,
        snapshot: Snapshot | None = None,
    ) -> None:
        """As `EventStore.append`, with `snapshot` saved in the same atomic step."""
        ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def get_snapshot(self, stream_id: str) -> Snapshot | None:
        """The latest snapshot of a stream, if any."""
        ...


def check_sequence(stream_id: str, expected: int, events: Sequence[EventEnvelope]) -> None:
    """Envelopes must belong to `stream_id` and continue its sequence without gaps."""
    for offset, envelope in enumerate(events):
        if envelope.stream_id != stream_id or envelope.sequence != expected + offset:
            raise Error(
                f"Envelope {envelope.stream_id}#{envelope.sequence} cannot be appended to "
                f"stream {stream_id} at position {expected + offset}; envelopes must belong "
                "to the stream and continue its sequence",
                code=ErrorCode.INVALID_ARGUMENT,
            )


def check_batch(
    stream_id: str, metadata: StreamMetadata | None, snapshot: Snapshot | None = None
) -> None:
    """Metadata and snapshot appended with a batch must be about the same stream."""
    for item in (metadata, snapshot):
        if item is not None and item.stream_id != stream_id:
            raise Error(
                f"{type(item).__name__} of stream {item.stream_id} cannot be written with a "
                f"batch of stream {stream_id}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


async def recording_status(store: EventStore, stream_id: str) -> str:
    """How a recording stands: its metadata's status ("running" while the run has not
    finished, else how it ended), or "incomplete" for events without metadata."""
    metadata = await store.get_metadata(stream_id)
    return metadata.status if metadata is not None else "incomplete"


async def incomplete_streams(store: EventStore) -> list[str]:
    """The streams whose run never finished writing its recording (a crash, a kill, a
    store that failed): metadata "running", or events and no metadata."""
    found = []
    for stream_id in await store.list_streams():
        metadata = await store.get_metadata(stream_id)
        if metadata is None or not metadata.finished:
            found.append(stream_id)
    return found


class InMemoryEventStore:
    """Recordings in a dict: for tests, debugging sessions and short-lived processes."""

    def __init__(self) -> None:
        self._events: dict[str, list[EventEnvelope]] = {}
        self._metadata: dict[str, StreamMetadata] = {}
        self._snapshots: dict[str, list[Snapshot]] = {}

    async def append(
        self,
        stream_id: str,
        events: Sequence[EventEnvelope],
        metadata: StreamMetadata | None = None,
        *,
        snapshot: Snapshot | None = None,
    ) -> None:
        # checked before anything changes: all of it happens, or none
        check_sequence(stream_id, len(self._events.get(stream_id, ())), events)
        check_batch(stream_id, metadata, snapshot)
        if events or stream_id in self._events:
            self._events.setdefault(stream_id, []).extend(events)
        if metadata is not None:
            self._metadata[stream_id] = metadata
        if snapshot is not None:
            self._snapshots.setdefault(stream_id, []).append(snapshot)

    async def read(self, stream_id: str) -> list[EventEnvelope]:
        return list(self._events.get(stream_id, ()))

    async def exists(self, stream_id: str) -> bool:
        return stream_id in self._events

    async def list_streams(self) -> list[str]:
        return list(self._events)

    async def delete(self, stream_id: str) -> None:
        self._events.pop(stream_id, None)
        self._metadata.pop(stream_id, None)
        self._snapshots.pop(stream_id, None)

    async def save_metadata(self, metadata: StreamMetadata) -> None:
        self._metadata[metadata.stream_id] = metadata

    async def get_metadata(self, stream_id: str) -> StreamMetadata | None:
        return self._metadata.get(stream_id)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshots.setdefault(snapshot.stream_id, []).append(snapshot)

    async def get_snapshot(self, stream_id: str) -> Snapshot | None:
        snapshots = self._snapshots.get(stream_id)
        return max(snapshots, key=lambda s: s.sequence) if snapshots else None

    def __repr__(self) -> str:
        return f"InMemoryEventStore(streams={len(self._events)})"


__all__ = [
    "EventStore",
    "EventStoreWithSnapshots",
    "InMemoryEventStore",
    "check_batch",
    "check_sequence",
    "incomplete_streams",
    "recording_status",
]
