"""Writing a recording while its run goes: batches in order, in the background, retried.

A `RecordingWriter` belongs to one recording. `submit(upto, metadata, snapshot)` asks for the
records not written yet, up to `upto`, to be appended with that metadata (and snapshot) in
one atomic `store.append`; it never waits. The writing is done by one task per recording,
spawned on the running event loop outside every cancel scope of the run (an asyncio task, a
trio system task), so a run that is cancelled does not cancel the writing of its last batch.
Requests that arrive while a batch is being written are merged into the next one.

A failed append is retried with backoff for up to `RETRY_FOR` seconds (a SQLite file locked
by another process, a database restarting). A failure it cannot recover — out of retries, or
an error retrying cannot fix — is logged on the "l0" logger and reported on the run's
`EventBus` as an `ERROR` event with `recording=True` (and `final=False`): never lost
silently. A later request tries again from the first record not written.

`wait_settled()` returns once the last request has been written or has failed its first
attempt (the end of a run waits for that; a cancelled run waits at most a moment).
`drain()` waits until every writer of this event loop is idle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import anyio
import sniffio

from l0.errors import Error
from l0.eventsourcing.store import EventStore, EventStoreWithSnapshots
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata
from l0.monitoring.redact import scrub
from l0.observability import EventBus, ObservabilityEventType as Obs

logger = logging.getLogger("l0")

RETRY_FOR = 30.0  # seconds a batch is retried before its failure is reported
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0

_tasks: set[asyncio.Task[None]] = set()  # strong references: asyncio keeps weak ones
_active: set[RecordingWriter] = set()


def _spawn(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `work` on the current event loop, outside the caller's cancel scopes."""
    if sniffio.current_async_library() == "trio":
        import trio

        trio.lowlevel.spawn_system_task(work)
        return
    task = asyncio.get_running_loop().create_task(work())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


class _Failed(Exception):
    """A request the writer gave up on, and why."""

    def __init__(self, request: int, error: BaseException) -> None:
        super().__init__(request, error)
        self.request = request
        self.error = error


class RecordingWriter:
    """Writes one recording's batches (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        stream_id: str,
        envelopes: Callable[[int, int], list[EventEnvelope]],
        bus: EventBus | None = None,
    ) -> None:
        self.store = store
        self.stream_id = stream_id
        self._envelopes = envelopes
        self._bus = bus
        self.written = 0  # records [0, written) are in the store
        self.failure: BaseException | None = None  # the last failure reported, if any
        self._upto = 0
        self._metadata: StreamMetadata | None = None
        self._snapshot: Snapshot | None = None
        self._request = 0  # numbered, so the writer knows what it has written
        self._done_request = 0
        self._attempted_request = 0
        self._running = False
        self._changed: anyio.Event | None = None

    # -- asking ---------------------------------------------------------------------------

    def submit(self, upto: int, metadata: StreamMetadata, snapshot: Snapshot | None = None) -> None:
        """Ask for records up to `upto` to be written with `metadata` (never waits)."""
        self._upto = max(self._upto, upto)
        self._metadata = metadata
        if snapshot is not None:
            self._snapshot = snapshot
        self._request += 1
        self._notify()
        if not self._running:
            self._running = True
            _active.add(self)
            _spawn(self._work)

    @property
    def idle(self) -> bool:
        """Nothing is being written or retried."""
        return not self._running

    @property
    def settled(self) -> bool:
        """The latest request was written, or its first attempt failed."""
        return self._attempted_request >= self._request or not self._running

    async def wait_settled(self) -> None:
        """Until the latest request is written, or its first attempt failed."""
        target = self._request
        while self._attempted_request < target and self._running:
            await self._wait_change()

    async def wait_idle(self) -> None:
        """Until nothing is being written or retried."""
        while self._running:
            await self._wait_change()

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def _wait_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    # -- writing ---------------------------------------------------------------------------

    async def _work(self) -> None:
        try:
            while self._done_request < self._request:
                try:
                    await self._write_latest()
                except _Failed as failed:
                    self._report(failed.error)
                    self._attempted_request = self._done_request = failed.request
                    self._notify()
        except BaseException:
            # the event loop is shutting down with a batch not written: say so
            if self._done_request < self._request:
                logger.error(
                    "l0: the recording of stream %s was not finished (records from %d on were "
                    "not written): the event loop stopped first",
                    self.stream_id,
                    self.written,
                )
            raise
        finally:
            self._running = False
            _active.discard(self)
            self._notify()

    async def _write_latest(self) -> None:
        """Append everything asked for so far; each attempt takes the latest request (so a
        run's last batch joins a batch being retried), with backoff, up to `RETRY_FOR`."""
        deadline = anyio.current_time() + RETRY_FOR
        delay = _FIRST_DELAY
        while True:
            request, upto = self._request, self._upto
            metadata, snapshot = self._metadata, self._snapshot
            assert metadata is not None
            envelopes = self._envelopes(self.written, upto)
            try:
                await self._append(envelopes, _with_count(metadata, upto), snapshot)
            except Error as exc:
                raise _Failed(request, exc) from exc  # refused: retrying cannot help
            except Exception as exc:
                self._attempted_request = max(self._attempted_request, request)
                self._notify()
                if anyio.current_time() + delay > deadline:
                    raise _Failed(request, exc) from exc
                logger.debug("l0: writing the recording of %s failed; retrying", self.stream_id)
                await anyio.sleep(delay)
                delay = min(delay * 2, _MAX_DELAY)
                continue
            self.written = upto
            if snapshot is self._snapshot:
                self._snapshot = None
            self._attempted_request = self._done_request = request
            self._notify()
            return

    async def _append(
        self,
        envelopes: Sequence[EventEnvelope],
        metadata: StreamMetadata,
        snapshot: Snapshot | None,
    ) -> None:
        store = self.store
        if snapshot is not None and isinstance(store, EventStoreWithSnapshots):
            await store.append(self.stream_id, envelopes, metadata, snapshot=snapshot)
        else:
            await store.append(self.stream_id, envelopes, metadata)

    def _report(self, error: BaseException) -> None:
        self.failure = error
        message = scrub(f"{type(error).__name__}: {error}")
        logger.error(
            "l0: could not write the recording of stream %s (records from %d on are missing; "
            "it is listed as incomplete): %s",
            self.stream_id,
            self.written,
            message,
        )
        if self._bus is not None:
            self._bus.emit(
                Obs.ERROR,
                error=f"The recording could not be written: {message}",
                error_type=type(error).__name__,
                category="internal",
                reason="recording_failed",
                recording=True,
                final=False,
            )


def _with_count(metadata: StreamMetadata, upto: int) -> StreamMetadata:
    return dataclasses.replace(metadata, event_count=upto)


async def drain() -> None:
    """Wait until every recording being written on this event loop is written (or its
    failure reported)."""
    while _active:
        await next(iter(_active)).wait_idle()


__all__ = ["RETRY_FOR", "RecordingWriter", "drain"]
