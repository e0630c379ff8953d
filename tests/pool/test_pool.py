"""OperationPool: bounded concurrency, queue order, backpressure, per-operation results, live
stats, and cancellation that leaves no task and no stream open."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import l0
from l0.pool import OperationPool, PoolOptions, PoolStats, create_pool
from l0.testing.scripted import Script, ScriptedFactory
from tests.pipeline._fakes import Gauge

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

NO_RETRY = l0.Retry(attempts=0, max_retries=0)


async def test_each_operation_gets_its_own_text() -> None:
    """submit() returns a handle per operation; result() is that run's text."""
    factories = [ScriptedFactory(Script.tokens(f"answer {i}", size=3)) for i in range(4)]
    async with create_pool(2) as pool:
        operations = [await pool.submit(factory) for factory in factories]
        texts = [await operation.result() for operation in operations]
        assert await pool.run(ScriptedFactory(Script.tokens("direct"))) == "direct"
    assert texts == [f"answer {i}" for i in range(4)]
    assert [op.index for op in operations] == [0, 1, 2, 3]
    assert repr(operations[0]) == "Operation(index=0, status='succeeded')"
    assert all(op.status == "succeeded" and op.done for op in operations)
    assert all(factory.calls == 1 and factory.all_closed for factory in factories)


async def test_concurrency_is_never_exceeded() -> None:
    """Ten operations through three workers: never more than three streams open at once."""
    gauge = Gauge()
    async with create_pool(3) as pool:
        for i in range(10):
            await pool.submit(gauge.stream(f"op {i} text"))
    assert gauge.peak == 3 and gauge.open == 0
    assert len(gauge.started) == 10
    assert pool.stats.max_running == 3 and pool.stats.completed == 10


async def test_operations_start_in_submission_order() -> None:
    """One worker takes the queue first in, first out."""
    gauge = Gauge()
    async with create_pool(1) as pool:
        for i in range(5):
            await pool.submit(gauge.stream(f"op{i}"))
    assert gauge.started == [f"op{i}" for i in range(5)]


async def test_stats_are_live() -> None:
    """queued/running/completed move as the work does; durations are milliseconds."""
    gauge = Gauge()
    snapshots: list[PoolStats] = []
    async with create_pool(2) as pool:
        for i in range(5):
            await pool.submit(gauge.stream(f"w{i} x"))  # two chunks, 1 s before each
        snapshots.append(pool.stats)
        await anyio.sleep(0.5)
        snapshots.append(pool.stats)
        await anyio.sleep(3)
        snapshots.append(pool.stats)
    snapshots.append(pool.stats)
    counts = [(s.queued, s.running, s.completed) for s in snapshots]
    assert counts == [(5, 0, 0), (3, 2, 0), (1, 2, 2), (0, 0, 5)]
    final = snapshots[-1]
    assert (final.submitted, final.failed, final.cancelled, final.pending) == (5, 0, 0, 0)
    assert final.average_duration == pytest.approx(2000.0, abs=1.0)
    assert final.total_duration == pytest.approx(10000.0, abs=5.0)
    assert final.settled == 5 and final.concurrency == 2


async def test_a_failed_operation_fails_alone() -> None:
    """A run that fails raises from its own result(); the others succeed."""
    broken = ScriptedFactory(Script(chunks=["x"], fail_at=1))
    fine = ScriptedFactory(Script.tokens("fine"))
    async with create_pool(2, run_options={"retry": NO_RETRY}) as pool:
        bad = await pool.submit(broken)
        good = await pool.submit(fine)
    with pytest.raises(l0.NetworkError) as caught:
        await bad.result()
    assert bad.status == "failed" and bad.error is caught.value
    assert await good.result() == "fine"
    assert (pool.stats.completed, pool.stats.failed) == (1, 1)
    assert broken.all_closed


async def test_submit_options_override_the_pool_defaults() -> None:
    """The pool's run_options apply to every operation; submit(**options) overrides them."""
    flaky = ScriptedFactory(Script(chunks=["x"], fail_at=1), Script.tokens("second try"))
    async with create_pool(run_options={"retry": NO_RETRY}) as pool:
        operation = await pool.submit(flaky, retry=l0.Retry(attempts=1, base_delay=0.1))
    assert await operation.result() == "second try" and flaky.calls == 2
    assert operation.run_options.retry is not None and operation.run_options.retry.attempts == 1


async def test_a_full_queue_makes_submit_wait() -> None:
    """queue_size=1 with one worker: the third submit waits until the first run ends."""
    gauge = Gauge()
    accepted: list[tuple[int, float]] = []
    async with create_pool(1, queue_size=1) as pool:

        async def submit(i: int) -> None:
            await pool.submit(gauge.stream(f"op{i}"))
            accepted.append((i, anyio.current_time()))

        start = anyio.current_time()
        async with anyio.create_task_group() as group:
            for i in range(3):
                group.start_soon(submit, i)
                await anyio.sleep(0.01)  # each submitter reaches the queue before the next
            await anyio.sleep(0.5)
            assert (pool.stats.running, pool.stats.queued, pool.stats.waiting) == (1, 1, 1)
    assert [i for i, _ in accepted] == [0, 1, 2]
    assert accepted[2][1] - start == pytest.approx(1.0, abs=1e-3)  # room after op0's 1 s
    assert gauge.started == ["op0", "op1", "op2"]


async def test_close_withdraws_queued_work_and_closes_running_streams() -> None:
    """close(): queued operations never start, running streams are closed, every handle
    settles as cancelled and result() says so."""
    running = [ScriptedFactory(Script.tokens("long answer", delay=1.0)) for _ in range(2)]
    queued = [ScriptedFactory(Script.tokens("never")) for _ in range(3)]
    async with create_pool(2) as pool:
        operations = [await pool.submit(f) for f in [*running, *queued]]
        await anyio.sleep(2.5)
        await pool.close()
        assert pool.closed
        assert [op.status for op in operations] == ["cancelled"] * 5
        assert pool.stats.cancelled == 5 and pool.stats.pending == 0
    assert [f.calls for f in running] == [1, 1] and all(f.all_closed for f in running)
    assert [f.calls for f in queued] == [0, 0, 0]
    with pytest.raises(l0.Error) as caught:
        await operations[0].result()
    assert caught.value.code is l0.ErrorCode.STREAM_ABORTED


async def test_leaving_normally_waits_for_the_submitted_work() -> None:
    """The block's end closes the queue to new work and runs what was submitted."""
    gauge = Gauge()
    async with create_pool(2) as pool:
        operations = [await pool.submit(gauge.stream(f"op{i}")) for i in range(4)]
    assert all(op.status == "succeeded" for op in operations) and gauge.open == 0
    with pytest.raises(l0.Error, match="closed"):
        await pool.submit(gauge.stream("late"))


async def test_leaving_with_an_exception_cancels_everything() -> None:
    """An error in the block: queued work is dropped, running streams closed, error raised."""
    gauge = Gauge()
    with pytest.raises(RuntimeError, match="caller failed"):
        async with create_pool(1) as pool:
            operations = [await pool.submit(gauge.stream(f"op{i} x y")) for i in range(3)]
            await anyio.sleep(1.5)
            raise RuntimeError("caller failed")
    assert gauge.started == ["op0 x y"] and gauge.open == 0
    assert [op.status for op in operations] == ["cancelled"] * 3


async def test_outside_cancellation_leaves_nothing_open() -> None:
    """A deadline around the block cancels the workers; every handle settles, no stream
    stays open."""
    gauge = Gauge()
    with anyio.move_on_after(1.5):
        async with create_pool(2) as pool:
            operations = [await pool.submit(gauge.stream(f"op{i} x y")) for i in range(4)]
    assert gauge.open == 0 and gauge.started == ["op0 x y", "op1 x y"]
    assert all(op.done for op in operations) and pool.stats.pending == 0


async def test_drain_waits_without_closing() -> None:
    """drain(): everything submitted so far has settled; the pool still takes work."""
    gauge = Gauge()
    async with create_pool(2) as pool:
        first = [await pool.submit(gauge.stream(f"a{i}")) for i in range(3)]
        await pool.drain()
        assert all(op.done for op in first) and not pool.closed
        second = await pool.submit(gauge.stream("b"))
        await pool.drain()
        assert second.status == "succeeded"
        await pool.drain()  # nothing pending: returns at once


async def test_cancel_one_operation() -> None:
    """op.cancel(): a queued operation never starts; a running one stops and its stream closes."""
    running = ScriptedFactory(Script.tokens("slow answer", delay=1.0))
    queued = ScriptedFactory(Script.tokens("never"))
    other = ScriptedFactory(Script.tokens("other"))
    async with create_pool(1) as pool:
        first = await pool.submit(running)
        second = await pool.submit(queued)
        third = await pool.submit(other)
        second.cancel()
        await anyio.sleep(1.5)
        first.cancel()
        await third.wait()
    assert (first.status, second.status, third.status) == ("cancelled", "cancelled", "succeeded")
    assert running.all_closed and queued.calls == 0 and third.text == "other"
    first.cancel()  # cancelling a settled operation changes nothing
    assert first.status == "cancelled"


async def test_on_progress_reports_each_settled_operation() -> None:
    """on_progress(settled, submitted) after each operation ends."""
    progress: list[tuple[int, int]] = []
    async with create_pool(
        1, on_progress=lambda done, total: progress.append((done, total))
    ) as pool:
        for i in range(3):
            await pool.submit(ScriptedFactory(Script.tokens(f"op{i}")))
    assert progress == [(1, 3), (2, 3), (3, 3)]


async def test_a_failing_on_progress_stops_the_pool_and_is_raised() -> None:
    """A bug in on_progress cancels the rest of the work and surfaces when the pool exits."""
    gauge = Gauge()

    def broken(done: int, total: int) -> None:
        raise ValueError("progress bar broke")

    with pytest.raises(ValueError, match="progress bar broke"):
        async with create_pool(1, on_progress=broken) as pool:
            operations = [await pool.submit(gauge.stream(f"op{i}")) for i in range(3)]
    assert [op.status for op in operations] == ["succeeded", "cancelled", "cancelled"]
    assert gauge.started == ["op0"] and gauge.open == 0


async def test_a_submitter_cancelled_while_waiting_withdraws_its_operation() -> None:
    """Cancelled while the queue is full: the operation is cancelled and never runs."""
    gauge = Gauge()
    async with create_pool(1, queue_size=0) as pool:
        await pool.submit(gauge.stream("op0"))  # taken by the worker at once
        with anyio.move_on_after(0.5):
            await pool.submit(gauge.stream("op1"))  # no room until op0 ends at 1 s
        assert pool.stats.cancelled == 1
    assert gauge.started == ["op0"]


async def test_a_submitter_waiting_when_the_pool_closes_gets_a_clear_error() -> None:
    """close() while submit() waits for room: that submit raises STREAM_ABORTED."""
    gauge = Gauge()
    errors: list[l0.Error] = []
    async with create_pool(1, queue_size=0) as pool:
        await pool.submit(gauge.stream("op0"))

        async def late() -> None:
            try:
                await pool.submit(gauge.stream("op1"))
            except l0.Error as exc:
                errors.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(late)
            await anyio.sleep(0.5)
            await pool.close()
    assert [e.code for e in errors] == [l0.ErrorCode.STREAM_ABORTED]
    assert gauge.started == ["op0"] and pool.stats.cancelled == 2


async def test_misuse_is_refused_clearly() -> None:
    """Submitting outside `async with`, a non-factory, unknown options, entering twice."""
    pool = create_pool()
    with pytest.raises(l0.Error, match="async with create_pool"):
        await pool.submit(ScriptedFactory(Script.tokens("x")))
    async with pool:
        with pytest.raises(l0.Error, match="needs a stream factory"):
            await pool.submit("not a factory")  # type: ignore[arg-type]
        with pytest.raises(l0.Error, match=r"unknown l0\.run options"):
            await pool.submit(ScriptedFactory(Script.tokens("x")), retries=3)
        assert pool.stats.submitted == 0
    with pytest.raises(l0.Error, match="entered once"):
        async with pool:
            pass


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"concurrency": 0}, "concurrency must be an int >= 1"),
        ({"concurrency": True}, "concurrency must be an int >= 1"),
        ({"queue_size": -1}, "queue_size must be an int >= 0"),
        ({"on_progress": 1}, "on_progress must be callable"),
        ({"run_options": {"timeout": 5}}, "timeout must be an l0.Timeout"),
    ],
)
def test_bad_pool_options_are_refused(fields: dict[str, Any], fragment: str) -> None:
    """PoolOptions checks every field."""
    with pytest.raises(l0.Error, match=fragment):
        PoolOptions(**fields)


def test_an_operation_pool_takes_pool_options() -> None:
    """OperationPool(PoolOptions(...)); anything else is refused."""
    pool = OperationPool(PoolOptions(concurrency=7, queue_size=3))
    assert pool.options.concurrency == 7 and pool.options.buffer_size == 3
    assert repr(pool) == "OperationPool(concurrency=7, queued=0, running=0, settled=0)"
    with pytest.raises(l0.Error, match=r"takes an l0\.PoolOptions"):
        OperationPool({"concurrency": 2})  # type: ignore[arg-type]
