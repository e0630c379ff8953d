"""A durable event store in PostgreSQL (`pip install 'l0[postgres]'`): psycopg 3's asyncio
driver behind a `psycopg_pool` connection pool, for fleets that record from many processes.

    store = PostgresEventStore("postgresql://l0@db:5432/recordings")

Same protocol and guarantees as the SQLite store: a recording is written when its run ends,
its envelopes (and, when given, its metadata) in ONE transaction; sequences continue without
gaps (appends to one stream are serialized by a transaction-scoped advisory lock, so two
writers never interleave); `list_streams` is oldest first. Envelope data and metadata are
stored as `json` (the exact text, queryable with `->>`); each stream's `status` has its own
column, so runs that never ended are easy to find.

The schema belongs to l0: `l0_schema_version` records which of `MIGRATIONS` (numbered SQL,
applied in order) the database has. The first use of a store applies the missing ones, in
one transaction under an advisory lock, so many processes starting at once migrate exactly
once; a database migrated by a newer l0 is refused with an error that says so.

Each operation is bounded by `timeout` seconds (5 by default, waiting for a pooled connection
included), so a database that hangs fails the write (the recorder logs it) instead of
holding up the end of a run for long. It raises `PostgresUnavailable`, a `ConnectionError`:
transient, unlike the `l0.Error` of a refused batch. After such a failure, operations fail at
once for `retry_interval` seconds, so a database that is down costs the runs ending
meanwhile nothing. psycopg's async driver runs on asyncio only: on trio the store raises
`l0.Error`. One store object serves one event loop (its pool lives there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import sniffio

from l0.errors import Error, ErrorCode
from l0.eventsourcing.store import check_sequence
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata
from l0.monitoring.redact import url_without_password

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")

SCHEMES = ("postgresql://", "postgres://")
# Statuses of runs that finished writing their recording (older l0 wrote the last two).
_FINISHED = ("completed", "failed", "aborted", "cancelled", "complete", "error")

# (version, what it does, SQL). Append new migrations; never edit one that was released.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "events, streams and snapshots",
        """
        CREATE TABLE l0_events (
            id BIGINT GENERATED ALWAYS AS IDENTITY,
            stream_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            now DOUBLE PRECISION,
            data JSON NOT NULL,
            PRIMARY KEY (stream_id, seq)
        );
        CREATE INDEX l0_events_first ON l0_events (id) WHERE seq = 0;
        CREATE TABLE l0_streams (
            stream_id TEXT PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            status TEXT NOT NULL,
            metadata JSON NOT NULL
        );
        CREATE INDEX l0_streams_status ON l0_streams (status);
        CREATE TABLE l0_snapshots (
            stream_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            data JSON NOT NULL,
            PRIMARY KEY (stream_id, seq)
        );
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

# Any constant shared by every l0 process: the key of the advisory lock that migrations take.
_MIGRATION_LOCK = 0x6C30_5F6D_6967  # "l0_mig"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class PostgresUnavailable(ConnectionError):
    """The database could not be reached (or was not, a moment ago): a transient failure,
    worth retrying later, unlike the `l0.Error`s a store raises for a batch it refuses."""


def _missing_driver() -> Error:
    return Error(
        "PostgresEventStore needs psycopg 3 and psycopg_pool: pip install 'l0[postgres]'",
        code=ErrorCode.INVALID_ARGUMENT,
    )


class PostgresEventStore:
    """Recordings in PostgreSQL (see the module docstring).

    `url_or_pool`: a `postgresql://` URL (the pool is made and closed by the store) or an
    open `AsyncConnectionPool` (left to its owner; its connections must not be in
    autocommit-off transactions of their own). `min_size`/`max_size`: the pool's bounds.
    `timeout`: seconds each operation may take. `retry_interval`: seconds during which, after
    the database could not be reached, operations fail at once instead of waiting again.
    """

    def __init__(
        self,
        url_or_pool: str | AsyncConnectionPool[Any],
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        retry_interval: float = 5.0,
    ) -> None:
        try:
            from psycopg import OperationalError
            from psycopg_pool import AsyncConnectionPool, PoolTimeout
        except ImportError as exc:
            raise _missing_driver() from exc
        for label, value in (("timeout", timeout), ("retry_interval", retry_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise Error(
                    f"PostgresEventStore({label}=...) must be seconds > 0, got {value!r}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
        sizes_ok = (
            all(isinstance(n, int) and not isinstance(n, bool) for n in (min_size, max_size))
            and 0 <= min_size <= max_size
            and max_size >= 1
        )
        if not sizes_ok:
            raise Error(
                "PostgresEventStore(min_size=..., max_size=...) must be ints with "
                f"0 <= min_size <= max_size and max_size >= 1, got {min_size!r}, {max_size!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self.timeout = float(timeout)
        self.retry_interval = float(retry_interval)
        # What "the database cannot be reached" looks like (a timeout of ours included).
        self._unreachable_errors = (OperationalError, PoolTimeout, TimeoutError)
        self._down_until: float | None = None  # monotonic time
        if isinstance(url_or_pool, str):
            if not url_or_pool.startswith(SCHEMES):
                raise Error(
                    "A PostgreSQL store URL looks like postgresql://user@host:5432/database, "
                    f"got {url_or_pool!r}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
            self.url = url_or_pool.partition("#")[0]
            self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                self.url,
                min_size=min_size,
                max_size=max_size,
                timeout=self.timeout,
                open=False,
                kwargs={"autocommit": True, "connect_timeout": max(1, round(self.timeout))},
            )
            self._owns_pool = True
        elif isinstance(url_or_pool, AsyncConnectionPool):
            self.url, self._pool, self._owns_pool = "", url_or_pool, False
        else:
            raise Error(
                "PostgresEventStore(url_or_pool=...) must be a postgresql:// URL or a "
                f"psycopg_pool.AsyncConnectionPool, got {url_or_pool!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self._ready = False
        self._lock = anyio.Lock()

    @classmethod
    def from_url(cls, url: str) -> PostgresEventStore:
        """`postgresql://user:password@host:port/database` (a `#fragment`, the stream id in
        `python -m l0 replay`, is ignored here)."""
        return cls(url)

    # -- connections and schema --------------------------------------------------------------

    async def _prepare(self) -> None:
        if sniffio.current_async_library() != "asyncio":
            raise Error(
                "PostgresEventStore runs on asyncio only (psycopg's async driver); on trio "
                "record into SQLiteEventStore",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        async with self._lock:
            if self._ready:
                return
            if self._owns_pool:
                await self._pool.open(wait=True, timeout=self.timeout)
            async with self._pool.connection() as connection:
                await migrate(connection)
            self._ready = True

    async def _run(self, work: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        """`work` in one transaction on a pooled connection, within `timeout`."""
        where = url_without_password(self.url) or "the pool"
        if self._down_until is not None and time.monotonic() < self._down_until:
            raise PostgresUnavailable(
                f"PostgreSQL at {where} could not be reached a moment ago; it is tried again "
                f"{self.retry_interval:g}s after that failure (this call did not wait)"
            )
        try:
            with anyio.fail_after(self.timeout):
                if not self._ready:
                    await self._prepare()
                async with self._pool.connection() as connection, connection.transaction():
                    result = await work(connection)
        except self._unreachable_errors as exc:
            self._down_until = time.monotonic() + self.retry_interval
            raise PostgresUnavailable(
                f"Could not reach PostgreSQL at {where} within {self.timeout:g}s "
                f"({type(exc).__name__}: {exc}); check the URL and that the server accepts "
                "connections"
            ) from exc
        self._down_until = None
        return result

    async def aclose(self) -> None:
        """Close the pool (if the store made it)."""
        if self._owns_pool:
            await self._pool.close()

    # -- EventStore ------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[EventEnvelope],
        metadata: StreamMetadata | None = None,
        *,
        snapshot: Snapshot | None = None,
    ) -> None:
        """Add envelopes to a stream and, when given, replace its metadata and save a
        snapshot: one transaction, so a batch is written whole or not at all."""
        for item in (metadata, snapshot):
            if item is not None and item.stream_id != stream_id:
                raise Error(
                    f"{type(item).__name__} of stream {item.stream_id} cannot be written with "
                    f"a batch of stream {stream_id}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
        rows = [
            (e.stream_id, e.sequence, e.event.type.value, e.event.now, _dumps(dict(e.event.data)))
            for e in events
        ]

        async def work(connection: AsyncConnection[Any]) -> None:
            # One writer per stream at a time, until this transaction ends.
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (stream_id,)
            )
            cursor = await connection.execute(
                "SELECT COUNT(*) FROM l0_events WHERE stream_id = %s", (stream_id,)
            )
            (count,) = await cursor.fetchone() or (0,)
            check_sequence(stream_id, count, events)
            if rows:
                async with connection.cursor() as insert:
                    await insert.executemany(
                        "INSERT INTO l0_events (stream_id, seq, type, now, data) "
                        "VALUES (%s, %s, %s, %s, %s::json)",
                        rows,
                    )
            if metadata is not None:
                await _upsert_metadata(connection, metadata)
            if snapshot is not None:
                await _upsert_snapshot(connection, snapshot)

        await self._run(work)

    async def read(self, stream_id: str) -> list[EventEnvelope]:
        async def work(connection: AsyncConnection[Any]) -> list[Any]:
            cursor = await connection.execute(
                "SELECT seq, type, now, data::text FROM l0_events WHERE stream_id = %s "
                "ORDER BY seq",
                (stream_id,),
            )
            return await cursor.fetchall()

        rows = await self._run(work)
        return [EventEnvelope.from_row(stream_id, *row) for row in rows]

    async def exists(self, stream_id: str) -> bool:
        async def work(connection: AsyncConnection[Any]) -> bool:
            cursor = await connection.execute(
                "SELECT 1 FROM l0_events WHERE stream_id = %s LIMIT 1", (stream_id,)
            )
            return await cursor.fetchone() is not None

        return await self._run(work)

    async def list_streams(self) -> list[str]:
        async def work(connection: AsyncConnection[Any]) -> list[str]:
            cursor = await connection.execute(
                "SELECT stream_id FROM l0_events WHERE seq = 0 ORDER BY id"
            )
            return [row[0] for row in await cursor.fetchall()]

        return await self._run(work)

    async def list_incomplete(self) -> list[str]:
        """Streams whose run never finished writing its recording (metadata still
        "running", or events and no metadata), oldest first: one query."""

        async def work(connection: AsyncConnection[Any]) -> list[str]:
            cursor = await connection.execute(
                "SELECT e.stream_id FROM l0_events e LEFT JOIN l0_streams s USING (stream_id) "
                "WHERE e.seq = 0 AND (s.stream_id IS NULL OR s.status <> ALL(%s)) ORDER BY e.id",
                (list(_FINISHED),),
            )
            return [row[0] for row in await cursor.fetchall()]

        return await self._run(work)

    async def delete(self, stream_id: str) -> None:
        async def work(connection: AsyncConnection[Any]) -> None:
            for table in ("l0_events", "l0_streams", "l0_snapshots"):
                await connection.execute(f"DELETE FROM {table} WHERE stream_id = %s", (stream_id,))

        await self._run(work)

    async def save_metadata(self, metadata: StreamMetadata) -> None:
        async def work(connection: AsyncConnection[Any]) -> None:
            await _upsert_metadata(connection, metadata)

        await self._run(work)

    async def get_metadata(self, stream_id: str) -> StreamMetadata | None:
        async def work(connection: AsyncConnection[Any]) -> Any:
            cursor = await connection.execute(
                "SELECT metadata::text FROM l0_streams WHERE stream_id = %s", (stream_id,)
            )
            return await cursor.fetchone()

        row = await self._run(work)
        return StreamMetadata.from_dict(json.loads(row[0])) if row else None

    # -- snapshots -----------------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        async def work(connection: AsyncConnection[Any]) -> None:
            await _upsert_snapshot(connection, snapshot)

        await self._run(work)

    async def get_snapshot(self, stream_id: str) -> Snapshot | None:
        async def work(connection: AsyncConnection[Any]) -> Any:
            cursor = await connection.execute(
                "SELECT data::text FROM l0_snapshots WHERE stream_id = %s "
                "ORDER BY seq DESC LIMIT 1",
                (stream_id,),
            )
            return await cursor.fetchone()

        row = await self._run(work)
        return Snapshot.from_dict(json.loads(row[0])) if row else None

    def __repr__(self) -> str:
        return (
            f"PostgresEventStore({url_without_password(self.url)!r})"
            if self.url
            else "PostgresEventStore(pool)"
        )


async def _upsert_metadata(connection: AsyncConnection[Any], metadata: StreamMetadata) -> None:
    await connection.execute(
        "INSERT INTO l0_streams (stream_id, created_at, status, metadata) "
        "VALUES (%s, %s, %s, %s::json) ON CONFLICT (stream_id) DO UPDATE SET "
        "created_at = EXCLUDED.created_at, status = EXCLUDED.status, metadata = EXCLUDED.metadata",
        (metadata.stream_id, metadata.created_at, str(metadata.status), _dumps(metadata.to_dict())),
    )


async def _upsert_snapshot(connection: AsyncConnection[Any], snapshot: Snapshot) -> None:
    await connection.execute(
        "INSERT INTO l0_snapshots (stream_id, seq, data) VALUES (%s, %s, %s::json) "
        "ON CONFLICT (stream_id, seq) DO UPDATE SET data = EXCLUDED.data",
        (snapshot.stream_id, snapshot.sequence, _dumps(snapshot.to_dict())),
    )


async def schema_version(connection: AsyncConnection[Any]) -> int:
    """The database's l0 schema version (0 for a database l0 has not used yet)."""
    cursor = await connection.execute("SELECT to_regclass('l0_schema_version') IS NOT NULL")
    row = await cursor.fetchone()
    if not row or not row[0]:
        return 0
    cursor = await connection.execute("SELECT COALESCE(MAX(version), 0) FROM l0_schema_version")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(connection: AsyncConnection[Any]) -> int:
    """Bring the database to `SCHEMA_VERSION`; returns the version it had. Safe to run from
    many processes at once (they queue on an advisory lock; the first does the work)."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS l0_schema_version ("
            "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        found = await schema_version(connection)
        if found > SCHEMA_VERSION:
            raise Error(
                f"This PostgreSQL database holds l0 recordings in schema version {found}, "
                f"newer than this l0 knows ({SCHEMA_VERSION}); upgrade l0 to use it",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        for version, description, sql in MIGRATIONS:
            if version <= found:
                continue
            await connection.execute(sql.encode())  # several statements: no parameters
            await connection.execute(
                "INSERT INTO l0_schema_version (version, description) VALUES (%s, %s)",
                (version, description),
            )
    return found


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "PostgresEventStore",
    "PostgresUnavailable",
    "migrate",
    "schema_version",
]
