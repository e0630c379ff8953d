"""What every part of the run core shares: the run's fields, its time and its outbox.

`RunCore` (core.py) is built in layers, one concern each, every layer a class whose parent
is the one below:

    RunBase            core_base.py   fields, time, the events waiting for the consumer
    LifecycleTelemetry telemetry.py   lifecycle events and the run's metrics
    Verdicts           verdicts.py    guardrail verdicts, checkpoints, rewinds
    FailurePolicy      failures.py    what a failure leads to (the `fail` edges)
    OverlapMatching    overlap.py     a resumed attempt's overlap with the kept text
    HedgeRacing        racing.py      hedged first tokens
    RunCore            core.py        `handle(fact)`, the hot path, an attempt's edges

A layer calls only itself and the layers below it.

Nothing here awaits or reads a clock: the time comes with every fact as `now`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from l0.errors import ErrorContext, FailureType
from l0.guardrails.engine import GuardrailEngine
from l0.machine.models import MachineModel, machine_error
from l0.metrics import MetricsSink
from l0.observability import EventSink
from l0.runtime import policy
from l0.runtime.facts import Decision, Open
from l0.runtime.plan import RunPlan
from l0.types import Event, GuardrailViolation, State

# A token handler: `handler(core, text, now)` returns the event to deliver, if any.
TokenHandler = Callable[[Any, str, float], "Event | None"]


class RunBase(MachineModel):
    """The fields of one run, and the few helpers every layer of the core uses."""

    # Fields every run starts with the same immutable value: class defaults, so creating a
    # run (done per stream, and short streams are common) does not assign each of them.
    decision: Decision | None = None
    abort_requested = False
    factory_index = 0
    attempt = -1
    # Set when the driver must stop reading the current attempt and handle a fact
    # (`ReadingStopped`, or the one the core asks for through `decision`).
    stop_reading = False
    # Set by Stream.read(): nobody looks at token events, so none are built.
    quiet = False
    # What handles a token now (core.py): `_at_boundary` outside plain streaming, else the
    # run's streaming handler; lower layers leave streaming by setting `_at_boundary`.
    token_handler: TokenHandler
    _at_boundary: ClassVar[staticmethod[[Any, str, float], Event | None]]
    _stream_done = False  # the stream sent its COMPLETE event
    _budget_model = 0  # retries of the current factory that count toward attempts
    _budget_total = 0  # all retries of the current factory
    _failure: policy.Failure | None = None
    _failure_phase = "init"
    _retry_vetoed = False  # by should_retry, or by a calculate_delay that raised
    _delay = 0.0
    _resume_text: str | None = None
    _network_trouble = False
    _retried_since_success = False
    _timeouts = 0
    _same_kind: FailureType | None = None  # the current route's last failure kind...
    _same_failures = 0  # ...and how many times in a row it failed that way
    _hedge: Open | None = None  # the route racing the current one (hedging)
    _hedges = 0  # hedges started, and won by the racing route
    _hedge_wins = 0
    # When this attempt last produced output (epoch seconds), for the longest silence between
    # outputs (`State._longest_gap`, read by Guardrails.stall). Set when an attempt's output
    # begins; infinite until then, so an unmarked path can miss a gap but never invent one.
    _output_at = math.inf
    _tracks_gaps = False
    left_as: str | None = None  # how a run that stopped short ended (see `Left`)
    events_waiting = False  # `take_events()` has something

    def __init__(
        self,
        plan: RunPlan,
        *,
        now: float,
        epoch: float,
        rng: random.Random | None = None,
        bus: EventSink,  # the driver's EventBus: it owns the clock and the stream id
        metrics: MetricsSink | None = None,  # where the run's totals go when it ends
        state: State | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        self._rng = rng
        self.bus = bus
        self.metrics_sink = metrics
        self.state = state if state is not None else State()
        self._append = self.state._parts.append  # the hot path's way to add text
        self.errors: list[BaseException] = []
        self._outbox: list[Event] = []
        # Read per token: instance attributes (found first) rather than class defaults.
        self.stop_reading = False
        self.quiet = False
        self.token_handler = self._at_boundary
        self.events_waiting = False
        self._epoch_offset = epoch - now
        self._started = now
        # (a tuple: none found, the common case, needs no list of its own)
        self._final_violations: Sequence[GuardrailViolation] = ()
        self.engine = (
            GuardrailEngine(plan.guardrails, bus=self.bus, check_interval=plan.check_interval)
            if plan.guardrails
            else None
        )

    @property
    def last_failure(self) -> policy.Failure | None:
        """The classified failure the run last handled (None before any)."""
        return self._failure

    @property
    def rng(self) -> random.Random:
        """The run's source of jitter (made on first use: most runs never back off)."""
        if self._rng is None:
            self._rng = random.Random()
        return self._rng

    # -- time ------------------------------------------------------------------------------------

    def epoch(self, now: float) -> float:
        """Driver-clock seconds to Unix epoch seconds."""
        return now + self._epoch_offset

    def _ts(self, now: float) -> float:
        """Observability timestamps are epoch milliseconds."""
        return (now + self._epoch_offset) * 1000.0

    def _fire(self, trigger: str, now: float, **kwargs: Any) -> None:
        kwargs["now"] = now
        kwargs["epoch"] = now + self._epoch_offset
        # `fire_with`, written out: a run fires a few triggers, each a call less.
        event = self._triggers.get(trigger)
        if event is None:
            self.fire_with(trigger, kwargs)  # raises: no such trigger
            return
        try:
            event.trigger_with(self, kwargs)
        except machine_error() as exc:
            raise self._illegal(trigger) from exc

    def _enter_streaming(self) -> None:
        """The attempt streams plain text: its tokens go to the run's streaming handler
        (which RunCore chooses, in core.py)."""
        raise NotImplementedError

    def _take_decision(self) -> Decision:
        decision = self.decision
        assert decision is not None
        return decision

    # -- the events waiting for the consumer ---------------------------------------------------

    def _put(self, event: Event) -> None:
        """Queue an event for the consumer, ahead of whatever comes next."""
        self._outbox.append(event)
        self.events_waiting = True

    def take_events(self) -> list[Event]:
        """The events waiting for the consumer, in order; they are the caller's now."""
        events, self._outbox = self._outbox, []
        self.events_waiting = False
        return events

    def _error_context(self) -> ErrorContext:
        state = self.state
        return ErrorContext(
            token_count=state.token_count,
            content_length=state.content_length,
            checkpoint=state.checkpoint,
            model_retry_count=state.model_retry_count,
            network_retry_count=state.network_retry_count,
            fallback_index=state.fallback_index,
            stream_id=self.bus.stream_id,
        )


__all__ = ["RunBase"]
