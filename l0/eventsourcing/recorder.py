"""Recording a run: the calls its core received, logged as they pass through.

`FactRecorder` is the run's input port (l0.runtime.facts.RunInput) when it has an
`event_store`: it stands between the driver and a plain `RunCore` and, for every call, logs
what it is handed and then forwards it — each fact passed to `handle` (as a record,
l0.eventsourcing.facts), each token and chunk, `read()`'s quiet switch, each abort request,
and each time the driver takes the waiting events (`take_events()`, a `DRAIN`, so that a
replay hands them over at the same points). A replay feeds the same calls to a fresh core.

The answers of user code the core consults while it handles a call (guardrail rules,
`Retry.calculate_delay`) are recorded as they are produced: the recorder wraps
`calculate_delay` in the plan it builds the core with, and gives the core a guardrail engine
that logs its outcomes. Being the one that forwards, the recorder knows when a call is under
way (`_inside`): a guardrail outcome produced then is a `GUARDRAIL` answer, one produced
outside any call is a check the driver ran off the event loop (a `CHECK`); likewise an
abort requested from inside a call (by an `on_event` handler) is told from the consumer's.

Without an `event_store` the driver hands everything to the core directly and nothing here
runs. Writing the records to the store is `RunRecording`'s (l0.eventsourcing.recording).
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

from l0._version import __version__
from l0.event_bus import EventBus
from l0.eventsourcing.codec import chunk_to_dict, found_to_dict, plan_to_dict
from l0.eventsourcing.errors import SerializedError, redact_record
from l0.eventsourcing.facts import fact_record
from l0.eventsourcing.recording import EventRecorder, RunRecording
from l0.eventsourcing.store import EventStore
from l0.eventsourcing.types import FORMAT_VERSION, RecordedEventType
from l0.guardrails.engine import Found, GuardrailEngine
from l0.metrics import MetricsSink
from l0.observability import ObservabilityEvent
from l0.runtime.core import RunCore
from l0.runtime.facts import CheckFinished, Fact, Left, RunCheck
from l0.runtime.plan import RunPlan
from l0.types import Event, State

R = RecordedEventType
T = TypeVar("T")


def _seeded(rng: random.Random | None) -> tuple[dict[str, Any], random.Random]:
    """The run's random generator and how to recreate it: a fresh seed, or the state of the
    generator the caller passed."""
    if rng is None:
        seed = int.from_bytes(os.urandom(8), "big") >> 1
        return {"seed": seed}, random.Random(seed)
    version, internal, gauss = rng.getstate()
    return {"state": [version, list(internal), gauss]}, rng


class FactRecorder:
    """A run's input port that logs each call, then forwards it to its core (see the module
    docstring). `core` is the plain `RunCore` it builds; `recording` writes the log."""

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
        self._inside = False  # a call is being forwarded to the core
        self._observed = 0  # lifecycle events recorded
        self._quiet = False
        log = EventRecorder(store, bus.stream_id, bus)
        self._log = log
        self._record = log.records.append
        seed, rng = _seeded(rng)
        self.core = core = RunCore(
            self._recording_plan(plan),
            now=now,
            epoch=epoch,
            rng=rng,
            bus=bus,
            metrics=metrics,
            state=state,
        )
        if core.engine is not None:
            core.engine = _RecordingEngine(core.plan, bus=bus, recorder=self)
        self.recording = RunRecording(log, core, created_at=epoch)
        self._record(
            (
                R.INIT,
                None,
                {
                    "format": FORMAT_VERSION,
                    "l0_version": __version__,
                    "stream_id": bus.stream_id,
                    "now": now,
                    "epoch": epoch,
                    "rng": seed,
                    "plan": plan_to_dict(core.plan),
                    "thread_threshold": core.engine.thread_threshold if core.engine else None,
                    "context": redact_record(bus.context),
                },
            )
        )
        bus.add_handler(self._observe)

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

    def _observe(self, event: ObservabilityEvent) -> None:
        # Serialized when the recording is written, as a replay's are after it ends.
        if event.meta.get("recording"):
            return  # the recording's own trouble is not part of the run
        self._observed += 1
        self._record((R.LIFECYCLE, None, event))

    # -- the port: each call logged, then forwarded --------------------------------------------

    def handle(self, fact: Fact, now: float) -> Any:
        core = self.core
        if isinstance(fact, CheckFinished):
            decision = core.decision
            record: tuple[RecordedEventType, Any] = (
                R.CHECKED,
                {"phase": decision.phase if isinstance(decision, RunCheck) else None},
            )
        elif isinstance(fact, Left) and (
            core.left_as is not None or core.phase in ("complete", "error")
        ):
            return None  # the run has ended already: nothing happens, nothing to replay
        else:
            record = fact_record(fact)
        return self._boundary(record[0], now, record[1], lambda: core.handle(fact, now))

    def token(self, text: str, now: float) -> Event | None:
        self._record((R.TOKEN, now, text))
        self._inside = True
        try:
            return self.core.token(text, now)
        finally:
            self._inside = False

    def event(self, chunk: object, now: float) -> Event | None:
        data = chunk_to_dict(chunk)
        return self._boundary(R.CHUNK, now, data, lambda: self.core.event(chunk, now))

    def _boundary(
        self, kind: RecordedEventType, now: float | None, data: Any, forward: Callable[[], T]
    ) -> T:
        self._log.boundaries += 1  # a phase boundary: the recording gets a batch
        self._record((kind, now, data))
        self._inside = True
        try:
            return forward()
        finally:
            self._inside = False

    def take_events(self) -> list[Event]:
        # The driver takes the queued events: they are delivered now (a replay hands them
        # over at the same point).
        events = self.core.take_events()
        if events:
            self._record((R.DRAIN, None, {"count": len(events)}))
        return events

    @property
    def quiet(self) -> bool:
        return self._quiet

    @quiet.setter
    def quiet(self, value: bool) -> None:
        # `Stream.read()` turns token events off: a replay must return the same events.
        if value != self._quiet:
            self._record((R.QUIET, None, {"quiet": value}))
        self._quiet = self.core.quiet = value

    def request_abort(self) -> None:
        # An on_event handler may abort while a call is forwarded: a replay repeats it right
        # after the same lifecycle event (the `observed`-th, counting from 0).
        self._record(
            (R.ABORT_REQUESTED, None, {"nested": self._inside, "observed": self._observed})
        )
        self.core.request_abort()


class _RecordingEngine(GuardrailEngine):
    """The run's guardrail engine, logging every outcome: a `GUARDRAIL` answer when the
    core runs a check inside a forwarded call, a `CHECK` when the driver runs it off-loop."""

    def __init__(self, plan: RunPlan, *, bus: EventBus, recorder: FactRecorder) -> None:
        super().__init__(plan.guardrails, bus=bus, check_interval=plan.check_interval)
        self._recorder = recorder

    def evaluate_streaming(self, state: State, count: int | None = None) -> Found:
        return self._logged(
            "streaming",
            lambda engine, s: GuardrailEngine.evaluate_streaming(engine, s, count),
            state,
        )

    def evaluate_final(self, state: State) -> Found:
        return self._logged("final", GuardrailEngine.evaluate_final, state)

    def _logged(
        self, phase: str, evaluate: Callable[[GuardrailEngine, State], Found], state: State
    ) -> Found:
        recorder = self._recorder
        kind = R.GUARDRAIL if recorder._inside else R.CHECK
        try:
            found = evaluate(self, state)
        except Exception as exc:
            error = SerializedError.from_exception(exc).to_dict()
            recorder._record((kind, None, {"phase": phase, "error": error}))
            raise
        recorder._record((kind, None, found_to_dict(phase, found, self.rules)))
        return found


__all__ = ["EventRecorder", "FactRecorder"]
