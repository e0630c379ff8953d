"""A circuit breaker shared by many runs: stop calling a route that keeps failing.

    breaker = l0.CircuitBreaker(failure_threshold=3, cool_down=30.0)
    result = await l0.run(stream=primary, fallbacks=[backup], breaker=breaker)

The breaker watches one route, the primary stream of the runs it is given to. While it is
`closed` every call goes to the route and consecutive transient failures (network errors,
timeouts, 429, 5xx) are counted; a success clears the count. At `failure_threshold` it
`open`s: calls skip the route (an `l0.Error(code=CIRCUIT_OPEN)` the runtime answers by
moving to the next fallback at once, or raises when there is none). Once `cool_down`
seconds have passed, the next call is let through as the one probe (`half_open`); other
calls keep skipping the route meanwhile. The probe's success closes the breaker, its
failure opens it for another cool-down, and a probe that ends with no verdict (aborted, or
failed in a way that says nothing about the route, such as a 400) lets the next call probe.

The machine is declared in `l0/machine/declarations/breaker.toml`. `_Circuit` is its model
and is pure: every fact carries `now` on the breaker's clock and nothing reads a clock
there, so tests drive it with plain numbers. `CircuitBreaker` adds a lock (runs on several
threads may share it), the clock (injected; `time.monotonic` by default) for the calls the
runtime makes, and the observability events of its state changes, sent to its own
`on_event` handler.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, cast

from l0.errors import Error, ErrorCode
from l0.event_bus import EventBus
from l0.machine.models import MachineModel, StateTransition
from l0.observability import (
    EventHandler,
    ObservabilityEvent,
    ObservabilityEventType as Obs,
)

if TYPE_CHECKING:
    from transitions import EventData


class CircuitState(str, Enum):
    CLOSED = "closed"  # calls go to the route
    OPEN = "open"  # calls skip the route until the cool-down has passed
    HALF_OPEN = "half_open"  # one probe is testing the route


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to call the route once; its outcome is reported with it."""

    probe: bool  # the one call that tests an open route
    epoch: int  # the breaker's state change count when it was given


@dataclass(frozen=True, slots=True)
class CircuitChange:
    """One state change, as the breaker reports it."""

    previous: CircuitState
    state: CircuitState
    reason: str  # "failures", "probe", "recovered", "probe_failed", "probe_abandoned", "reset"
    failures: int
    retry_at: float | None  # when the route may be probed, on the breaker's clock
    at: float  # when it happened, on the breaker's clock


_STATES = {state.value: state for state in CircuitState}

# The reference's lifecycle event types that say what each change means for calls: leaving
# the route for the fallbacks, trying it again, coming back to it.
_EVENT_TYPE = {
    CircuitState.OPEN: Obs.FALLBACK_START,
    CircuitState.HALF_OPEN: Obs.RETRY_ATTEMPT,
    CircuitState.CLOSED: Obs.FALLBACK_END,
}


class _Circuit(MachineModel):
    """The breaker machine's model: counts and times, no lock, no clock."""

    machine_name: ClassVar[str] = "breaker"
    states_by_name: ClassVar[Mapping[str, Any]] = _STATES

    def __init__(self, *, failure_threshold: int, cool_down: float) -> None:
        super().__init__()
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self.failures = 0
        self.retry_at: float | None = None
        self.epoch = 0
        self.changes: list[CircuitChange] = []
        self._reason = ""

    def report(self, trigger: str, now: float, reason: str = "") -> None:
        self._reason = reason
        self.fire(trigger, now=now, epoch=now)

    # conditions (transitions passes the EventData)

    def threshold_reached(self, event_data: EventData) -> bool:
        return self.failures + 1 >= self.failure_threshold

    def cool_down_elapsed(self, event_data: EventData) -> bool:
        return self.retry_at is not None and event_data.kwargs["now"] >= self.retry_at

    # handlers (named by the edges in machine/declarations/breaker.toml)

    def count_failure(self, event_data: EventData) -> None:
        self.failures += 1

    def trip(self, event_data: EventData) -> None:
        self.failures += 1
        self.retry_at = event_data.kwargs["now"] + self.cool_down

    def begin_probe(self, event_data: EventData) -> None:
        """Nothing to count: the probe's permit carries the new epoch."""

    def allow_probe(self, event_data: EventData) -> None:
        self.retry_at = event_data.kwargs["now"]

    def clear_failures(self, event_data: EventData) -> None:
        self.failures = 0
        self.retry_at = None

    def record_transition(self, event_data: EventData) -> None:
        super().record_transition(event_data)
        transition = event_data.transition
        assert transition is not None and transition.dest is not None
        if transition.source == transition.dest:
            return
        self.epoch += 1
        self.changes.append(
            CircuitChange(
                previous=_STATES[transition.source],
                state=_STATES[transition.dest],
                reason=self._reason,
                failures=self.failures,
                retry_at=self.retry_at,
                at=event_data.kwargs["now"],
            )
        )


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


class CircuitBreaker:
    """A circuit breaker over one route, shared by the runs given it (see the module doc).

    `failure_threshold`: consecutive transient failures that open it. `cool_down`: seconds
    an open breaker waits before one call probes the route. `clock`: where the runtime reads
    `now` (seconds; `time.monotonic` by default, a fake one in tests). `on_event` receives an
    `ObservabilityEvent` per state change (`meta["circuit"]` names the breaker); `context`
    is attached to those events. `name` appears in events and errors.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down: float = 30.0,
        name: str = "primary",
        clock: Callable[[], float] | None = None,
        on_event: EventHandler | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        if (
            isinstance(failure_threshold, bool)
            or not isinstance(failure_threshold, int)
            or failure_threshold < 1
        ):
            raise _invalid(
                f"CircuitBreaker(failure_threshold=...) must be an int >= 1, "
                f"got {failure_threshold!r}"
            )
        if isinstance(cool_down, bool) or not isinstance(cool_down, (int, float)) or cool_down < 0:
            raise _invalid(
                f"CircuitBreaker(cool_down=...) must be seconds >= 0, got {cool_down!r}"
            )
        if not isinstance(name, str) or not name:
            raise _invalid(f"CircuitBreaker(name=...) must be a non-empty string, got {name!r}")
        for label, value in (("clock", clock), ("on_event", on_event)):
            if value is not None and not callable(value):
                raise _invalid(f"CircuitBreaker({label}=...) must be callable, got {value!r}")
        if context is not None and not isinstance(context, dict):
            raise _invalid(f"CircuitBreaker(context=...) must be a dict, got {context!r}")
        self.name = name
        self.clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._circuit = _Circuit(failure_threshold=failure_threshold, cool_down=float(cool_down))
        self._lock = threading.RLock()  # a subscriber may look at the breaker again
        self._bus = EventBus(on_event, context)

    # -- what it knows -----------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        return _STATES[self._circuit.phase]

    @property
    def failures(self) -> int:
        """Consecutive transient failures counted so far."""
        return self._circuit.failures

    @property
    def retry_at(self) -> float | None:
        """When an open breaker lets a probe through, on its clock (None unless open)."""
        return self._circuit.retry_at

    @property
    def failure_threshold(self) -> int:
        return self._circuit.failure_threshold

    @property
    def cool_down(self) -> float:
        return self._circuit.cool_down

    @property
    def history(self) -> list[StateTransition]:
        """Every state change, oldest first; timestamps are on the breaker's clock."""
        return [t for t in self._circuit.history if t.from_state is not t.to_state]

    def subscribe(self, listener: Callable[[CircuitState], object]) -> Callable[[], None]:
        """Call `listener(state)` after every transition (the ones that only count a failure
        included); returns the unsubscribe function."""
        # MachineModel types listeners for the runtime's states; the breaker passes its own.
        return self._circuit.subscribe(cast(Any, listener))

    def diagram(self, *, full: bool = False) -> str:
        """The path this breaker took through its machine, as mermaid (`full=True`: the
        whole machine with the path marked)."""
        return self._circuit.diagram(full=full)

    # -- facts (time is passed in) -------------------------------------------------------

    def acquire(self, now: float) -> Permit | None:
        """Leave to call the route now, or None when the call must skip it."""
        with self._lock:
            circuit = self._circuit
            if circuit.phase == "open":
                circuit.report("probe", now, "probe")
                if circuit.phase != "half_open":
                    return None
                permit = Permit(probe=True, epoch=circuit.epoch)
            elif circuit.phase == "closed":
                return Permit(probe=False, epoch=circuit.epoch)
            else:
                return None  # a probe is out already
        self._publish()
        return permit

    def record_success(self, permit: Permit, now: float) -> None:
        """The permitted call worked."""
        self._settle(permit, "success", now, "recovered")

    def record_failure(self, permit: Permit, now: float) -> None:
        """The permitted call ended in a transient failure."""
        self._settle(permit, "failure", now, "probe_failed" if permit.probe else "failures")

    def release(self, permit: Permit, now: float) -> None:
        """The permitted call ended with no verdict on the route: a probe frees its place."""
        if permit.probe:
            self._settle(permit, "abandon", now, "probe_abandoned")

    def reset(self, now: float | None = None) -> None:
        """Close the breaker by hand and forget the failures."""
        with self._lock:
            stamp = self.clock() if now is None else now
            self._circuit.report("reset", stamp, "reset")
        self._publish()

    def _settle(self, permit: Permit, trigger: str, now: float, reason: str) -> None:
        with self._lock:
            circuit = self._circuit
            # Only the outcome of a call given in the current state counts: a call that began
            # before the breaker opened says nothing about the route as it is now.
            if permit.epoch != circuit.epoch:
                return
            if circuit.phase != ("half_open" if permit.probe else "closed"):
                return
            circuit.report(trigger, now, reason)
        self._publish()

    def _publish(self) -> None:
        """Send the state changes made since the last call, outside the lock."""
        with self._lock:
            changes, self._circuit.changes = self._circuit.changes, []
        if not self._bus.active:
            return
        for change in changes:
            self._bus.emit(
                _EVENT_TYPE[change.state],
                circuit=self.name,
                state=change.state.value,
                previous=change.previous.value,
                reason=change.reason,
                failures=change.failures,
                retry_at=change.retry_at,
            )

    def rejection(self, now: float) -> Error:
        """The error a call gets when the breaker keeps it from the route."""
        circuit = self._circuit
        if circuit.phase == "half_open":
            detail = "a probe is testing it now"
        else:
            wait = max(0.0, (circuit.retry_at or now) - now)
            detail = f"one call will probe it in {wait:.3g}s"
        return Error(
            f"Circuit breaker {self.name!r} is {circuit.phase} after {circuit.failures} "
            f"consecutive transient failures, so the call skipped its route ({detail}); "
            "give the run a fallback to be served meanwhile",
            code=ErrorCode.CIRCUIT_OPEN,
        )

    # -- use by runs ---------------------------------------------------------------------

    def protect(
        self, factory: Callable[[], Any], on_event: EventHandler | None
    ) -> tuple[Callable[[], Any], EventHandler]:
        """For one run: its primary factory behind this breaker, and the event handler that
        reports the primary's outcomes to it (calling `on_event` too)."""
        guard = _Guard(self, factory)

        def handler(event: ObservabilityEvent) -> None:
            try:
                guard.observe(event)
            finally:
                if on_event is not None:
                    on_event(event)

        return guard, handler

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(name={self.name!r}, state={self._circuit.phase}, "
            f"failures={self._circuit.failures})"
        )


# Outcomes of the primary that say the route itself is failing.
_TRANSIENT_CATEGORIES = frozenset({"network", "transient"})


class _Guard:
    """One run's primary stream factory behind a breaker.

    Every attempt at the primary asks the breaker first (a retry too), so a run that began
    while the route worked moves to its fallback once the breaker opens. The attempt's
    outcome comes back through the run's lifecycle events: a non-final ERROR (transient or
    not), or the end of the session (completed by the primary, or cut short).
    """

    def __init__(self, breaker: CircuitBreaker, factory: Callable[[], Any]) -> None:
        self._breaker = breaker
        self._factory = factory
        self._permit: Permit | None = None

    def __call__(self) -> Any:
        return self.l0_open(continuation=None, build_continuation_prompt=None)

    def l0_open(
        self,
        *,
        continuation: str | None,
        build_continuation_prompt: Callable[[str], str] | None,
    ) -> Any:
        breaker = self._breaker
        now = breaker.clock()
        permit = breaker.acquire(now)
        if permit is None:
            raise breaker.rejection(now)
        self._permit = permit
        opener = getattr(self._factory, "l0_open", None)
        if opener is not None:
            return opener(
                continuation=continuation, build_continuation_prompt=build_continuation_prompt
            )
        return self._factory()

    def observe(self, event: ObservabilityEvent) -> None:
        permit = self._permit
        if permit is None:
            return
        kind = event.type
        breaker = self._breaker
        if kind is Obs.ERROR and not event.meta.get("final"):
            self._permit = None
            if event.meta.get("category") in _TRANSIENT_CATEGORIES:
                breaker.record_failure(permit, breaker.clock())
            else:
                breaker.release(permit, breaker.clock())
        elif kind is Obs.SESSION_END:
            # The run ended with the primary's attempt still open: completed, or cut short.
            self._permit = None
            if event.meta.get("completed"):
                breaker.record_success(permit, breaker.clock())
            else:
                breaker.release(permit, breaker.clock())


__all__ = ["CircuitBreaker", "CircuitChange", "CircuitState", "Permit"]
