"""One run's link to route health (`l0.routes`): ask before an attempt, report after it.

The driver calls `admit` when it is about to open a route and `settle` when that attempt is
over, and nothing in between: route health is kept at attempt boundaries, never per token.
Every store call is bounded (`STORE_CALL_LIMIT`); a store that overruns or raises is logged
and the route is called as if it were healthy, so a slow store never holds a stream up.

A route the store refuses (open breaker, a half-open probe already out, a Retry-After hold)
is skipped with `l0.Error(code=CIRCUIT_OPEN)`, which the core answers by moving to the next
route at once. The last route is always called: a run with somewhere to go never fails
without trying it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio

from l0.errors import Error, ErrorCode
from l0.routes.health import STORE_CALL_LIMIT, UNKNOWN, Admission
from l0.runtime import policy
from l0.runtime.core import RunCore

logger = logging.getLogger("l0")

# Phases after an attempt in which the route has delivered a whole answer.
_ANSWERED = frozenset({"finalizing", "complete"})


class RouteGate:
    """Admission and outcomes of one run's attempts (see the module docstring)."""

    __slots__ = ("_clock", "_errors", "_overtaken", "_pending", "_routes", "_store")

    def __init__(self, store: Any, routes: tuple[str | None, ...]) -> None:
        self._store = store
        self._routes = routes
        clock = getattr(store, "clock", None)
        self._clock: Callable[[], float] = clock if callable(clock) else time.time
        self._pending: tuple[str, Admission, int] | None = None
        self._errors = 0  # the run's error count when the pending attempt was admitted
        self._overtaken = False  # a hedge won the race against the pending attempt

    async def admit(self, index: int, core: RunCore) -> Error | None:
        """None to call route `index` now, or the error that skips it."""
        route = self._routes[index] if index < len(self._routes) else None
        if route is None:
            return None
        now = self._clock()
        admission = UNKNOWN
        try:
            with anyio.move_on_after(STORE_CALL_LIMIT):
                admission = await self._store.admit(route, now=now)
        except Exception:
            logger.warning(
                "l0: route health store failed in admit(); calling %s", route, exc_info=True
            )
        last = index == len(self._routes) - 1
        if admission.allowed or last:
            self._pending = (route, admission, index)
            self._errors = len(core.errors)
            self._overtaken = False
            return None
        return _skipped(route, admission, now)

    def overtaken(self) -> None:
        """The attempt's route lost a hedge race: its outcome says nothing about it."""
        self._overtaken = True

    async def settle(self, core: RunCore) -> None:
        """Report the attempt that just ended, judged by where it left the run."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        route, admission, _index = pending
        failure = core.last_failure
        retry_after: float | None = None
        failed_here = len(core.errors) > self._errors and failure is not None
        if self._overtaken:
            outcome = "abandoned"  # a hedging route won the race: no verdict on this one
        elif core.phase in _ANSWERED and not failed_here:
            outcome = "success"
        elif failed_here and failure is not None and policy.route_failure(failure):
            outcome, retry_after = "failure", failure.retry_after
        else:
            outcome = "abandoned"  # aborted, closed early, or a failure of our own rules
        try:
            with anyio.move_on_after(STORE_CALL_LIMIT, shield=True):
                await self._store.report(
                    route, admission, outcome, now=self._clock(), retry_after=retry_after
                )
        except Exception:
            logger.warning("l0: route health store failed in report() for %s", route, exc_info=True)


def _skipped(route: str, admission: Admission, now: float) -> Error:
    why = {
        "open": "its breaker is open after repeated failures",
        "half_open_busy": "another call is probing it",
        "retry_after": "it asked for a Retry-After that has not passed",
    }.get(admission.reason, admission.reason)
    when = ""
    if admission.retry_at is not None:
        when = f"; it may be tried again in {max(0.0, admission.retry_at - now):.3g}s"
    return Error(
        f"Route {route!r} was skipped for the next one: {why}{when}",
        code=ErrorCode.CIRCUIT_OPEN,
    )


def make_gate(plan: Any) -> RouteGate | None:
    store = plan.route_health
    return None if store is None else RouteGate(store, plan.routes)


__all__ = ["RouteGate", "make_gate"]
