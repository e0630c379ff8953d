"""Recording a run: the facts its core received, written to the store while it goes.

`RecordingCore` is a `RunCore` that logs what the driver hands it — every fact passed to
`handle` (as a record, l0.eventsourcing.facts), every token and chunk — and then does
exactly what the core does. The driver taking the queued events (`take_events()`) is
recorded as a `DRAIN`, so a replay hands them over at the same points. The answers of user
code the core consults while a fact is handled (guardrail rules, `Retry.calculate_delay`)
are recorded as they are produced; a guardrail check the driver runs off the event loop is
recorded as the `CHECK` it is. A flag (`_inside`, set while a fact is handled) tells those
two apart, and an abort requested from inside a fact (by an `on_event` handler) from one
requested by the consumer.

`Stream` uses this core when the run has an `event_store`; with none, nothing here runs.
Records are appended to a list on the hot path; the store gets them in batches, written in
the background by a `RecordingWriter` (l0.eventsourcing.writer): the `INIT` record as the
run starts, then at every phase boundary (a fact other than a token), every
`BATCH_RECORDS` records or `BATCH_SECONDS` seconds, each batch with metadata whose status is
`"running"`. When the run ends (completed, failed, aborted, cancelled, closed early) the last
batch carries the final metadata and a snapshot of the final state; the end of the run waits
for it, except a cancelled one, which waits at most `CANCEL_GRACE` seconds and leaves the
writer to finish (and retry) in the background. A store that fails is logged and reported
on the run's EventBus, never raised: recording must not break the stream it observes. A
process that dies mid-run leaves whole batches and metadata saying "running".
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

import anyio

from l0._version import __version__
from l0.event_bus import EventBus
from l0.eventsourcing.codec import chunk_to_dict, found_to_dict, lifecycle_to_dict, plan_to_dict
from l0.eventsourcing.errors import SerializedError, redact_record
from l0.eventsourcing.facts import fact_record
from l0.eventsourcing.store import EventStore
from l0.eventsourcing.types import (
    FORMAT_VERSION,
    EventEnvelope,
    RecordedEvent,
    RecordedEventType,
    ReplayedState,
    Snapshot,
    StreamMetadata,
)
from l0.eventsourcing.writer import RecordingWriter
from l0.guardrails.engine import Found, GuardrailEngine
from l0.guardrails.types import GuardrailRule
from l0.metrics import MetricsSink
from l0.observability import EventSink, ObservabilityEvent
from l0.runtime.core import RunCore
from l0.runtime.facts import CheckFinished, Fact, Fail, Left, RunCheck
from l0.runtime.plan import RunPlan
from l0.types import Event, State

logger = logging.getLogger("l0")

BATCH_RECORDS = 256  # records between two batches, at most
BATCH_SECONDS = 1.0  # seconds between two batches, at most (checked as events pass)
CANCEL_GRACE = 0.5  # seconds a cancelled run waits for its last batch

R = RecordedEventType
T = TypeVar("T")
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


def _seeded(rng: random.Random | None) -> tuple[dict[str, Any], random.Random]:
    """The run's random generator and how to recreate it: a fresh seed, or the state of the
    generator the caller passed."""
    if rng is None:
        seed = int.from_bytes(os.urandom(8), "big") >> 1
        return {"seed": seed}, random.Random(seed)
    version, internal, gauss = rng.getstate()
    return {"state": [version, list(internal), gauss]}, rng


class RecordingEngine(GuardrailEngine):
    """A guardrail engine that records every outcome: a `GUARDRAIL` answer when the core
    runs a check while handling a fact, a `CHECK` fact when the driver runs it off-loop."""

    def __init__(self, rules: tuple[GuardrailRule, ...], *, bus: EventSink, core: RecordingCore):
        super().__init__(rules, bus=bus, check_interval=core.plan.check_interval)
        self._core = core

    def evaluate_streaming(self, state: State, count: int | None = None) -> Found:
        return self._recorded(
            "streaming",
            lambda engine, s: GuardrailEngine.evaluate_streaming(engine, s, count),
            state,
        )

    def evaluate_final(self, state: State) -> Found:
        return self._recorded("final", GuardrailEngine.evaluate_final, state)

    def _recorded(
        self, phase: str, evaluate: Callable[[GuardrailEngine, State], Found], state: State
    ) -> Found:
        kind = R.GUARDRAIL if self._core._inside else R.CHECK
        record = self._core._record
        try:
            found = evaluate(self, state)
        except Exception as exc:
            error = SerializedError.from_exception(exc).to_dict()
            record((kind, None, {"phase": phase, "error": error}))
            raise
        record((kind, None, found_to_dict(phase, found, self.rules)))
        return found


class RecordingCore(RunCore):
    """A `RunCore` that records its inputs (see the module docstring)."""

    def __init__(
        self,
        plan: RunPlan,
        *,
        store: EventStore,
        now: float,
        epoch: float,
        rng: random.Random | None = None,
        bus: EventBus,
        metrics: MetricsSink | None = None,
        state: State | None = None,
    ) -> None:
        self._inside = False
        self._boundaries = 0
        self._observed = 0
        self._quiet = False
        self._recorder: EventRecorder | None = None
        seed, rng = _seeded(rng)
        super().__init__(
            self._recording_plan(plan),
            now=now,
            epoch=epoch,
            rng=rng,
            bus=bus,
            metrics=metrics,
            state=state,
        )
        self._epoch = epoch
        self.recorder = EventRecorder(store, self.bus.stream_id, self.bus)
        self._recorder = self.recorder
        self._record = self.recorder.records.append
        if self.engine is not None:
            self.engine = RecordingEngine(self.plan.guardrails, bus=self.bus, core=self)
        self._record(
            (
                R.INIT,
                None,
                {
                    "format": FORMAT_VERSION,
                    "l0_version": __version__,
                    "stream_id": self.bus.stream_id,
                    "now": now,
                    "epoch": epoch,
                    "rng": seed,
                    "plan": plan_to_dict(self.plan),
                    "thread_threshold": self.engine.thread_threshold if self.engine else None,
                    "context": redact_record(self.bus.context),
                },
            )
        )
        self.bus.add_handler(self._observe)

    def _recording_plan(self, plan: RunPlan) -> RunPlan:
        """The plan, with `calculate_delay` (if any) recording what it returns."""
        calculate = plan.retry.calculate_delay
        if calculate is None:
            return plan

        def recorded(context: dict[str, Any]) -> float:
            try:
                value = calculate(context)
            except Exception as exc:
                error = SerializedError.from_exception(exc).to_dict()
                self._record((R.DELAY, None, {"error": error}))
                raise
            self._record((R.DELAY, None, {"value": redact_record(value)}))
            return value

        retry = dataclasses.replace(plan.retry, calculate_delay=recorded)
        return dataclasses.replace(plan, retry=retry)

    # -- what passes between the driver and the core ------------------------------------------

    def take_events(self) -> list[Event]:
        # The driver takes the queued events: they are delivered now (a replay hands them
        # over at the same point).
        events = RunCore.take_events(self)
        if events and self._recorder is not None:
            self._record((R.DRAIN, None, {"count": len(events)}))
        return events

    @property
    def quiet(self) -> bool:
        return self._quiet

    @quiet.setter
    def quiet(self, value: bool) -> None:
        # `Stream.read()` turns token events off: a replay must return the same events.
        if self._recorder is not None and value != self._quiet:
            self._record((R.QUIET, None, {"quiet": value}))
        self._quiet = value

    def _observe(self, event: ObservabilityEvent) -> None:
        # Serialized when the recording is written, as a replay's are after it ends.
        if event.meta.get("recording"):
            return  # the recording's own trouble is not part of the run
        self._observed += 1
        self._record((R.LIFECYCLE, None, event))

    # -- facts: logged, then handled as the core does -------------------------------------------

    def handle(self, fact: Fact, now: float) -> Any:
        if isinstance(fact, CheckFinished):
            decision = self.decision
            record: tuple[RecordedEventType, Any] = (
                R.CHECKED,
                {"phase": decision.phase if isinstance(decision, RunCheck) else None},
            )
        elif isinstance(fact, Left) and (
            self.left_as is not None or self.phase in ("complete", "error")
        ):
            return None  # the run has ended already: nothing happens, nothing to replay
        else:
            record = fact_record(fact)
        return self._fact(record[0], now, record[1], lambda: RunCore.handle(self, fact, now))

    def _fact(
        self, kind: RecordedEventType, now: float | None, data: Any, handle: Callable[[], T]
    ) -> T:
        self._boundaries += 1  # a phase boundary: the recording gets a batch
        self._record((kind, now, data))
        self._inside = True
        try:
            return handle()
        finally:
            self._inside = False

    def token(self, text: str, now: float) -> Event | None:
        self._record((R.TOKEN, now, text))
        self._inside = True
        try:
            return RunCore.token(self, text, now)
        finally:
            self._inside = False

    def event(self, chunk: object, now: float) -> Event | None:
        data = chunk_to_dict(chunk)
        return self._fact(R.CHUNK, now, data, lambda: RunCore.event(self, chunk, now))

    def request_abort(self) -> None:
        # An on_event handler may abort while a fact is handled: a replay repeats it right
        # after the same lifecycle event (the `observed`-th, counting from 0).
        data = {"nested": self._inside, "observed": self._observed}
        self._record((R.ABORT_REQUESTED, None, data))
        RunCore.request_abort(self)

    # -- the end ---------------------------------------------------------------------------------

    async def recorded(self, events: AsyncIterator[Event]) -> AsyncGenerator[Event, None]:
        """The run's events, passed through, its recording written in batches as they go
        and finished when they stop (module docstring)."""
        recorder = self.recorder
        records = recorder.records
        recorder.submit(self.metadata())  # listed as running from its first record on
        boundaries = self._boundaries
        due = len(records) + BATCH_RECORDS
        deadline = time.monotonic() + BATCH_SECONDS
        ending: BaseException | None = None
        try:
            async for event in events:
                if (
                    self._boundaries != boundaries
                    or len(records) >= due
                    or time.monotonic() >= deadline
                ):
                    recorder.submit(self.metadata())
                    boundaries = self._boundaries
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
            logger.exception("l0: could not write the recording of stream %s", self.bus.stream_id)

    def metadata(self, *, final: bool = False) -> StreamMetadata:
        """The recording's metadata: status "running", or (`final`) how the run ended."""
        final = final or self.recorder.flushed
        state = self.state
        records = self.recorder.records
        last = next((now for _kind, now, _data in reversed(records) if now is not None), None)
        error = self.decision.error if isinstance(self.decision, Fail) else None
        return StreamMetadata(
            stream_id=self.bus.stream_id,
            created_at=self._epoch,
            ended_at=self.epoch(last) if last is not None and final else None,
            status=self._status() if final else "running",
            event_count=len(records),
            token_count=state.token_count,
            content_length=state.content_length,
            retries=state.model_retry_count + state.network_retry_count,
            fallback_index=state.fallback_index,
            error=str(SerializedError.from_exception(error)) if error is not None else None,
            context=self.bus.context,
            l0_version=__version__,
        )

    def _status(self) -> str:
        """How the run ended."""
        if self.phase == "complete":
            return "completed"
        if self.state.aborted:
            return "aborted"
        if self.phase == "error" or self.left_as == "failed":
            return "failed"
        return "cancelled"  # cancelled, closed early, or never started

    def snapshot(self) -> Snapshot:
        return Snapshot(
            stream_id=self.bus.stream_id,
            sequence=len(self.recorder.records) - 1,
            state=ReplayedState.from_state(self.state, phase=self.phase),
            created_at=time.time(),
        )


__all__ = ["EventRecorder", "RecordingCore", "RecordingEngine"]
