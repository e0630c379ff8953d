"""`EventSourcing`: the event-sourcing toolkit behind one name.

store = l0.EventSourcing.sqlite("runs.db")          # or EventSourcing.in_memory()
stream = await l0.run(stream=factory, event_store=store)
...
result = await l0.EventSourcing.replay(store, stream_id)
await l0.EventSourcing.export_jsonl(store, "bug-1234.jsonl", [stream_id])
store, stream_id = await l0.EventSourcing.open("sqlite:///runs.db#0190...")
store, stream_id = await l0.EventSourcing.open("postgresql://l0@db/recordings#0190...")
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from l0.errors import Error, ErrorCode
from l0.eventsourcing.compare import ReplayComparison
from l0.eventsourcing.jsonl import export_jsonl, import_jsonl
from l0.eventsourcing.replayer import EventReplayer, ReplayCallbacks, ReplayResult
from l0.eventsourcing.sqlite import SQLiteEventStore
from l0.eventsourcing.store import EventStore, InMemoryEventStore, incomplete_streams
from l0.eventsourcing.urls import store_from_url
from l0.eventsourcing.writer import drain


class EventSourcing:
    """Stores, replay, comparison and JSON Lines import/export (see the module docstring)."""

    @staticmethod
    def in_memory() -> InMemoryEventStore:
        return InMemoryEventStore()

    @staticmethod
    def sqlite(path: str | os.PathLike[str]) -> SQLiteEventStore:
        """A durable store in a SQLite file (created with mode 0600)."""
        return SQLiteEventStore(path)

    @staticmethod
    async def drain() -> None:
        """Wait until every recording being written on this event loop is written, or its
        failure reported (a cancelled run leaves its last batch to a background writer)."""
        await drain()

    @staticmethod
    async def incomplete(store: EventStore) -> list[str]:
        """The streams whose run never finished writing its recording (see
        `l0.eventsourcing.store.incomplete_streams`)."""
        return await incomplete_streams(store)

    @staticmethod
    async def replay(
        store: EventStore, stream_id: str, *, callbacks: ReplayCallbacks | None = None
    ) -> ReplayResult:
        return await EventReplayer(store).replay(stream_id, callbacks=callbacks)

    @staticmethod
    async def compare(
        store: EventStore,
        expected: str,
        actual: str,
        *,
        other_store: EventStore | None = None,
        ignore_timing: bool = True,
    ) -> ReplayComparison:
        """Replay two recorded runs and compare them (`actual` from `other_store` if given)."""
        first = await EventReplayer(store).replay(expected)
        second = await EventReplayer(other_store or store).replay(actual)
        return ReplayComparison.between(first, second, ignore_timing=ignore_timing)

    @staticmethod
    async def export_jsonl(
        store: EventStore, path: str | os.PathLike[str], stream_ids: Sequence[str] | None = None
    ) -> int:
        return await export_jsonl(store, path, stream_ids)

    @staticmethod
    async def import_jsonl(
        path: str | os.PathLike[str], store: EventStore | None = None
    ) -> EventStore:
        return await import_jsonl(path, store)

    @staticmethod
    async def open(location: str) -> tuple[EventStore, str | None]:
        """A store and an optional stream id from `sqlite:///path.db[#stream_id]`,
        `postgresql://user@host/db[#stream_id]` or `path.jsonl[#stream_id]`."""
        store = store_from_url(location)
        stream_id = location.partition("#")[2] or None
        if store is not None and not isinstance(store, SQLiteEventStore):
            return store, stream_id  # a database server: nothing to look for on disk
        path = str(store.path) if store is not None else location.partition("#")[0]
        if not os.path.isfile(path):
            raise Error(
                _no_recording_message(path, store is not None), code=ErrorCode.INVALID_ARGUMENT
            )
        return (store if store is not None else await import_jsonl(path)), stream_id


def _no_recording_message(path: str, from_url: bool) -> str:
    if not from_url:
        return (
            f"No recording at {path!r}: give a JSON Lines file, "
            "sqlite:///path/to/file.db#stream_id or postgresql://host/db#stream_id"
        )
    # The SQLAlchemy rule, said where it bites: sqlite:///x is relative, sqlite:////x absolute.
    where = os.path.abspath(path)
    return (
        f"No recording at {where!r}: in a SQLite URL, sqlite:///path.db is relative to the current "
        "directory, sqlite:////path.db (four slashes) is absolute, as in SQLAlchemy"
    )


__all__ = ["EventSourcing"]
