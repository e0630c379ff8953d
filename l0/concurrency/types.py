"""What parallel runs are configured with and what they report. Durations are milliseconds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from l0.errors import Error, ErrorCode
from l0.progress import ProgressBar, ProgressCallback, check_progress

T = TypeVar("T")

Task = Callable[[], Awaitable[T]]
"""A task factory: calling it starts the work (`lambda: fetch(url)`)."""

@dataclass(frozen=True, slots=True)
class ParallelOptions:
    """How `Parallel.run` runs its tasks.

    - `concurrency`: at most this many tasks are active at once (an int >= 1).
    - `fail_fast`: the first failure cancels every other task; otherwise the others go on.
    - `timeout`: seconds each task may take; a task that overruns fails with
      `l0.TimeoutError` (code TOTAL_TIMEOUT). None: no limit.
    - `on_progress(settled, total)`: called after each task succeeds or fails. What it
      raises ends the run and is raised.
    - `progress`: True (or an `l0.progress.ProgressBar`) draws a progress bar on stderr.
    """

    concurrency: int = 5
    fail_fast: bool = False
    timeout: float | None = None
    on_progress: ProgressCallback | None = None
    progress: bool | ProgressBar = False

    def __post_init__(self) -> None:
        check_concurrency(self.concurrency)
        check_progress(self.on_progress, self.progress, where="ParallelOptions")
        timeout = self.timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise Error(
                f"ParallelOptions.timeout must be a positive number of seconds or None, "
                f"got {timeout!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


@dataclass(frozen=True, slots=True)
class AggregatedTelemetry:
    """Timing and outcome counts over all tasks of one run.

    `durations[i]` is task i's run time, None for a task cancelled before it settled.
    `max_active` is the most tasks that were active at the same moment.
    """

    task_count: int
    success_count: int
    failure_count: int
    cancelled_count: int
    total_duration: float  # wall-clock time of the whole run
    avg_duration: float  # mean over settled tasks (0.0 when none settled)
    min_duration: float
    max_duration: float
    durations: list[float | None]
    max_active: int


@dataclass(frozen=True, slots=True)
class ParallelResult(Generic[T]):
    """Every task's outcome, in task order.

    `results[i]` is task i's value, None when it failed or was cancelled; `errors[i]` is its
    exception, None when it succeeded or was cancelled.
    """

    results: list[T | None]
    errors: list[Exception | None]
    success_count: int
    failure_count: int
    duration: float  # wall-clock time of the whole run
    telemetry: AggregatedTelemetry

    @property
    def all_succeeded(self) -> bool:
        return self.success_count == len(self.results)

    def unwrap(self) -> list[T]:
        """The values in task order, or the first failed task's own exception.

        When several tasks failed the others are listed in the raised exception's notes.
        A task cancelled by `fail_fast` is never reported on its own: the failure that
        caused the cancellation is raised.
        """
        failures = [(i, e) for i, e in enumerate(self.errors) if e is not None]
        if failures:
            raise_first(failures)
        return self.results  # type: ignore[return-value]  # every entry succeeded


@dataclass(frozen=True, slots=True)
class RaceResult(Generic[T]):
    """The winner of a race: the first task to finish (successfully)."""

    value: T
    winner_index: int
    duration: float  # from the start of the race to the winner's result


def raise_first(failures: list[tuple[int, Exception]]) -> None:
    """Raise the first failure; name the other failures in its notes (Python 3.11+)."""
    index, first = failures[0]
    if len(failures) > 1 and hasattr(first, "add_note"):
        others = "; ".join(f"task {i}: {type(e).__name__}: {e}" for i, e in failures[1:])
        note = f"l0: task {index} failed; {len(failures) - 1} more failed: {others}"
        if note not in getattr(first, "__notes__", ()):
            first.add_note(note)
    raise first


def check_concurrency(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Error(
            f"concurrency must be an int >= 1, got {value!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )


__all__ = [
    "AggregatedTelemetry",
    "ParallelOptions",
    "ParallelResult",
    "ProgressCallback",
    "RaceResult",
    "Task",
    "check_concurrency",
    "raise_first",
]
