"""Replaying a recording: a fresh core, the same facts, the same run — no provider, no loop.

`replay_envelopes` rebuilds the run's plan (with stand-ins for stream factories and user
callbacks), its clock origin, its random generator and its stream id, builds a plain
`RunCore` from them, then feeds it every recorded call in order through the same port the
driver used (l0.runtime.facts.RunInput; the recorder logged what passed through it): each
fact record becomes the fact again (l0.eventsourcing.facts) and goes to `handle`; tokens
and chunks go to `token` and `event` (collecting the events they return); a `DRAIN` takes
the waiting events where the driver did; `QUIET` and `ABORT_REQUESTED` set what they set.
User code is not called again: guardrail outcomes (those of off-loop checks included) come
from the recording through the core's engine, `calculate_delay` results through its plan,
in order. The replay is synchronous and deterministic; `ReplayResult` holds what it
produced.

A recording made by another version of l0 may not replay: when a fact cannot be applied
(an illegal transition, a guardrail outcome missing) the replay stops with an `l0.Error`
saying where. `ReplayResult.divergence()` compares the replayed lifecycle events and final
state with those recorded live.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from l0.compare.objects import differences
from l0.errors import Error, ErrorCode
from l0.event_bus import EventBus
from l0.eventsourcing.codec import (
    Found,
    chunk_from_dict,
    found_from_dict,
    lifecycle_from_dict,
    lifecycle_to_dict,
    replay_plan,
    replay_rules,
)
from l0.eventsourcing.errors import SerializedError
from l0.eventsourcing.facts import record_fact
from l0.eventsourcing.limits import RecordingRefused
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
from l0.guardrails.engine import GuardrailEngine
from l0.guardrails.types import GuardrailRule
from l0.machine.diagram import render_mermaid
from l0.machine.models import StateTransition
from l0.metrics import MetricsSnapshot
from l0.observability import ObservabilityEvent
from l0.runtime.core import RunCore
from l0.runtime.facts import CheckFinished, Fail, RunCheck, RunInput
from l0.types import Event, RuntimeState, State

R = RecordedEventType


class _Diverged(Error):
    """The recording and this version of the core disagree."""


def _diverged(message: str) -> Error:
    return _Diverged(
        f"The recording cannot be replayed: {message}. It was probably made by another "
        "version of l0, or edited.",
        code=ErrorCode.INVALID_ARGUMENT,
    )


@dataclass(slots=True)
class ReplayCallbacks:
    """Optional hooks called while a recording replays, in the order things happen."""

    on_record: Callable[[EventEnvelope], object] | None = None  # before each fact applies
    on_event: Callable[[Event], object] | None = None  # each stream event, as delivered
    on_lifecycle: Callable[[ObservabilityEvent], object] | None = None
    on_transition: Callable[[RuntimeState], object] | None = None  # each state entered


@dataclass(slots=True)
class ReplayResult:
    """What a replay produced, and what the live run recorded, side by side."""

    stream_id: str
    state: State  # the replayed final state
    events: list[Event]  # stream events, as the consumer received them
    lifecycle: list[ObservabilityEvent]  # lifecycle events, replayed
    error: BaseException | None  # what the run raised, if it failed
    phase: str  # where the machine ended
    visits: dict[tuple[str, str, str], int]  # the edges taken: (source, trigger, dest) -> count
    history: list[StateTransition]
    metrics: MetricsSnapshot | None  # the run's contribution to the metrics counters
    recorded_lifecycle: list[ObservabilityEvent] = field(default_factory=list)
    metadata: StreamMetadata | None = None
    snapshot: Snapshot | None = None  # the final state as recorded live, if the store has it

    @property
    def completed(self) -> bool:
        return self.phase == "complete"

    @property
    def content(self) -> str:
        return self.state.content

    @property
    def replayed_state(self) -> ReplayedState:
        return ReplayedState.from_state(self.state, phase=self.phase)

    def divergence(self) -> str | None:
        """Where the replay differs from what the live run recorded; None when it does not."""
        replayed = [lifecycle_to_dict(e) for e in self.lifecycle]
        recorded = [lifecycle_to_dict(e) for e in self.recorded_lifecycle]
        for index, (mine, theirs) in enumerate(zip(replayed, recorded, strict=False)):
            if mine != theirs:
                return f"lifecycle event {index} ({theirs.get('type')}): " + _first_difference(
                    theirs, mine
                )
        if len(replayed) != len(recorded):
            return f"{len(replayed)} lifecycle events replayed, {len(recorded)} recorded"
        if self.snapshot is not None and self.snapshot.state != self.replayed_state:
            return "the final state: " + _first_difference(
                self.snapshot.state.to_dict(), self.replayed_state.to_dict()
            )
        return None

    @property
    def incomplete(self) -> bool:
        """The run never finished writing its recording (it was killed, or its store
        failed): metadata that says "running", or none at all. Such a replay shows how far
        the run got; it is never reported as matching."""
        return self.metadata is None or not self.metadata.finished

    @property
    def faithful(self) -> bool:
        """The recording is complete and the replay reproduced its lifecycle events (and
        final state)."""
        return not self.incomplete and self.divergence() is None

    def diagram(self, *, full: bool = False) -> str:
        """The path this run took through the runtime machine, as mermaid (`full=True`: the
        whole machine with the path marked)."""
        return render_mermaid("runtime", visits=self.visits, current=self.phase, path_only=not full)


def _first_difference(recorded: Any, replayed: Any) -> str:
    """The first field that differs, named by its path, with both values cut short."""
    found = differences(recorded, replayed)
    if not found:
        return "they differ"
    first = found[0]
    return (
        f"{first.path or 'the value'} was recorded as {_short(first.expected)} "
        f"but replays as {_short(first.actual)}"
    )


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ReplayEngine(GuardrailEngine):
    """Guardrail outcomes from the recording, in the order the live run produced them."""

    def __init__(
        self,
        rules: Sequence[GuardrailRule],
        *,
        bus: EventBus,
        answers: deque[RecordedEvent],
        thread_threshold: int | None,
        check_interval: int,
    ) -> None:
        super().__init__(rules, bus=bus, check_interval=check_interval)
        if thread_threshold is not None:
            self.thread_threshold = thread_threshold
        self._answers = answers

    def evaluate_streaming(self, state: State, count: int | None = None) -> Found:
        return self._next("streaming")

    def evaluate_final(self, state: State) -> Found:
        return self._next("final")

    def _next(self, phase: str) -> Found:
        if not self._answers:
            raise _diverged(f"the run checked its guardrails ({phase}) more often than recorded")
        answer = self._answers.popleft().data
        if answer["phase"] != phase:
            raise _diverged(f"a {phase} guardrail check where a {answer['phase']} one was recorded")
        if "error" in answer:
            raise SerializedError.from_dict(answer["error"]).rebuild()
        return found_from_dict(answer, self.rules)


class _KeptMetrics:
    """A metrics sink that keeps one run's totals."""

    snapshot: MetricsSnapshot | None = None

    def add_counts(self, *counts: int) -> None:
        self.snapshot = MetricsSnapshot(*counts)


def _rng(data: dict[str, Any]) -> random.Random:
    if "seed" in data:
        return random.Random(data["seed"])
    version, internal, gauss = data["state"]
    rng = random.Random()
    rng.setstate((version, tuple(internal), gauss))
    return rng


class _Replay:
    """One replay in progress (see the module docstring)."""

    def __init__(self, envelopes: Sequence[EventEnvelope], callbacks: ReplayCallbacks) -> None:
        self.envelopes = sorted(envelopes, key=lambda e: e.sequence)
        if not self.envelopes or self.envelopes[0].event.type is not R.INIT:
            raise _diverged("it does not start with an INIT record")
        init = self.envelopes[0].event.data
        if init.get("format") != FORMAT_VERSION:
            raise _diverged(f"format {init.get('format')!r} is not {FORMAT_VERSION}")
        self.callbacks = callbacks
        self.stream_id: str = init["stream_id"]
        self.events: list[Event] = []
        self.lifecycle: list[ObservabilityEvent] = []
        records = [e.event for e in self.envelopes]
        answers = deque(r for r in records if r.type is R.GUARDRAIL)
        self.delays = deque(r for r in records if r.type is R.DELAY)
        self.recorded = [
            lifecycle_from_dict(r.data["event"]) for r in records if r.type is R.LIFECYCLE
        ]
        # aborts requested by an on_event handler: after which lifecycle event (by index)
        self.nested_aborts = Counter(
            r.data["observed"] for r in records if r.type is R.ABORT_REQUESTED and r.data["nested"]
        )
        context = init["context"]
        plan = replay_plan(
            init["plan"],
            rules=replay_rules(init["plan"]),
            calculate_delay=self._delay,
            on_event=None,
            context=context,
        )
        self.kept = _KeptMetrics()  # the run's totals: never the process's counters
        bus = EventBus(self._on_lifecycle, context, stream_id=self.stream_id)
        self.core = RunCore(
            plan,
            now=init["now"],
            epoch=init["epoch"],
            rng=_rng(init["rng"]),
            bus=bus,
            metrics=self.kept,
        )
        if self.core.engine is not None:  # its guardrails answer from the recording
            self.core.engine = ReplayEngine(
                plan.guardrails,
                bus=bus,
                answers=answers,
                thread_threshold=init.get("thread_threshold"),
                check_interval=plan.check_interval,
            )
        self.port: RunInput = self.core  # where the recorded calls go, as the driver's did
        if callbacks.on_transition is not None:
            self.core.subscribe(callbacks.on_transition)
        self._found: Found | None = None

    def _delay(self, context: dict[str, Any]) -> float:
        if not self.delays:
            raise _diverged("Retry.calculate_delay was consulted more often than recorded")
        answer = self.delays.popleft().data
        if "error" in answer:
            raise SerializedError.from_dict(answer["error"]).rebuild()
        value: float = answer["value"]
        return value

    def _on_lifecycle(self, event: ObservabilityEvent) -> None:
        self.lifecycle.append(event)
        if self.callbacks.on_lifecycle is not None:
            self.callbacks.on_lifecycle(event)
        for _ in range(self.nested_aborts.get(len(self.lifecycle) - 1, 0)):
            self.port.request_abort()

    def _deliver(self, event: Event | None) -> None:
        if event is None:
            return
        self.events.append(event)
        if self.callbacks.on_event is not None:
            self.callbacks.on_event(event)

    def run(self) -> BaseException | None:
        raised: BaseException | None = None  # what the previous fact raised into the driver
        for envelope in self.envelopes[1:]:
            record = envelope.event
            if not record.is_fact or (record.type is R.ABORT_REQUESTED and record.data["nested"]):
                continue
            if raised is not None and record.type is not R.FAILED:
                raise _diverged(
                    f"record {envelope.sequence} ({record.type.value}) follows a fact that "
                    f"raised {raised!r}, where the driver reported a failure"
                )
            raised = None
            if self.callbacks.on_record is not None:
                self.callbacks.on_record(envelope)
            try:
                self._apply(record)
            except (_Diverged, RecordingRefused):
                raise
            except Error as exc:
                if exc.code is ErrorCode.INVALID_TRANSITION:  # never a live run's failure
                    raise _diverged(f"record {envelope.sequence}: {exc.message}") from exc
                raised = exc
            except Exception as exc:  # the driver reports it as the failure that follows
                raised = exc
        return raised

    def _apply(self, record: RecordedEvent) -> None:
        core, port, kind, data = self.core, self.port, record.type, record.data
        now = 0.0 if record.now is None else record.now  # facts that carry no time
        if kind is R.TOKEN:
            self._deliver(port.token(data["text"], now))
            return
        if kind is R.CHUNK:
            event = port.event(chunk_from_dict(data), now)
            if core.events_waiting and not core.stop_reading:
                # As the driver does: text this chunk released (an overlap resolved) goes out
                # ahead of the chunk's own event. The DRAIN recorded next then finds nothing.
                self._drain()
            self._deliver(event)
            return
        fact = record_fact(kind, data)
        if fact is not None:
            port.handle(fact, now)
        elif kind is R.DRAIN:
            self._drain()
        elif kind is R.ABORT_REQUESTED:
            port.request_abort()
        elif kind is R.CHECK:
            self._check(data)
        elif kind is R.CHECKED:
            self._checked(now)
        elif kind is R.QUIET:
            port.quiet = bool(data["quiet"])

    def _drain(self) -> None:
        for event in self.port.take_events():
            self._deliver(event)

    def _check(self, data: Any) -> None:
        """The driver ran a guardrail check off the event loop (its outcome is recorded)."""
        engine = self.core.engine
        if engine is None:
            raise _diverged("an off-loop guardrail check in a run without guardrails")
        self._found = None if "error" in data else found_from_dict(data, engine.rules)

    def _checked(self, now: float) -> None:
        core, found = self.core, self._found
        if core.engine is None or found is None or not isinstance(core.decision, RunCheck):
            raise _diverged("a guardrail result was handed over without a pending check")
        self._found = None
        self.port.handle(CheckFinished(found), now)


def replay_envelopes(
    envelopes: Sequence[EventEnvelope],
    *,
    callbacks: ReplayCallbacks | None = None,
    metadata: StreamMetadata | None = None,
    snapshot: Snapshot | None = None,
) -> ReplayResult:
    """Replay one stream's recording (synchronously; see the module docstring). A
    recording that is malformed, or asks for more than `l0.eventsourcing.limits` allows,
    is refused with an `l0.Error` (INVALID_ARGUMENT)."""
    try:
        replay = _Replay(envelopes, callbacks or ReplayCallbacks())
    except Error:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise _diverged(f"its INIT record is malformed ({type(exc).__name__}: {exc})") from exc
    raised = replay.run()
    core = replay.core
    decision = core.decision
    error = decision.error if isinstance(decision, Fail) else raised
    return ReplayResult(
        stream_id=replay.stream_id,
        state=core.state,
        events=replay.events,
        lifecycle=replay.lifecycle,
        error=error,
        phase=core.phase,
        visits=dict(core.visits),
        history=core.history,
        metrics=replay.kept.snapshot,  # the run's totals, once it ended
        recorded_lifecycle=replay.recorded,
        metadata=metadata,
        snapshot=snapshot,
    )


class EventReplayer:
    """Replays recordings from a store: `await EventReplayer(store).replay(stream_id)`."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def replay(
        self, stream_id: str, *, callbacks: ReplayCallbacks | None = None
    ) -> ReplayResult:
        envelopes = await self.store.read(stream_id)
        if not envelopes:
            raise Error(
                f"No recording of stream {stream_id!r} in {self.store!r}; "
                "`await store.list_streams()` lists the recorded ones",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        snapshot = None
        if isinstance(self.store, EventStoreWithSnapshots):
            snapshot = await self.store.get_snapshot(stream_id)
        return replay_envelopes(
            envelopes,
            callbacks=callbacks,
            metadata=await self.store.get_metadata(stream_id),
            snapshot=snapshot,
        )

    replay_envelopes = staticmethod(replay_envelopes)


__all__ = [
    "EventReplayer",
    "ReplayCallbacks",
    "ReplayEngine",
    "ReplayResult",
    "replay_envelopes",
]
