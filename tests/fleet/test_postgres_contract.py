"""The shared EventStore contract (tests/eventsourcing/store_contract.py) against
PostgresEventStore on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from l0.eventsourcing.postgres import PostgresEventStore
from tests.eventsourcing.store_contract import EventStoreContract


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, postgres_url: str) -> AsyncIterator[PostgresEventStore]:
        opened = PostgresEventStore(postgres_url)
        yield opened
        await opened.aclose()
