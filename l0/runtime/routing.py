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
from l0.routes.health import STORE_CALL_LIMIT, UNKNOWN, Admission, Outcome
from l0.runtime import policy
from l0.runtime.core import RunCore

logger = logging.getLogger("l0")

# Phases after an attempt in which the route has delivered a whole answer.
_ANSWERED = frozenset({"finalizing", "complete"})


class RouteGate:
    """Admission and outcomes of one run's attempts (see the module docstring)."""

    __slots__ = (
        "_clock",
        "_errors",
        "_hedge",
        "_pending",
        "_routes",
        "_spare",
        "_store",
        "_waited",
    )

    def __init__(self, store: Any, routes: tuple[str | None, ...]) -> None:
        self._store = store
        self._routes = routes
        clock = getattr(store, "clock", None)
        self._clock: Callable[[], float] = clock if callable(clock) else time.time
        self._pending: tuple[str, Admission] | None = None
        self._errors = 0  # the run's error count when the pending attempt was admitted
        self._hedge: tuple[str, Admission] | None = None  # the route racing the pending one
        self._spare: list[tuple[str, Admission]] = []  # admitted, but no verdict to give
        # Routes whose Retry-After this run reported: the run's own backoff waits it out, so
        # the hold does not turn the run's retry of that route away.
        self._waited: set[str] = set()

    async def _ask(self, route: str, now: float) -> Admission:
        try:
            with anyio.move_on_after(STORE_CALL_LIMIT):
                return await self._store.admit(route, now=now)  # type: ignore[no-any-return]
        except Exception:
            logger.warning(
                "l0: route health store failed in admit(); calling %s", route, exc_info=True
            )
        return UNKNOWN

    def _route(self, index: int) -> str | None:
        return self._routes[index] if index < len(self._routes) else None

    async def admit(self, index: int, core: RunCore) -> Error | None:
        """None to call route `index` now, or the error that skips it."""
        route = self._route(index)
        if route is None:
            return None
        now = self._clock()
        admission = await self._ask(route, now)
        own_hold = admission.reason == "retry_after" and route in self._waited
        if admission.allowed or own_hold or index == len(self._routes) - 1:
            self._pending = (route, admission)
            self._errors = len(core.errors)
            return None
        return _skipped(route, admission, now)

    async def admit_hedge(self, index: int) -> bool:
        """Whether route `index` may race the pending attempt (a hedge is optional: a route
        the store would skip is not raced)."""
        route = self._route(index)
        if route is None:
            return True
        admission = await self._ask(route, self._clock())
        if not admission.allowed:
            return False
        self._hedge = (route, admission)
        return True

    def hedge_over(self, *, won: bool) -> None:
        """The race is over. When the hedge won, its route is the attempt's from now on and
        the overtaken route gets no verdict; when it lost or failed, the hedge gets none."""
        hedge, self._hedge = self._hedge, None
        if won:
            if self._pending is not None:
                self._spare.append(self._pending)
            self._pending = hedge
        elif hedge is not None:
            self._spare.append(hedge)

    async def settle(self, core: RunCore) -> None:
        """Report the attempt that just ended, judged by where it left the run."""
        spare, self._spare = self._spare, []
        for route, admission in spare:
            await self._report(route, admission, "abandoned", None)
        pending, self._pending = self._pending, None
        if pending is None:
            return
        route, admission = pending
        failure = core.last_failure
        retry_after: float | None = None
        failed_here = len(core.errors) > self._errors and failure is not None
        outcome: Outcome
        if core.phase in _ANSWERED and not failed_here:
            outcome = "success"
        elif failed_here and failure is not None and policy.route_failure(failure):
            outcome, retry_after = "failure", failure.retry_after
            if retry_after:
                self._waited.add(route)
        else:
            outcome = "abandoned"  # aborted, closed early, or a failure of our own rules
        await self._report(route, admission, outcome, retry_after)

    async def _report(
        self, route: str, admission: Admission, outcome: Outcome, retry_after: float | None
    ) -> None:
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
