"""Recording a run: the facts its core received, kept in memory, written when it ends.

`RecordingCore` is a `RunCore` whose fact methods append a record and then do exactly what
the core does. Only facts reported from outside count: the core calls its own fact methods
internally (an ERROR chunk becomes `failed`, an interruption becomes `ended`), and those are
consequences a replay reproduces by itself, so a flag (`_inside`) keeps them out. The driver
delivering queued events (`core.outbox = []`) is recorded as a `DRAIN`, so a replay hands
them over at the same points. The answers of user code the core consults while a fact is
handled — guardrail rules, `Retry.calculate_delay` — are recorded as they are produced; a
guardrail check the driver runs off the event loop is recorded as the `CHECK` fact it is.

`Stream` uses this core when the run has an `event_store`; with none, nothing here runs.
Records stay in a list until the run ends (completed, failed, aborted, or closed early);
then `EventRecorder.flush` writes envelopes, metadata and a snapshot of the final state in
one go, shielded from cancellation. A store that fails is logged, never raised: recording
must not break the stream it observes.
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
from l0.eventsourcing.codec import chunk_to_dict, found_to_dict, lifecycle_to_dict, plan_to_dict
from l0.eventsourcing.errors import SerializedError
from l0.eventsourcing.store import EventStore, EventStoreWithSnapshots
from l0.eventsourcing.types import (
    FORMAT_VERSION,
    EventEnvelope,
    RecordedEvent,
    RecordedEventType,
    ReplayedState,
    Snapshot,
    StreamMetadata,
)
from l0.guardrails.engine import Found, GuardrailEngine
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.monitoring.redact import redact
from l0.observability import EventBus, ObservabilityEvent
from l0.runtime.core import Decision, Fail, Open, RunCheck, RunCore
from l0.runtime.plan import RunPlan
from l0.types import Event, State

logger = logging.getLogger("l0")

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
    """One run's records, buffered in memory and written to `store` once (module docstring)."""

    def __init__(self, store: EventStore, stream_id: str) -> None:
        self.store = store
        self.stream_id = stream_id
        self.records: list[Record] = []
        self.flushed = False

    def record(self, kind: RecordedEventType, now: float | None, data: Any = None) -> None:
        self.records.append((kind, now, data))

    def envelopes(self) -> list[EventEnvelope]:
        stream_id = self.stream_id
        return [
            EventEnvelope(stream_id, sequence, RecordedEvent(kind, now, _payload(kind, data)))
            for sequence, (kind, now, data) in enumerate(self.records)
        ]

    async def flush(self, metadata: StreamMetadata, snapshot: Snapshot | None = None) -> None:
        """Write the recording (once; later calls do nothing)."""
        if self.flushed:
            return
        self.flushed = True
        envelopes = self.envelopes()
        await self.store.append(self.stream_id, envelopes)
        await self.store.save_metadata(dataclasses.replace(metadata, event_count=len(envelopes)))
        if snapshot is not None and isinstance(self.store, EventStoreWithSnapshots):
            await self.store.save_snapshot(snapshot)


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

    def __init__(self, rules: tuple[GuardrailRule, ...], *, bus: EventBus, core: RecordingCore):
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
        bus: EventBus | None = None,
        state: State | None = None,
    ) -> None:
        self._inside = False
        self._observed = 0
        self._outbox: list[Event] = []
        self._quiet = False
        self._recorder: EventRecorder | None = None
        seed, rng = _seeded(rng)
        super().__init__(
            self._recording_plan(plan), now=now, epoch=epoch, rng=rng, bus=bus, state=state
        )
        self._epoch = epoch
        self.recorder = EventRecorder(store, self.bus.stream_id)
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
                    "context": redact(self.bus.context),
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
            self._record((R.DELAY, None, {"value": redact(value)}))
            return value

        retry = dataclasses.replace(plan.retry, calculate_delay=recorded)
        return dataclasses.replace(plan, retry=retry)

    # -- what the driver reads and writes ------------------------------------------------------

    @property
    def outbox(self) -> list[Event]:
        return self._outbox

    @outbox.setter
    def outbox(self, events: list[Event]) -> None:
        # The driver takes the queued events by replacing the list: they are delivered now.
        if self._recorder is not None and self._outbox and not events:
            self._record((R.DRAIN, None, {"count": len(self._outbox)}))
        self._outbox = events

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
        self._observed += 1
        self._record((R.LIFECYCLE, None, event))

    # -- facts -----------------------------------------------------------------------------------

    def _fact(
        self, kind: RecordedEventType, now: float | None, data: Any, handle: Callable[[], T]
    ) -> T:
        self._record((kind, now, data))
        self._inside = True
        try:
            return handle()
        finally:
            self._inside = False

    def start(self, now: float) -> Decision:
        if self._inside:
            return RunCore.start(self, now)
        return self._fact(R.START, now, None, lambda: RunCore.start(self, now))

    def opened(self, now: float) -> None:
        if self._inside:
            return RunCore.opened(self, now)
        return self._fact(R.OPENED, now, None, lambda: RunCore.opened(self, now))

    def token(self, text: str, now: float) -> Event | None:
        if self._inside:
            return RunCore.token(self, text, now)
        self._record((R.TOKEN, now, text))
        self._inside = True
        try:
            return RunCore.token(self, text, now)
        finally:
            self._inside = False

    def event(self, chunk: object, now: float) -> Event | None:
        if self._inside:
            return RunCore.event(self, chunk, now)
        data = chunk_to_dict(chunk)
        return self._fact(R.CHUNK, now, data, lambda: RunCore.event(self, chunk, now))

    def interrupted(self, now: float) -> Decision:
        if self._inside:
            return RunCore.interrupted(self, now)
        return self._fact(R.INTERRUPTED, now, None, lambda: RunCore.interrupted(self, now))

    def ended(self, now: float) -> Decision:
        if self._inside:
            return RunCore.ended(self, now)
        return self._fact(R.END, now, None, lambda: RunCore.ended(self, now))

    def failed(self, error: BaseException, now: float) -> Decision:
        if self._inside:
            return RunCore.failed(self, error, now)
        data = {"error": SerializedError.from_exception(error).to_dict()}
        return self._fact(R.FAILED, now, data, lambda: RunCore.failed(self, error, now))

    def consulted(self, allowed: bool, now: float) -> Decision:
        if self._inside:
            return RunCore.consulted(self, allowed, now)
        data = {"allowed": bool(allowed)}
        return self._fact(R.CONSULTED, now, data, lambda: RunCore.consulted(self, allowed, now))

    def woke(self, now: float) -> Decision:
        if self._inside:
            return RunCore.woke(self, now)
        return self._fact(R.WOKE, now, None, lambda: RunCore.woke(self, now))

    def timed_out(self, timeout_type: str, seconds: float, now: float) -> Decision:
        if self._inside:
            return RunCore.timed_out(self, timeout_type, seconds, now)
        data = {"kind": timeout_type, "seconds": seconds}
        return self._fact(
            R.TIMED_OUT, now, data, lambda: RunCore.timed_out(self, timeout_type, seconds, now)
        )

    def aborted(self, now: float) -> Decision:
        if self._inside:
            return RunCore.aborted(self, now)
        return self._fact(R.ABORTED, now, None, lambda: RunCore.aborted(self, now))

    def hedge_due(self, now: float) -> Open | None:
        if self._inside:
            return RunCore.hedge_due(self, now)
        return self._fact(R.HEDGE, now, None, lambda: RunCore.hedge_due(self, now))

    def hedge_dropped(self, index: int, error: BaseException, now: float) -> None:
        if self._inside:
            return RunCore.hedge_dropped(self, index, error, now)
        data = {"index": index, "error": SerializedError.from_exception(error).to_dict()}
        return self._fact(
            R.HEDGE_DROPPED, now, data, lambda: RunCore.hedge_dropped(self, index, error, now)
        )

    def hedge_settled(self, index: int, now: float) -> None:
        if self._inside:
            return RunCore.hedge_settled(self, index, now)
        data = {"index": index}
        return self._fact(
            R.HEDGE_SETTLED, now, data, lambda: RunCore.hedge_settled(self, index, now)
        )

    def request_abort(self) -> None:
        # An on_event handler may abort while a fact is handled: a replay repeats it right
        # after the same lifecycle event (the `observed`-th, counting from 0).
        data = {"nested": self._inside, "observed": self._observed}
        self._record((R.ABORT_REQUESTED, None, data))
        RunCore.request_abort(self)

    def checked(self, violations: list[GuardrailViolation], now: float) -> Decision | None:
        if self._inside:
            return RunCore.checked(self, violations, now)
        decision = self.decision
        data = {"phase": decision.phase if isinstance(decision, RunCheck) else None}
        return self._fact(R.CHECKED, now, data, lambda: RunCore.checked(self, violations, now))

    # -- the end ---------------------------------------------------------------------------------

    async def recorded(self, events: AsyncIterator[Event]) -> AsyncGenerator[Event, None]:
        """The run's events, passed through; the recording is written when they stop."""
        try:
            async for event in events:
                yield event
        finally:
            with anyio.CancelScope(shield=True):
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()
                await self.flush()

    async def flush(self) -> None:
        """Write the recording to the store (once); a failing store is logged."""
        try:
            await self.recorder.flush(self.metadata(), self.snapshot())
        except Exception:
            logger.exception("l0: could not write the recording of stream %s", self.bus.stream_id)

    def metadata(self) -> StreamMetadata:
        state = self.state
        stamps = [now for _kind, now, _data in self.recorder.records if now is not None]
        error = self.decision.error if isinstance(self.decision, Fail) else None
        if self.phase == "complete":
            status = "complete"
        elif state.aborted:
            status = "aborted"
        elif self.phase == "error":
            status = "error"
        else:
            status = "incomplete"
        return StreamMetadata(
            stream_id=self.bus.stream_id,
            created_at=self._epoch,
            ended_at=self.epoch(stamps[-1]) if stamps else None,
            status=status,
            token_count=state.token_count,
            content_length=state.content_length,
            retries=state.model_retry_count + state.network_retry_count,
            fallback_index=state.fallback_index,
            error=str(SerializedError.from_exception(error)) if error is not None else None,
            context=self.bus.context,
            l0_version=__version__,
        )

    def snapshot(self) -> Snapshot:
        return Snapshot(
            stream_id=self.bus.stream_id,
            sequence=len(self.recorder.records) - 1,
            state=ReplayedState.from_state(self.state, phase=self.phase),
            created_at=time.time(),
        )


__all__ = ["EventRecorder", "RecordingCore", "RecordingEngine"]
