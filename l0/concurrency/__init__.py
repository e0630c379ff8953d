"""Parallel operations: `parallel`, `race`, `sequential`, `batched`, and the `Parallel`
namespace that returns the detailed results.

Every function takes task factories (`lambda: fetch(url)`), never started coroutines, so
that l0 decides when each task starts. The plain functions return plain values, like the
reference shows; the `Parallel` methods return `ParallelResult` / `RaceResult` with every
task's outcome and timing and never raise for a task's failure.

When a task fails, the plain functions let the other tasks finish (unless `fail_fast=True`,
which cancels them at once) and then raise the failed task's own exception, the first one
in task order; with several failures the others are named in its notes (Python 3.11+).

Long runs can report progress: `on_progress(settled, total)` is called as each task settles,
and `progress=True` (or an `l0.progress.ProgressBar`) draws a bar (see `l0.progress`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TypeVar

from l0.concurrency import engine
from l0.concurrency.types import (
    AggregatedTelemetry,
    ParallelOptions,
    ParallelResult,
    ProgressCallback,
    RaceResult,
    Task,
    check_concurrency,
)
from l0.errors import Error, ErrorCode
from l0.progress import ProgressBar, check_progress, reporting

T = TypeVar("T")
R = TypeVar("R")


class Parallel:
    """Run many tasks and get every outcome back (`ParallelResult`, `RaceResult`)."""

    @staticmethod
    async def run(
        tasks: Iterable[Task[T]], options: ParallelOptions | None = None
    ) -> ParallelResult[T]:
        """Run `tasks` with `options` (concurrency 5 by default); results in task order."""
        options = options or ParallelOptions()
        checked = engine.check_tasks(tasks)
        bar = check_progress(options.on_progress, options.progress, where="ParallelOptions")
        with reporting(options.on_progress, bar, description="tasks", total=len(checked)) as report:
            run = engine.BoundedRun(
                checked, fail_fast=options.fail_fast, timeout=options.timeout, on_progress=report
            )
            await run.run(range(len(checked)), options.concurrency)
        return run.result()

    @staticmethod
    async def race(tasks: Iterable[Task[T]]) -> RaceResult[T]:
        """Start every task; the first to finish wins and the others are cancelled.

        If the first task to finish failed, its exception is raised at once: the race does
        not wait for another task to succeed.
        """
        return await engine.race(tasks)

    @staticmethod
    async def sequential(
        tasks: Iterable[Task[T]],
        *,
        fail_fast: bool = False,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        progress: bool | ProgressBar = False,
    ) -> ParallelResult[T]:
        """Run `tasks` one after another, in order."""
        options = ParallelOptions(
            concurrency=1,
            fail_fast=fail_fast,
            timeout=timeout,
            on_progress=on_progress,
            progress=progress,
        )
        return await Parallel.run(tasks, options)

    @staticmethod
    async def batched(
        items: Iterable[T],
        handler: Callable[[T], Awaitable[R]],
        batch_size: int = 10,
        *,
        fail_fast: bool = False,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        progress: bool | ProgressBar = False,
    ) -> ParallelResult[R]:
        """Call `handler(item)` for every item, one batch of `batch_size` items at a time.

        The items of a batch run concurrently; the next batch starts when the whole batch
        has settled. With `fail_fast`, a failure cancels its batch and no later batch runs.
        `on_progress(settled, total)` and `progress` report every item, across batches.
        """
        check_concurrency(batch_size)
        if not callable(handler):
            raise Error(
                f"handler must be an async callable, got {type(handler).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        bar = check_progress(on_progress, progress, where="batched()")
        tasks: list[Task[R]] = [partial(handler, item) for item in items]
        with reporting(on_progress, bar, description="items", total=len(tasks)) as report:
            run = engine.BoundedRun(tasks, fail_fast=fail_fast, timeout=timeout, on_progress=report)
            for start in range(0, len(tasks), batch_size):
                await run.run(range(start, min(start + batch_size, len(tasks))), batch_size)
                if run.stopped:
                    break
        return run.result()


async def parallel(
    tasks: Iterable[Task[T]],
    concurrency: int = 5,
    *,
    fail_fast: bool = False,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    progress: bool | ProgressBar = False,
) -> list[T]:
    """Run tasks with at most `concurrency` at once; results in the same order as `tasks`.

    A failing task does not cancel the others unless `fail_fast=True`; once every task has
    settled the first failure (in task order) is raised. `timeout` is seconds per task.
    For every outcome instead of an exception use `Parallel.run`.
    """
    options = ParallelOptions(
        concurrency=concurrency,
        fail_fast=fail_fast,
        timeout=timeout,
        on_progress=on_progress,
        progress=progress,
    )
    return (await Parallel.run(tasks, options)).unwrap()


async def race(tasks: Iterable[Task[T]]) -> T:
    """The first task to finish wins: its value is returned and the others are cancelled.

    If that first task failed, its exception is raised without waiting for the others.
    `Parallel.race` also says which task won.
    """
    return (await engine.race(tasks)).value


async def sequential(
    tasks: Iterable[Task[T]],
    *,
    fail_fast: bool = False,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    progress: bool | ProgressBar = False,
) -> list[T]:
    """Run tasks one after another; failures are handled as in `parallel`."""
    result = await Parallel.sequential(
        tasks, fail_fast=fail_fast, timeout=timeout, on_progress=on_progress, progress=progress
    )
    return result.unwrap()


async def batched(
    items: Iterable[T],
    handler: Callable[[T], Awaitable[R]],
    batch_size: int = 10,
    *,
    fail_fast: bool = False,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    progress: bool | ProgressBar = False,
) -> list[R]:
    """`handler(item)` for every item, in batches of `batch_size`; results in item order."""
    result = await Parallel.batched(
        items,
        handler,
        batch_size,
        fail_fast=fail_fast,
        timeout=timeout,
        on_progress=on_progress,
        progress=progress,
    )
    return result.unwrap()


__all__ = [
    "AggregatedTelemetry",
    "Parallel",
    "ParallelOptions",
    "ParallelResult",
    "RaceResult",
    "batched",
    "parallel",
    "race",
    "sequential",
]
