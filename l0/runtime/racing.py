"""Hedged first tokens (`run(hedge_after=...)`), as the core sees them.

No first token by `hedge_after`: the driver reports `HedgeDue`; the core moves to `hedging`
and names the next route (an `Open`), which races the current one for a first token. A
racer that fails meanwhile is dropped (`HedgeDropped`: counted, reported, no transition);
the one kept is reported as `HedgeSettled`, and when it is the hedge, its route is the run's
from then on. The race itself is the driver's (l0/runtime/hedge.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from l0.errors import FailureType
from l0.runtime import policy
from l0.runtime.facts import Open
from l0.runtime.overlap import OverlapMatching

if TYPE_CHECKING:
    from transitions import EventData


class HedgeRacing(OverlapMatching):
    """Hedging's facts and edges (module docstring)."""

    def _hedge_due(self, now: float) -> Open | None:
        """No first token after `hedge_after`: the next route to race the current one, or
        None when there is no next route (or the run is past waiting)."""
        if (
            self.phase != "waiting_for_token"
            or self.abort_requested
            or self.factory_index >= self.plan.fallback_count
        ):
            return None
        self._fire("hedge", now)
        return self._hedge

    def _hedge_dropped(self, index: int, error: BaseException, now: float) -> None:
        """Racer `index` failed before any first token; the other one races on."""
        self.errors.append(error)
        failure = policy.classify(error)
        if failure.failure_type is FailureType.TIMEOUT:
            self._timeouts += 1
        self._emit_hedge_dropped(index, error, failure, now)

    def open_hedge(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self.attempt += 1
        self._hedges += 1
        index = self.factory_index + 1
        resume = self._resume_text or None
        if self.bus.active:
            self._emit_stream_init(now, index, resume, hedge=True)
        self._hedge = Open(index, self.attempt, resume)

    def settle_hedge(self, event_data: EventData) -> None:
        index = event_data.kwargs["index"]
        self._hedge = None
        if index == self.factory_index:
            return
        previous = self.factory_index
        self._move_to_route(index)
        self._hedge_wins += 1
        self._emit_fallback_start(
            event_data.kwargs["now"], previous=previous, reason="hedge", error=""
        )


__all__ = ["HedgeRacing"]
