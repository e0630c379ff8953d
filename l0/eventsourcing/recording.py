"""A recording being written: one run's records, sent to its store in batches as it goes.

`EventRecorder` keeps the records in a list (appended on the hot path, no I/O per token);
the store gets them in batches, written in the background by a `RecordingWriter`
(l0.eventsourcing.writer). `RunRecording` pairs those records with the run's core, which
says how the run stands: it writes a first batch (the `INIT` record) as the run starts,
then one at every phase boundary (a fact other than a token), every `BATCH_RECORDS` records or
`BATCH_SECONDS` seconds, each with metadata whose status is `"running"`. When the run ends
(completed, failed, aborted, cancelled, closed early) the last batch carries the final
metadata and a snapshot of the final state; the end of the run waits for it, except a
cancelled one, which waits at most `CANCEL_GRACE` seconds and leaves the writer to finish
(and retry) in the background. A store that fails is logged and reported on the run's
EventBus, never raised: recording must not break the stream it observes. A process that
dies mid-run leaves whole batches and metadata saying "running".

What the records are, and who appends them, is the recorder's business
(l0.eventsourcing.recorder).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio

from l0._version import __version__
from l0.eventsourcing.codec import lifecycle_to_dict
from l0.eventsourcing.errors import SerializedError
from l0.eventsourcing.store import EventStore
from l0.eventsourcing.types import (
    EventEnvelope,
    RecordedEvent,
    RecordedEventType,
    ReplayedState,
    Snapshot,
    StreamMetadata,
)
from l0.eventsourcing.writer import RecordingWriter
from l0.observability import EventSink
from l0.runtime.core import RunCore
from l0.runtime.facts import Fail
from l0.types import Event

logger = logging.getLogger("l0")

BATCH_RECORDS = 256  # records between two batches, at most
BATCH_SECONDS = 1.0  # seconds between two batches, at most (checked as events pass)
CANCEL_GRACE = 0.5  # seconds a cancelled run waits for its last batch

R = RecordedEventType
# The payload of TOKEN is the text, of LIFECYCLE the event: made plain when written.
Record = tuple[RecordedEventType, float | None, Any]


def _payload(kind: RecordedEventType, data: Any) -> dict[str, Any]:
    if kind is R.TOKEN:
        return {"text": data}
    if kind is R.LIFECYCLE:
        return {"event": lifecycle_to_dict(data)}
    return data or {}


class EventRecorder:
    """One run's records, buffered in memory and written to `store` in batches (module
    docstring)."""

    def __init__(self, store: EventStore, stream_id: str, bus: EventSink | None = None) -> None:
        self.store = store
        self.stream_id = stream_id
        self.records: list[Record] = []
        self.boundaries = 0  # phase boundaries recorded: each gets its batch
        self.flushed = False  # the final batch was asked for
        self.writer = RecordingWriter(store, stream_id, self.envelopes, bus)

    def record(self, kind: RecordedEventType, now: float | None, data: Any = None) -> None:
        self.records.append((kind, now, data))

    def envelopes(self, start: int = 0, stop: int | None = None) -> list[EventEnvelope]:
        stream_id = self.stream_id
        records = self.records
        stop = len(records) if stop is None else stop
        return [
            EventEnvelope(stream_id, sequence, RecordedEvent(kind, now, _payload(kind, data)))
            for sequence, (kind, now, data) in enumerate(records[start:stop], start)
        ]

    def submit(self, metadata: StreamMetadata) -> None:
        """Write what was recorded so far, with `metadata` (in the background)."""
        if not self.flushed:
            self.writer.submit(len(self.records), metadata)

    async def flush(self, metadata: StreamMetadata, snapshot: Snapshot | None = None) -> None:
        """Write the rest of the recording with its final metadata, and wait until it is
        written or its first attempt failed (once; later calls do nothing)."""
        if self.flushed:
            return
        self.flushed = True
        self.writer.submit(len(self.records), metadata, snapshot)
        await self.writer.wait_settled()


class RunRecording:
    """A run's records and its core: the batches written as the run's events pass, and the
    metadata and snapshot that say how it stands (module docstring)."""

    def __init__(self, recorder: EventRecorder, core: RunCore, created_at: float) -> None:
        self.recorder = recorder
        self.core = core
        self.created_at = created_at  # epoch seconds

    async def recorded(self, events: AsyncIterator[Event]) -> AsyncGenerator[Event, None]:
        """The run's events, passed through, its recording written in batches as they go
        and finished when they stop (module docstring)."""
        recorder = self.recorder
        records = recorder.records
        recorder.submit(self.metadata())  # listed as running from its first record on
        boundaries = recorder.boundaries
        due = len(records) + BATCH_RECORDS
        deadline = time.monotonic() + BATCH_SECONDS
        ending: BaseException | None = None
        try:
            async for event in events:
                if (
                    recorder.boundaries != boundaries
                    or len(records) >= due
                    or time.monotonic() >= deadline
                ):
                    recorder.submit(self.metadata())
                    boundaries = recorder.boundaries
                    due = len(records) + BATCH_RECORDS
                    deadline = time.monotonic() + BATCH_SECONDS
                yield event
        except BaseException as exc:
            ending = exc
            raise
        finally:
            with anyio.CancelScope(shield=True):
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()
                cancelled = isinstance(ending, (GeneratorExit, anyio.get_cancelled_exc_class()))
                if cancelled:
                    # Cancellation is prompt even when the store is not: the writer goes on
                    # in the background (retrying, reporting a failure it cannot recover).
                    with anyio.move_on_after(CANCEL_GRACE):
                        await self.flush()
                else:
                    await self.flush()

    async def flush(self) -> None:
        """Write the rest of the recording with its final metadata and snapshot (once); a
        failing store is logged and reported, never raised."""
        try:
            await self.recorder.flush(self.metadata(final=True), self.snapshot())
        except Exception:
            logger.exception(
                "l0: could not write the recording of stream %s", self.recorder.stream_id
            )

    def metadata(self, *, final: bool = False) -> StreamMetadata:
        """The recording's metadata: status "running", or (`final`) how the run ended."""
        core, recorder = self.core, self.recorder
        final = final or recorder.flushed
        state = core.state
        records = recorder.records
        last = next((now for _kind, now, _data in reversed(records) if now is not None), None)
        error = core.decision.error if isinstance(core.decision, Fail) else None
        return StreamMetadata(
            stream_id=recorder.stream_id,
            created_at=self.created_at,
            ended_at=core.epoch(last) if last is not None and final else None,
            status=self._status() if final else "running",
            event_count=len(records),
            token_count=state.token_count,
            content_length=state.content_length,
            retries=state.model_retry_count + state.network_retry_count,
            fallback_index=state.fallback_index,
            error=str(SerializedError.from_exception(error)) if error is not None else None,
            context=core.bus.context,
            l0_version=__version__,
        )

    def _status(self) -> str:
        """How the run ended."""
        core = self.core
        if core.phase == "complete":
            return "completed"
        if core.state.aborted:
            return "aborted"
        if core.phase == "error" or core.left_as == "failed":
            return "failed"
        return "cancelled"  # cancelled, closed early, or never started

    def snapshot(self) -> Snapshot:
        return Snapshot(
            stream_id=self.recorder.stream_id,
            sequence=len(self.recorder.records) - 1,
            state=ReplayedState.from_state(self.core.state, phase=self.core.phase),
            created_at=time.time(),
        )


__all__ = ["BATCH_RECORDS", "BATCH_SECONDS", "CANCEL_GRACE", "EventRecorder", "RunRecording"]
