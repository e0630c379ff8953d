"""The event store contract (tests/eventsourcing/store_contract.py) for l0's own stores:
in memory, SQLite, and a store loaded back from its JSON Lines export."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from l0.eventsourcing import EventEnvelope, EventStore, InMemoryEventStore, Snapshot, StreamMetadata
from l0.eventsourcing.jsonl import dumps, loads
from l0.eventsourcing.sqlite import SQLiteEventStore
from tests.eventsourcing.store_contract import EventStoreContract


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> EventStore:
        return InMemoryEventStore()


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> EventStore:
        return SQLiteEventStore(tmp_path / "recordings.db")


class JsonlRoundTripStore(InMemoryEventStore):
    """Every write goes through a JSON Lines export and import of the whole store, as a
    recording attached to a bug report would."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[EventEnvelope],
        metadata: StreamMetadata | None = None,
        *,
        snapshot: Snapshot | None = None,
    ) -> None:
        await super().append(stream_id, events, metadata, snapshot=snapshot)
        await self._round_trip()

    async def save_metadata(self, metadata: StreamMetadata) -> None:
        await super().save_metadata(metadata)
        await self._round_trip()

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        await super().save_snapshot(snapshot)
        await self._round_trip()

    async def _round_trip(self) -> None:
        reloaded = await loads(await dumps(self) if await self.list_streams() else "")
        assert isinstance(reloaded, InMemoryEventStore)
        for sid in await self.list_streams():
            assert await reloaded.read(sid) == await self.read(sid)
            assert await reloaded.get_metadata(sid) == await self.get_metadata(sid)
            assert await reloaded.get_snapshot(sid) == await self.get_snapshot(sid)


class TestJsonlRoundTrip(EventStoreContract):
    @pytest.fixture
    def store(self) -> EventStore:
        return JsonlRoundTripStore()
