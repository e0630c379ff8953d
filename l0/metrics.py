"""Counters over many runs. Every run adds its totals once, when it ends (never per token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

_COUNTERS = (
    "requests",
    "tokens",
    "retries",
    "network_retry_count",
    "errors",
    "violations",
    "drift_detections",
    "fallbacks",
    "completions",
    "timeouts",
)
# Counters beyond the reference's (not in to_dict(), whose keys the reference fixes): hedged
# first tokens (run(hedge_after=...)) and how many of them the hedge won.
_EXTRA = ("hedges", "hedge_wins")


class MetricsSink(Protocol):
    """Where a run adds its totals when it ends (`Metrics`; a replay keeps its own). The
    counts are positional, in `MetricsSnapshot`'s field order (every run calls this, and a
    frozen snapshot costs more to build than the run spends here otherwise)."""

    def add_counts(self, *counts: int) -> None: ...


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    requests: int = 0
    tokens: int = 0
    retries: int = 0
    network_retry_count: int = 0
    errors: int = 0
    violations: int = 0
    drift_detections: int = 0
    fallbacks: int = 0
    completions: int = 0
    timeouts: int = 0
    hedges: int = 0
    hedge_wins: int = 0


class Metrics:
    """Plain integer counters; `snapshot()` freezes them, `reset()` zeroes them."""

    __slots__ = _COUNTERS + _EXTRA
    _global: ClassVar[Metrics | None] = None

    requests: int
    tokens: int
    retries: int
    network_retry_count: int
    errors: int
    violations: int
    drift_detections: int
    fallbacks: int
    completions: int
    timeouts: int
    hedges: int
    hedge_wins: int

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        for name in _COUNTERS + _EXTRA:
            setattr(self, name, 0)

    def snapshot(self) -> MetricsSnapshot:
        return MetricsSnapshot(**self.to_dict(), hedges=self.hedges, hedge_wins=self.hedge_wins)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTERS}

    def add(self, snapshot: MetricsSnapshot) -> None:
        """Add a run's totals to these counters (spelled out: every run calls this)."""
        self.requests += snapshot.requests
        self.tokens += snapshot.tokens
        self.retries += snapshot.retries
        self.network_retry_count += snapshot.network_retry_count
        self.errors += snapshot.errors
        self.violations += snapshot.violations
        self.drift_detections += snapshot.drift_detections
        self.fallbacks += snapshot.fallbacks
        self.completions += snapshot.completions
        self.timeouts += snapshot.timeouts
        self.hedges += snapshot.hedges
        self.hedge_wins += snapshot.hedge_wins

    def add_counts(self, *counts: int) -> None:
        """`add`, the counts given in `MetricsSnapshot`'s field order (`MetricsSink`)."""
        (
            requests,
            tokens,
            retries,
            network_retry_count,
            errors,
            violations,
            drift_detections,
            fallbacks,
            completions,
            timeouts,
            hedges,
            hedge_wins,
        ) = counts
        self.requests += requests
        self.tokens += tokens
        self.retries += retries
        self.network_retry_count += network_retry_count
        self.errors += errors
        self.violations += violations
        self.drift_detections += drift_detections
        self.fallbacks += fallbacks
        self.completions += completions
        self.timeouts += timeouts
        self.hedges += hedges
        self.hedge_wins += hedge_wins

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.to_dict().items())
        return f"Metrics({inner})"

    @classmethod
    def create(cls) -> Metrics:
        return cls()

    @classmethod
    def get_global(cls) -> Metrics:
        if cls._global is None:
            cls._global = cls()
        return cls._global

    @classmethod
    def reset_global(cls) -> None:
        cls.get_global().reset()


def create_metrics() -> Metrics:
    return Metrics()


def get_global_metrics() -> Metrics:
    return Metrics.get_global()


def reset_global_metrics() -> None:
    Metrics.reset_global()


__all__ = [
    "Metrics",
    "MetricsSink",
    "MetricsSnapshot",
    "create_metrics",
    "get_global_metrics",
    "reset_global_metrics",
]
