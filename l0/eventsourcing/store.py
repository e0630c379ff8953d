"""Where recordings live: the `EventStore` protocol and the in-memory store.

A store keeps, per stream id, the ordered envelopes of a recording and its
`StreamMetadata`; a store `WithSnapshots` also keeps `Snapshot`s of the state. Every method
is a coroutine, so a store may do I/O (the SQLite store runs it in a worker thread); the
recorder writes once, when a run ends, never per token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from l0.errors import Error, ErrorCode
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata


@runtime_checkable
class EventStore(Protocol):
    """Persistence for recordings (see the module docstring)."""

    async def append(self, stream_id: str, events: Sequence[EventEnvelope]) -> None:
        """Add envelopes to a stream's recording (sequence numbers continue)."""
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


class InMemoryEventStore:
    """Recordings in a dict: for tests, debugging sessions and short-lived processes."""

    def __init__(self) -> None:
        self._events: dict[str, list[EventEnvelope]] = {}
        self._metadata: dict[str, StreamMetadata] = {}
        self._snapshots: dict[str, list[Snapshot]] = {}

    async def append(self, stream_id: str, events: Sequence[EventEnvelope]) -> None:
        stored = self._events.setdefault(stream_id, [])
        check_sequence(stream_id, len(stored), events)
        stored.extend(events)

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


__all__ = ["EventStore", "EventStoreWithSnapshots", "InMemoryEventStore", "check_sequence"]
