"""Which store a URL names: the one place that maps schemes to event stores.

    sqlite:///relative.db, sqlite:////absolute.db        -> SQLiteEventStore
    postgresql://user@host:5432/db (or postgres://...)   -> PostgresEventStore

A `#fragment` (a stream id, in `python -m l0 replay` and `EventSourcing.open`) is left to the
caller. Anything else is not a store URL (`None`): a path, for instance.
"""

from __future__ import annotations

from l0.eventsourcing.store import EventStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def store_from_url(location: str) -> EventStore | None:
    """The store a `sqlite:` or `postgresql://` URL names, or None for anything else."""
    if location.startswith("sqlite:"):
        from l0.eventsourcing.sqlite import SQLiteEventStore

        return SQLiteEventStore.from_url(location)
    if location.startswith(POSTGRES_SCHEMES):
        from l0.eventsourcing.postgres import PostgresEventStore

        return PostgresEventStore.from_url(location)
    return None


__all__ = ["POSTGRES_SCHEMES", "store_from_url"]
