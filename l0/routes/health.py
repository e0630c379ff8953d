"""Route health shared by runs: which routes to call now, which to leave for a while.

A *route* is one way to get an answer: a model at an endpoint (`route_key(model, base_url)`).
Runs ask the store at attempt boundaries only, never per token:

    admission = await store.admit(route, now=time.time())
    if admission.allowed: ...call the route...
    await store.report(route, admission, "success" | "failure" | "abandoned", now=...)

`InMemoryRouteHealth`, the default store (one per process, `default_route_health()`), keeps
one circuit breaker per route, the machine of `l0/machine/declarations/breaker.toml` (the
`_Circuit` model of `l0.breaker`): `failure_threshold` consecutive route failures open it,
calls skip the route for `cool_down` seconds, then one call probes it (half-open) and its
outcome closes or re-opens it. A probe that never reports (its worker died) frees its place after
`probe_timeout`. A failure carrying Retry-After also holds the route until then (at most
`max_retry_after` seconds), even while the breaker is closed.

Times are wall-clock seconds (`time.time()`) so that processes can share a store. Every
method is bounded in time and never raises for I/O trouble: a shared store (Redis, issue 16)
falls back to local state and logs. The runtime bounds each call too (`STORE_CALL_LIMIT`) and
treats a call that overran as "allowed".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from l0.breaker import _Circuit
from l0.errors import Error, ErrorCode

Outcome = Literal["success", "failure", "abandoned"]

# Seconds the runtime waits for a store call before it proceeds as if the route were allowed.
STORE_CALL_LIMIT = 0.05
# Transitions kept per route (the circuit's history would otherwise grow for ever).
_HISTORY_KEPT = 32


@dataclass(frozen=True, slots=True)
class Admission:
    """A store's answer to "may this run call the route now?"."""

    allowed: bool  # call the route now
    probe: bool  # this call is the one half-open probe
    epoch: int  # the route's state-change count when admitted
    retry_at: float | None  # wall-clock time (time.time()) when a skipped route may be tried
    reason: str  # "closed", "open", "half_open_busy", "retry_after", "probe"


# What the runtime assumes when a store is slow or broken: call the route, report nothing
# that could count (epoch -1 matches no circuit).
UNKNOWN = Admission(allowed=True, probe=False, epoch=-1, retry_at=None, reason="closed")


@runtime_checkable
class RouteHealthStore(Protocol):
    """Route health shared by runs; every method is bounded in time and never raises for I/O
    trouble (a shared store falls back to local state and logs)."""

    async def admit(self, route: str, *, now: float) -> Admission: ...

    async def report(
        self,
        route: str,
        admission: Admission,
        outcome: Outcome,
        *,
        now: float,
        retry_after: float | None = None,
    ) -> None: ...

    async def reset(self, route: str) -> None: ...

    async def aclose(self) -> None: ...


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def check_outcome(outcome: object) -> None:
    """What every store's `report` accepts as an outcome (INVALID_ARGUMENT otherwise)."""
    if outcome not in ("success", "failure", "abandoned"):
        raise _invalid(
            f"report(outcome=...) must be success, failure or abandoned, got {outcome!r}"
        )


def _seconds(name: str, value: object, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _invalid(f"RouteHealthPolicy({name}=...) must be seconds >= 0, got {value!r}")
    if positive and value == 0:
        raise _invalid(f"RouteHealthPolicy({name}=...) must be seconds > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class RouteHealthPolicy:
    """The thresholds every store implementation applies.

    `failure_threshold`: consecutive route failures (network errors, timeouts, 429, 5xx) that
    open a route's breaker; 2 matches the retry rule that leaves a route failing the same way
    twice in a row. `cool_down`: seconds an open route is skipped before one call probes it.
    `probe_timeout`: seconds after which a probe that never reported lets another call probe.
    `max_retry_after`: the longest Retry-After hold honoured, in seconds.
    """

    failure_threshold: int = 2
    cool_down: float = 10.0
    probe_timeout: float = 60.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        threshold = self.failure_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise _invalid(
                f"RouteHealthPolicy(failure_threshold=...) must be an int >= 1, got {threshold!r}"
            )
        _seconds("cool_down", self.cool_down)
        _seconds("probe_timeout", self.probe_timeout, positive=True)
        _seconds("max_retry_after", self.max_retry_after)


class _Route:
    """One route's circuit plus its Retry-After hold and when its probe began."""

    __slots__ = ("circuit", "hold_until", "probe_since")

    def __init__(self, policy: RouteHealthPolicy) -> None:
        self.circuit = _Circuit(
            failure_threshold=policy.failure_threshold, cool_down=policy.cool_down
        )
        self.hold_until: float | None = None
        self.probe_since: float | None = None

    def fire(self, trigger: str, now: float, reason: str) -> None:
        circuit = self.circuit
        circuit.report(trigger, now, reason)
        circuit.changes.clear()
        if len(circuit._history) > _HISTORY_KEPT:
            del circuit._history[:-_HISTORY_KEPT]


class InMemoryRouteHealth:
    """The default `RouteHealthStore`: one breaker per route, in this process (see the
    module docstring). Safe to share between threads and event loops."""

    def __init__(
        self,
        policy: RouteHealthPolicy = RouteHealthPolicy(),  # frozen: one shared default
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(policy, RouteHealthPolicy):
            raise _invalid(
                f"InMemoryRouteHealth(policy=...) must be an l0.routes.RouteHealthPolicy, got "
                f"{type(policy).__name__}"
            )
        if not callable(clock):
            raise _invalid(f"InMemoryRouteHealth(clock=...) must be callable, got {clock!r}")
        self.policy = policy
        self.clock = clock
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()

    # -- the store interface -----------------------------------------------------------------

    async def admit(self, route: str, *, now: float) -> Admission:
        return self.admit_now(route, now)

    async def report(
        self,
        route: str,
        admission: Admission,
        outcome: Outcome,
        *,
        now: float,
        retry_after: float | None = None,
    ) -> None:
        self.report_now(route, admission, outcome, now=now, retry_after=retry_after)

    async def reset(self, route: str) -> None:
        with self._lock:
            self._routes.pop(route, None)

    async def aclose(self) -> None:
        """Nothing to release: the state lives in this object."""

    # -- the same, synchronous (the work never waits) -----------------------------------------

    def admit_now(self, route: str, now: float) -> Admission:
        with self._lock:
            entry = self._routes.get(route)
            if entry is None:
                return Admission(True, False, 0, None, "closed")
            circuit = entry.circuit
            if circuit.phase == "half_open":
                since = entry.probe_since
                if since is None or now - since < self.policy.probe_timeout:
                    retry_at = None if since is None else since + self.policy.probe_timeout
                    return Admission(False, False, circuit.epoch, retry_at, "half_open_busy")
                entry.fire("abandon", now, "probe_timed_out")  # its worker never reported
            if circuit.phase == "open":
                entry.fire("probe", now, "probe")
                if circuit.phase != "half_open":
                    return Admission(False, False, circuit.epoch, circuit.retry_at, "open")
                entry.probe_since = now
                entry.hold_until = None
                return Admission(True, True, circuit.epoch, None, "probe")
            hold = entry.hold_until
            if hold is not None and now < hold:
                return Admission(False, False, circuit.epoch, hold, "retry_after")
            return Admission(True, False, circuit.epoch, None, "closed")

    def report_now(
        self,
        route: str,
        admission: Admission,
        outcome: Outcome,
        *,
        now: float,
        retry_after: float | None = None,
    ) -> None:
        check_outcome(outcome)
        with self._lock:
            entry = self._routes.get(route)
            if entry is None:
                if outcome != "failure":
                    return  # a healthy route nobody has seen fail needs no entry
                entry = self._routes[route] = _Route(self.policy)
            if outcome == "failure" and retry_after is not None and retry_after > 0:
                hold = now + min(float(retry_after), self.policy.max_retry_after)
                entry.hold_until = max(hold, entry.hold_until or hold)
            circuit = entry.circuit
            # Only a call admitted in the route's current state says something about it now.
            if admission.epoch != circuit.epoch:
                return
            if circuit.phase != ("half_open" if admission.probe else "closed"):
                return
            if outcome == "success":
                entry.hold_until = None
                entry.probe_since = None
                if circuit.phase != "closed" or circuit.failures:
                    entry.fire("success", now, "recovered")
            elif outcome == "failure":
                entry.probe_since = None
                entry.fire("failure", now, "probe_failed" if admission.probe else "failures")
            elif admission.probe:
                entry.probe_since = None
                entry.fire("abandon", now, "probe_abandoned")

    # -- what it knows (tests, debugging) ----------------------------------------------------

    def state(self, route: str) -> str:
        """ "closed", "open" or "half_open"."""
        with self._lock:
            entry = self._routes.get(route)
            return "closed" if entry is None else entry.circuit.phase

    def failures(self, route: str) -> int:
        with self._lock:
            entry = self._routes.get(route)
            return 0 if entry is None else entry.circuit.failures

    def __repr__(self) -> str:
        return f"InMemoryRouteHealth({self.policy!r}, routes={len(self._routes)})"


_default: InMemoryRouteHealth | None = None
_default_lock = threading.Lock()


def default_route_health() -> InMemoryRouteHealth:
    """The process's route health, shared by every run that does not bring its own store."""
    global _default
    with _default_lock:
        if _default is None:
            _default = InMemoryRouteHealth()
        return _default


__all__ = [
    "STORE_CALL_LIMIT",
    "UNKNOWN",
    "Admission",
    "InMemoryRouteHealth",
    "Outcome",
    "RouteHealthPolicy",
    "RouteHealthStore",
    "check_outcome",
    "default_route_health",
]
