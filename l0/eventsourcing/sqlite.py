"""A durable event store in one SQLite file (standard library `sqlite3`).

Every operation runs in a worker thread (`anyio.to_thread.run_sync`) with its own short-lived
connection, so the event loop never blocks on disk and concurrent runs can write at once
(SQLite serializes the writers; `busy_timeout` makes them wait instead of failing). Each
`append` is one `BEGIN IMMEDIATE` transaction holding the batch's envelopes, the stream's
metadata and, for the last batch, the final snapshot: after a crash the file holds whole
batches (see `l0.eventsourcing.store` for the protocol). A writer that waits longer than
`busy_timeout` gets "database is locked"; the recorder's writer retries it.

The file is created readable and writable by its owner only (mode 0600): recordings hold the
model's output and the run's (redacted) context. SQLite gives its journal files the
database's permissions. An existing file keeps the mode it has.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from l0.errors import Error, ErrorCode
from l0.eventsourcing.store import check_batch, check_sequence
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata

if TYPE_CHECKING:
    import sqlite3

T = TypeVar("T")

FILE_MODE = 0o600
_BUSY_TIMEOUT = 5.0  # seconds a writer waits for another (then the recorder retries)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    stream_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    now REAL,
    data TEXT NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
CREATE TABLE IF NOT EXISTS streams (
    stream_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    stream_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
"""

_PREFIX = "sqlite:///"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class SQLiteEventStore:
    """Recordings in a SQLite file (see the module docstring)."""

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = _BUSY_TIMEOUT
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout  # seconds a writer waits for another process's lock
        self._ready = False

    @classmethod
    def from_url(cls, url: str) -> SQLiteEventStore:
        """`sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (a `#fragment`, the
        stream id in `python -m l0 replay`, is ignored here)."""
        if not url.startswith(_PREFIX):
            raise Error(
                f"A SQLite store URL looks like sqlite:///path/to/file.db, got {url!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return cls(url[len(_PREFIX) :].partition("#")[0])

    # -- connections (worker threads only) -----------------------------------------------------

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(FileExistsError):
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
        import sqlite3

        with closing(sqlite3.connect(self.path)) as connection, connection:
            connection.executescript(_SCHEMA)
        self._ready = True

    def _connect(self) -> sqlite3.Connection:
        import sqlite3

        if not self._ready:
            self._create()
        return sqlite3.connect(self.path, timeout=self.busy_timeout)

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with closing(self._connect()) as connection, connection:
            return work(connection)

    def _write_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` in a transaction that takes the write lock first (a deferred one could
        fail without waiting when it upgrades its lock while another writer holds one)."""
        with closing(self._connect()) as connection:
            connection.isolation_level = None  # transactions spelled out below
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(functools.partial(self._transaction, work))

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(functools.partial(self._write_transaction, work))

    # -- EventStore ----------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[EventEnvelope],
        metadata: StreamMetadata | None = None,
        *,
        snapshot: Snapshot | None = None,
    ) -> None:
        check_batch(stream_id, metadata, snapshot)
        rows = [
            (e.stream_id, e.sequence, e.event.type.value, e.event.now, _dumps(dict(e.event.data)))
            for e in events
        ]
        stream_row = (
            (stream_id, metadata.created_at, _dumps(metadata.to_dict()))
            if metadata is not None
            else None
        )
        snapshot_row = (
            (stream_id, snapshot.sequence, _dumps(snapshot.to_dict()))
            if snapshot is not None
            else None
        )

        def work(connection: sqlite3.Connection) -> None:
            (count,) = connection.execute(
                "SELECT COUNT(*) FROM events WHERE stream_id = ?", (stream_id,)
            ).fetchone()
            check_sequence(stream_id, count, events)
            connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
            if stream_row is not None:
                connection.execute("INSERT OR REPLACE INTO streams VALUES (?, ?, ?)", stream_row)
            if snapshot_row is not None:
                connection.execute(
                    "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", snapshot_row
                )

        await self._write(work)

    async def read(self, stream_id: str) -> list[EventEnvelope]:
        def work(connection: sqlite3.Connection) -> list[Any]:
            return connection.execute(
                "SELECT seq, type, now, data FROM events WHERE stream_id = ? ORDER BY seq",
                (stream_id,),
            ).fetchall()

        rows = await self._run(work)
        return [EventEnvelope.from_row(stream_id, *row) for row in rows]

    async def exists(self, stream_id: str) -> bool:
        def work(connection: sqlite3.Connection) -> bool:
            row = connection.execute(
                "SELECT 1 FROM events WHERE stream_id = ? LIMIT 1", (stream_id,)
            ).fetchone()
            return row is not None

        return await self._run(work)

    async def list_streams(self) -> list[str]:
        def work(connection: sqlite3.Connection) -> list[str]:
            rows = connection.execute(
                "SELECT stream_id FROM events WHERE seq = 0 ORDER BY rowid"
            ).fetchall()
            return [row[0] for row in rows]

        return await self._run(work)

    async def delete(self, stream_id: str) -> None:
        def work(connection: sqlite3.Connection) -> None:
            for table in ("events", "streams", "snapshots"):
                connection.execute(f"DELETE FROM {table} WHERE stream_id = ?", (stream_id,))

        await self._run(work)

    async def save_metadata(self, metadata: StreamMetadata) -> None:
        row = (metadata.stream_id, metadata.created_at, _dumps(metadata.to_dict()))

        def work(connection: sqlite3.Connection) -> None:
            connection.execute("INSERT OR REPLACE INTO streams VALUES (?, ?, ?)", row)

        await self._run(work)

    async def get_metadata(self, stream_id: str) -> StreamMetadata | None:
        def work(connection: sqlite3.Connection) -> Any:
            return connection.execute(
                "SELECT metadata FROM streams WHERE stream_id = ?", (stream_id,)
            ).fetchone()

        row = await self._run(work)
        return StreamMetadata.from_dict(json.loads(row[0])) if row else None

    # -- snapshots -------------------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        row = (snapshot.stream_id, snapshot.sequence, _dumps(snapshot.to_dict()))

        def work(connection: sqlite3.Connection) -> None:
            connection.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", row)

        await self._run(work)

    async def get_snapshot(self, stream_id: str) -> Snapshot | None:
        def work(connection: sqlite3.Connection) -> Any:
            return connection.execute(
                "SELECT data FROM snapshots WHERE stream_id = ? ORDER BY seq DESC LIMIT 1",
                (stream_id,),
            ).fetchone()

        row = await self._run(work)
        return Snapshot.from_dict(json.loads(row[0])) if row else None

    def __repr__(self) -> str:
        return f"SQLiteEventStore({str(self.path)!r})"


__all__ = ["FILE_MODE", "SQLiteEventStore"]
