"""What an operation pool is configured with and what it reports. Durations are milliseconds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from l0.errors import Error, ErrorCode
from l0.pipeline.run_options import checked_run_options
from l0.progress import ProgressBar, ProgressCallback, check_progress
from l0.runtime.options import NO_OPTIONS, RunOptions

OperationStatus = Literal["waiting", "queued", "running", "succeeded", "failed", "cancelled"]
"""waiting: submit() is held back by a full queue; queued: accepted, not started yet;
running: its l0 run is under way; then one of succeeded, failed, cancelled."""

SETTLED: frozenset[OperationStatus] = frozenset({"succeeded", "failed", "cancelled"})


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


@dataclass(frozen=True, kw_only=True)
class PoolOptions:
    """How an `OperationPool` runs its operations.

    - `concurrency`: at most this many l0 runs at once (an int >= 1).
    - `queue_size`: at most this many operations wait to start; `submit()` waits for room
      when the queue is full (backpressure). None: the queue is unbounded.
    - `run_options`: `l0.run` options for every operation (retry, timeout, guardrails,
      fallbacks, ...); `submit(factory, **run_options)` overrides them key by key.
    - `on_progress(settled, submitted)`: called as each operation settles. What it raises
      stops the pool (queued and running work is cancelled) and is raised when the pool
      exits.
    - `progress`: True (or an `l0.progress.ProgressBar`) draws a bar of settled over
      submitted operations while the pool runs.
    """

    concurrency: int = 5
    queue_size: int | None = None
    run_options: RunOptions = NO_OPTIONS  # or a dict of l0.run keyword arguments
    on_progress: ProgressCallback | None = None
    progress: bool | ProgressBar = False

    def __post_init__(self) -> None:
        value = self.concurrency
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _invalid(f"PoolOptions.concurrency must be an int >= 1, got {value!r}")
        size = self.queue_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise _invalid(f"PoolOptions.queue_size must be an int >= 0 or None, got {size!r}")
        check_progress(self.on_progress, self.progress, where="PoolOptions")
        checked = checked_run_options(self.run_options, where="PoolOptions.run_options")
        object.__setattr__(self, "run_options", checked)

    @property
    def buffer_size(self) -> float:
        return math.inf if self.queue_size is None else self.queue_size


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of a pool's counts (`pool.stats` takes a fresh one each time).

    `completed` counts operations that succeeded; `average_duration` is the mean run time
    of the operations that ran to an end (succeeded or failed), 0.0 before any did.
    """

    concurrency: int
    submitted: int
    waiting: int
    queued: int
    running: int
    completed: int
    failed: int
    cancelled: int
    max_running: int
    total_duration: float
    average_duration: float

    @property
    def settled(self) -> int:
        return self.completed + self.failed + self.cancelled

    @property
    def pending(self) -> int:
        """Operations not settled yet (waiting, queued or running)."""
        return self.waiting + self.queued + self.running


__all__ = ["SETTLED", "OperationStatus", "PoolOptions", "PoolStats", "ProgressCallback"]
