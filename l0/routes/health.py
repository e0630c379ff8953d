"""The route-health store interface: a circuit breaker per route, behind a small protocol.

A store answers `admit(route, now=...)` before a call to a route and learns the call's
outcome from `report(...)`. `now` is wall-clock time (`time.time()`), so stores shared by
several processes agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Admission:
    """A store's answer to one call that asks for a route."""

    allowed: bool
    probe: bool
    epoch: int
    retry_at: float | None  # wall-clock time (time.time()) when a skipped route may be tried
    reason: str  # "closed", "open", "half_open_busy", "retry_after", "probe"


class RouteHealthStore(Protocol):
    async def admit(self, route: str, *, now: float) -> Admission: ...

    async def report(
        self,
        route: str,
        admission: Admission,
        outcome: Literal["success", "failure", "abandoned"],
        *,
        now: float,
        retry_after: float | None = None,
    ) -> None: ...

    async def reset(self, route: str) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RouteHealthPolicy:
    failure_threshold: int
    cool_down: float
