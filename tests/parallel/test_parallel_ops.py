"""parallel, sequential, batched and the Parallel namespace, on asyncio and trio."""

from __future__ import annotations

import random
import sys
from collections.abc import Awaitable, Callable

import anyio
import pytest

import l0.concurrency as lp
from l0.concurrency import Parallel, ParallelOptions
from l0.errors import Error, ErrorCode, TimeoutError

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Gauge:
    """Counts tasks that are active right now and remembers the most at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.started: list[int] = []
        self.finished: list[int] = []

    def task(
        self, index: int, delay: float, value: object = None
    ) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.started.append(index)
            try:
                await anyio.sleep(delay)
            finally:
                self.active -= 1
            self.finished.append(index)
            return index if value is None else value

        return run


async def test_reference_example_processes_documents_in_order_with_three_at_a_time() -> None:
    """The reference's example: 10 documents, max 3 concurrent, results in task order."""
    documents = [f"doc {i}" for i in range(10)]
    gauge = Gauge()

    async def process_document(doc: str) -> str:
        gauge.active += 1
        gauge.peak = max(gauge.peak, gauge.active)
        await anyio.sleep(len(doc) % 3 + int(doc[-1]) % 4)  # finish out of order
        gauge.active -= 1
        return doc.upper()

    results = await lp.parallel(
        tasks=[lambda d=doc: process_document(d) for doc in documents],
        concurrency=3,
    )
    assert results == [doc.upper() for doc in documents]
    assert gauge.peak == 3


@pytest.mark.parametrize("concurrency", [1, 2, 3, 7])
@pytest.mark.parametrize("seed", range(4))
async def test_concurrency_limit_is_never_exceeded(concurrency: int, seed: int) -> None:
    """However long the tasks take, no more than `concurrency` are ever active."""
    rng = random.Random(seed)
    gauge = Gauge()
    count = rng.randint(1, 25)
    tasks = [gauge.task(i, rng.choice([0, 0.5, 1, 3])) for i in range(count)]
    results = await lp.parallel(tasks, concurrency=concurrency)
    assert results == list(range(count))
    assert gauge.peak == min(concurrency, count)
    assert gauge.started == list(range(count))  # tasks start in task order


async def test_default_concurrency_is_five() -> None:
    """Without a `concurrency`, five tasks run at once."""
    gauge = Gauge()
    await lp.parallel([gauge.task(i, 1) for i in range(12)])
    assert gauge.peak == 5


async def test_a_failing_task_does_not_cancel_the_others() -> None:
    """The failure is raised only after the other tasks finished their work."""
    gauge = Gauge()

    async def boom() -> object:
        raise ValueError("task 1 broke")

    tasks = [gauge.task(0, 2), boom, gauge.task(2, 5)]
    with pytest.raises(ValueError, match="task 1 broke"):
        await lp.parallel(tasks, concurrency=3)
    assert sorted(gauge.finished) == [0, 2]


async def test_fail_fast_cancels_running_tasks_and_starts_no_more() -> None:
    """With fail_fast the first failure cancels the running tasks and stops the queue."""
    gauge = Gauge()
    cleaned: list[int] = []

    async def slow() -> object:
        try:
            await anyio.sleep(10)
        finally:
            cleaned.append(0)
        return "never"

    async def boom() -> object:
        await anyio.sleep(1)
        raise KeyError("bad")

    tasks = [slow, boom, gauge.task(2, 1), gauge.task(3, 1)]
    with pytest.raises(KeyError):
        await lp.parallel(tasks, concurrency=2, fail_fast=True)
    assert cleaned == [0]  # the running task unwound before parallel() returned
    assert gauge.started == []  # queued tasks never started


async def test_parallel_result_reports_every_outcome_and_timing() -> None:
    """Parallel.run never raises for a task: values, errors, counts and durations in ms."""

    async def fail_after(seconds: float) -> int:
        await anyio.sleep(seconds)
        raise RuntimeError(f"failed after {seconds}")

    gauge = Gauge()
    tasks = [gauge.task(0, 1), lambda: fail_after(2), gauge.task(2, 3)]
    result = await Parallel.run(tasks, ParallelOptions(concurrency=3))
    assert result.results == [0, None, 2]
    assert result.errors[0] is None and result.errors[2] is None
    assert isinstance(result.errors[1], RuntimeError)
    assert (result.success_count, result.failure_count) == (2, 1)
    assert not result.all_succeeded
    telemetry = result.telemetry
    assert telemetry.durations == [1000.0, 2000.0, 3000.0]
    assert (telemetry.min_duration, telemetry.max_duration) == (1000.0, 3000.0)
    assert telemetry.avg_duration == 2000.0
    assert telemetry.total_duration == result.duration == 3000.0
    assert (telemetry.task_count, telemetry.cancelled_count, telemetry.max_active) == (3, 0, 3)
    with pytest.raises(RuntimeError):
        result.unwrap()


async def test_several_failures_raise_the_first_in_task_order() -> None:
    """The first failure by index is raised; the later ones are named in its notes."""

    async def fail(message: str, delay: float) -> None:
        await anyio.sleep(delay)
        raise ValueError(message)

    with pytest.raises(ValueError, match="first") as caught:
        await lp.parallel([lambda: fail("first", 2), lambda: fail("second", 1)])
    if sys.version_info >= (3, 11):
        assert "task 1: ValueError: second" in "\n".join(caught.value.__notes__)


async def test_timeout_fails_only_the_slow_task() -> None:
    """A task that overruns `timeout` seconds fails with l0.TimeoutError; others succeed."""
    gauge = Gauge()
    result = await Parallel.run([gauge.task(0, 1), gauge.task(1, 60)], ParallelOptions(timeout=5))
    assert result.results == [0, None]
    error = result.errors[1]
    assert isinstance(error, TimeoutError) and error.code is ErrorCode.TOTAL_TIMEOUT
    assert result.telemetry.durations[1] == 5000.0


async def test_on_progress_reports_each_settled_task() -> None:
    """on_progress(settled, total) is called once per task, success or failure."""
    seen: list[tuple[int, int]] = []

    async def boom() -> None:
        raise ValueError

    gauge = Gauge()
    await Parallel.run(
        [gauge.task(0, 1), boom, gauge.task(2, 2)],
        ParallelOptions(on_progress=lambda done, total: seen.append((done, total))),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


async def test_a_failing_progress_callback_ends_the_run_with_its_error() -> None:
    """A bug in on_progress surfaces as its own exception, not an ExceptionGroup."""

    def broken(done: int, total: int) -> None:
        raise LookupError("callback bug")

    gauge = Gauge()
    with pytest.raises(LookupError, match="callback bug"):
        await Parallel.run(
            [gauge.task(i, 1) for i in range(4)], ParallelOptions(on_progress=broken)
        )


async def test_outside_cancellation_unwinds_every_task() -> None:
    """Cancelling the caller cancels the tasks; none is left running."""
    cleaned: list[int] = []

    def sleeper(index: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await anyio.sleep(100)
            finally:
                cleaned.append(index)

        return run

    with anyio.move_on_after(1):
        await lp.parallel([sleeper(i) for i in range(3)], concurrency=3)
    assert sorted(cleaned) == [0, 1, 2]


async def test_sequential_runs_one_task_at_a_time_in_order() -> None:
    """sequential() starts each task after the previous one finished."""
    gauge = Gauge()
    results = await lp.sequential([gauge.task(i, 3 - i) for i in range(3)])
    assert results == [0, 1, 2]
    assert gauge.finished == [0, 1, 2] and gauge.peak == 1


async def test_sequential_keeps_going_after_a_failure_unless_fail_fast() -> None:
    """A failure does not stop later tasks; with fail_fast it does."""

    async def boom() -> object:
        raise ValueError("stop")

    gauge = Gauge()
    result = await Parallel.sequential([boom, gauge.task(1, 1)])
    assert result.results == [None, 1]
    gauge = Gauge()
    with pytest.raises(ValueError):
        await lp.sequential([boom, gauge.task(1, 1)], fail_fast=True)
    assert gauge.started == []


async def test_reference_example_batched_embeddings_in_order() -> None:
    """The reference's example: 1000 texts in batches of 50 give 1000 results in order."""
    texts = [f"text {i}" for i in range(1000)]
    gauge = Gauge()

    async def embed(text: str) -> list[float]:
        gauge.active += 1
        gauge.peak = max(gauge.peak, gauge.active)
        await anyio.sleep(int(text.split()[1]) % 7)
        gauge.active -= 1
        return [float(len(text)), float(text.split()[1])]

    embeddings = await lp.batched(items=texts, handler=embed, batch_size=50)
    assert len(embeddings) == 1000
    assert [e[1] for e in embeddings] == [float(i) for i in range(1000)]
    assert gauge.peak == 50


async def test_batches_run_one_after_another() -> None:
    """No item of a batch starts before every item of the previous batch finished."""
    events: list[tuple[str, int]] = []

    async def handle(item: int) -> int:
        events.append(("start", item))
        await anyio.sleep(item % 3)
        events.append(("end", item))
        return item * 2

    assert await lp.batched(list(range(7)), handle) == [i * 2 for i in range(7)]
    events.clear()
    assert await lp.batched(list(range(7)), handle, batch_size=3) == [i * 2 for i in range(7)]
    for position, (kind, item) in enumerate(events):
        if kind == "start":
            batch_start = item - item % 3
            earlier = {i for k, i in events[:position] if k == "end"}
            assert set(range(batch_start)) <= earlier


async def test_batched_fail_fast_skips_later_batches() -> None:
    """With fail_fast a failing batch stops the run; later batches never start."""
    started: list[int] = []

    async def handle(item: int) -> int:
        started.append(item)
        if item == 1:
            raise ValueError("bad item")
        return item

    result = await Parallel.batched([0, 1, 2, 3], handle, 2, fail_fast=True)
    assert sorted(started) == [0, 1]
    assert result.telemetry.cancelled_count == 2
    with pytest.raises(ValueError, match="bad item"):
        result.unwrap()


async def test_coroutines_instead_of_factories_are_rejected_clearly() -> None:
    """Passing started coroutines is a misuse: a clear l0.Error, no unawaited warning."""

    async def work() -> int:
        return 1

    with pytest.raises(Error, match="coroutine") as caught:
        await lp.parallel([work(), work()])  # type: ignore[list-item]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


async def test_a_task_returning_a_plain_value_fails_with_a_clear_error() -> None:
    """A factory that returns a non-awaitable fails that task with INVALID_ARGUMENT."""
    result = await Parallel.run([lambda: 42])  # type: ignore[list-item, return-value]
    error = result.errors[0]
    assert isinstance(error, Error) and error.code is ErrorCode.INVALID_ARGUMENT
    assert "not an awaitable" in str(error)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
async def test_invalid_concurrency_is_rejected(bad: object) -> None:
    """concurrency and batch_size must be ints >= 1."""
    with pytest.raises(Error, match="concurrency") as caught:
        await lp.parallel([], concurrency=bad)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(Error):
        await lp.batched([1], lambda x: anyio.sleep(0), batch_size=bad)  # type: ignore[arg-type]


async def test_no_tasks_give_no_results() -> None:
    """An empty task list is a valid, empty run."""
    assert await lp.parallel([]) == []
    assert await lp.sequential([]) == []
    assert await lp.batched([], lambda x: anyio.sleep(0)) == []
