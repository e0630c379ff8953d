"""The two ways l0 runs many tasks: bounded workers, and a race. Built on anyio task groups,
so it runs on asyncio and trio and never leaves a task behind.

Bounded runs: `concurrency` workers pull task indexes in order, so tasks start in order and
no more than `concurrency` of them are ever active. Each task's exception is caught and
recorded for that task (cancellation is never caught), so no task group ever has to report
an ExceptionGroup of user errors. With `fail_fast` the first failure cancels the group.
Batches are successive bounded runs over consecutive slices of the tasks.

Race: every task starts at once; the first one to finish decides. A success is returned, a
failure is raised, and either way the task group is cancelled, which unwinds the other tasks
(their `finally` blocks and `async with` exits run) before the race returns. A loser that
finished in the same instant has its value discarded, and closed when it has `aclose`.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

import anyio
from anyio.abc import TaskGroup

from l0.concurrency.types import (
    AggregatedTelemetry,
    ParallelResult,
    ProgressCallback,
    RaceResult,
    Task,
)
from l0.errors import Error, ErrorCode, TimeoutError

T = TypeVar("T")


def check_tasks(tasks: Iterable[Task[T]], *, what: str = "tasks") -> list[Task[T]]:
    """The tasks as a list, or a clear error for anything that is not a task factory."""
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Iterable):
        raise Error(
            f"{what} must be a list of callables that each return an awaitable, "
            f"got {type(tasks).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    tasks = list(tasks)
    for index, task in enumerate(tasks):
        if callable(task):
            continue
        if inspect.iscoroutine(task):
            for other in tasks:  # nobody will await them now: close them to spare a warning
                if inspect.iscoroutine(other):
                    other.close()
            raise Error(
                f"{what}[{index}] is a coroutine, not a task factory: pass a callable such "
                f"as `lambda: fetch()` so that l0 decides when the work starts",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        raise Error(
            f"{what}[{index}] must be a callable returning an awaitable, got {type(task).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return tasks


async def call_task(task: Task[T], index: int, timeout: float | None) -> T:
    """Start task `index` and await it, within `timeout` seconds when one is given."""
    with anyio.move_on_after(timeout):
        awaitable = task()
        if not inspect.isawaitable(awaitable):
            raise Error(
                f"task {index} returned {type(awaitable).__name__}, not an awaitable: "
                "a task must be an async function or a callable returning a coroutine",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return await awaitable
    raise TimeoutError(
        f"task {index} did not finish within {timeout} s",
        timeout_type="total",
        timeout_seconds=float(timeout or 0.0),
    )


def _ms(seconds: float) -> float:
    return seconds * 1000.0


class BoundedRun(Generic[T]):
    """One run of tasks under a concurrency limit; `result()` reports it."""

    def __init__(
        self,
        tasks: list[Task[T]],
        *,
        fail_fast: bool = False,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.tasks = tasks
        self.fail_fast = fail_fast
        self.timeout = timeout
        self.on_progress = on_progress
        count = len(tasks)
        self.results: list[T | None] = [None] * count
        self.errors: list[Exception | None] = [None] * count
        self.durations: list[float | None] = [None] * count
        self.settled = 0
        self.active = 0
        self.max_active = 0
        self.failed = False
        self.callback_error: Exception | None = None
        self.started = anyio.current_time()

    @property
    def stopped(self) -> bool:
        """True once a fail-fast failure or a failing callback ended the run."""
        return (self.fail_fast and self.failed) or self.callback_error is not None

    async def run(self, indexes: range, concurrency: int) -> None:
        """Run the tasks at `indexes` with at most `concurrency` active at once."""
        pending = iter(indexes)
        async with anyio.create_task_group() as group:
            for _ in range(min(concurrency, len(indexes))):
                group.start_soon(self._worker, pending, group)
        if self.callback_error is not None:
            raise self.callback_error

    async def _worker(self, pending: Iterator[int], group: TaskGroup) -> None:
        for index in pending:
            await self._run_one(index)
            if self.stopped:
                group.cancel_scope.cancel()
                return

    async def _run_one(self, index: int) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        begun = anyio.current_time()
        try:
            self.results[index] = await call_task(self.tasks[index], index, self.timeout)
        except Exception as exc:
            self.errors[index] = exc
            self.failed = True
        finally:
            self.active -= 1
        self.durations[index] = _ms(anyio.current_time() - begun)
        self.settled += 1
        if self.on_progress is not None:
            try:
                self.on_progress(self.settled, len(self.tasks))
            except Exception as exc:  # a bug in the callback: end the run and report it
                self.callback_error = exc

    def result(self) -> ParallelResult[T]:
        settled = [d for d in self.durations if d is not None]
        failures = sum(error is not None for error in self.errors)
        successes = len(settled) - failures
        total = _ms(anyio.current_time() - self.started)
        telemetry = AggregatedTelemetry(
            task_count=len(self.tasks),
            success_count=successes,
            failure_count=failures,
            cancelled_count=len(self.tasks) - len(settled),
            total_duration=total,
            avg_duration=sum(settled) / len(settled) if settled else 0.0,
            min_duration=min(settled, default=0.0),
            max_duration=max(settled, default=0.0),
            durations=list(self.durations),
            max_active=self.max_active,
        )
        return ParallelResult(
            results=list(self.results),
            errors=list(self.errors),
            success_count=successes,
            failure_count=failures,
            duration=total,
            telemetry=telemetry,
        )


class _Race(Generic[T]):
    def __init__(self) -> None:
        self.winner: int | None = None
        self.value: T | None = None
        self.error: Exception | None = None

    async def contend(self, index: int, task: Task[T], group: TaskGroup) -> None:
        try:
            value = await call_task(task, index, None)
        except Exception as exc:
            if self.winner is None:
                self.winner, self.error = index, exc
                group.cancel_scope.cancel()
            return
        if self.winner is None:
            self.winner, self.value = index, value
            group.cancel_scope.cancel()
        else:
            await _discard(value)


async def _discard(value: object) -> None:
    """Close a late finisher's value (an open stream, say) that nobody will ever see."""
    close = getattr(value, "aclose", None)
    if not callable(close):
        return
    # A loser's cleanup failing must not change who won.
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        await close()


async def race(tasks: Iterable[Task[T]]) -> RaceResult[T]:
    """Start every task; the first to finish wins (see the module docstring)."""
    contenders = check_tasks(tasks)
    if not contenders:
        raise Error("race() needs at least one task", code=ErrorCode.INVALID_ARGUMENT)
    started = anyio.current_time()
    state: _Race[T] = _Race()
    async with anyio.create_task_group() as group:
        for index, task in enumerate(contenders):
            group.start_soon(state.contend, index, task, group)
    assert state.winner is not None  # the group ends only once some task has settled
    if state.error is not None:
        raise state.error
    return RaceResult(
        value=state.value,  # type: ignore[arg-type]  # set together with `winner`
        winner_index=state.winner,
        duration=_ms(anyio.current_time() - started),
    )


__all__ = ["BoundedRun", "call_task", "check_tasks", "race"]
