"""`OperationPool`: a bounded worker pool for many l0 runs.

Used as `async with create_pool(concurrency=3) as pool:`. Entering starts `concurrency`
workers on an anyio task group; they take operations from one memory object stream, in
submission order, and run each through `l0.run` (the stream is closed however the run ends).
The stream's buffer is the queue: with a `queue_size`, `submit()` waits for room
(backpressure). Every operation gets a handle (`Operation`) with its own result.

Leaving the block normally closes the queue to new work and waits for what was submitted.
Leaving with an exception, `close()`, or a failing `on_progress` cancel instead: queued
operations are withdrawn without ever being started, running ones are cancelled (their
streams closed), and every handle settles. No worker outlives the block.

With `progress`, a bar shows settled over submitted operations from the first submission
until the block ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from l0.errors import Error, ErrorCode
from l0.pipeline.run_options import checked_run_options, read_run
from l0.pool.operation import Operation
from l0.pool.types import OperationStatus, PoolOptions, PoolStats
from l0.progress import ProgressBar, ProgressCallback, Reporter, check_progress
from l0.runtime.options import RunOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from l0.runtime.api import RunKeywords
    from l0.runtime.plan import StreamFactory


class OperationPool:
    """A bounded pool of l0 runs (see the module docstring)."""

    def __init__(self, options: PoolOptions | None = None) -> None:
        if options is not None and not isinstance(options, PoolOptions):
            raise Error(
                f"OperationPool takes an l0.PoolOptions, got {type(options).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self.options = options or PoolOptions()
        self._counts: dict[OperationStatus, int] = dict.fromkeys(
            ("waiting", "queued", "running", "succeeded", "failed", "cancelled"), 0
        )
        self._pending: dict[int, Operation] = {}  # unsettled operations, in submission order
        self._submitted = 0
        self._max_running = 0
        self._run_time = 0.0  # ms, over the runs that ended
        self._idle_waiters: list[anyio.Event] = []
        self._callback_error: Exception | None = None
        self._reporter = Reporter(
            self.options.on_progress,
            check_progress(self.options.on_progress, self.options.progress, where="PoolOptions"),
            description="operations",
        )
        self._group: TaskGroup | None = None
        self._send: MemoryObjectSendStream[Operation] | None = None
        self._entered = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> OperationPool:
        if self._entered:
            raise Error(
                "An OperationPool can be entered once; create a new pool",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self._entered = True
        send, receive = anyio.create_memory_object_stream[Operation](self.options.buffer_size)
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group, self._send = group, send
        with receive:
            for _ in range(self.options.concurrency):
                group.start_soon(self._worker, receive.clone())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._group is not None and self._send is not None
        self._closed = True
        self._send.close()  # workers finish the queue, then end
        if exc_type is None:
            outcome: tuple[Any, ...] = (None, None, None)
        else:
            self._shut()
            # The task group sees a cancellation (it must), but not the caller's own error,
            # which then propagates as it is rather than inside an exception group.
            cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
            outcome = (exc_type, exc, tb) if cancelled else (None, None, None)
        try:
            await self._group.__aexit__(*outcome)
        finally:
            self._withdraw_all()  # the group was cancelled from outside: nothing stays pending
            self._reporter.close()
        if self._callback_error is not None and exc_type is None:
            raise self._callback_error
        return None

    async def close(self) -> None:
        """Stop now: refuse new work, withdraw queued operations, cancel running ones, and
        wait until every operation has settled."""
        self._shut()
        await self.drain()

    async def drain(self) -> None:
        """Wait until every operation submitted so far has settled."""
        if self._pending:
            idle = anyio.Event()
            self._idle_waiters.append(idle)
            await idle.wait()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- submitting --------------------------------------------------------------------------

    async def submit(self, factory: StreamFactory, **run_options: Unpack[RunKeywords]) -> Operation:
        """Queue `factory` for an l0 run with the pool's run options, overridden by
        `run_options`; waits while the queue is full. Returns the operation's handle."""
        send = self._open_queue()
        if not callable(factory):
            raise Error(
                f"submit() needs a stream factory (a callable returning a stream), got "
                f"{type(factory).__name__}; pass `lambda: client.chat.completions.create(...)`",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        options = self.options.run_options.merge(checked_run_options(run_options, where="submit()"))
        operation = Operation(self._cancel, self._submitted, factory, options)
        self._submitted += 1
        self._counts["waiting"] += 1
        self._pending[operation.index] = operation
        self._reporter.show(self._submitted - len(self._pending), self._submitted)
        await self._enqueue(send, operation)
        return operation

    async def run(self, factory: StreamFactory, **run_options: Unpack[RunKeywords]) -> str:
        """Submit `factory` and wait for its text (raises what the run raised)."""
        operation = await self.submit(factory, **run_options)
        return await operation.result()

    def _open_queue(self) -> MemoryObjectSendStream[Operation]:
        if self._send is None:
            raise Error(
                "The pool is not running: use it as `async with create_pool(...) as pool:`",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        if self._closed:
            raise Error(
                "The pool is closed and takes no new operations",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return self._send

    async def _enqueue(self, send: MemoryObjectSendStream[Operation], operation: Operation) -> None:
        try:
            try:
                send.send_nowait(operation)
            except anyio.WouldBlock:  # the queue is full: wait for room (backpressure)
                await send.send(operation)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._settle(operation, "cancelled")
            raise Error(
                "The pool was closed while this operation waited for room in its queue",
                code=ErrorCode.STREAM_ABORTED,
            ) from None
        except BaseException:  # the submitter was cancelled while it waited
            if operation.status == "waiting":
                self._settle(operation, "cancelled")
            raise
        if operation.status == "waiting":  # a worker may have taken it already
            self._move(operation, "queued")

    # -- the workers -------------------------------------------------------------------------

    async def _worker(self, receive: MemoryObjectReceiveStream[Operation]) -> None:
        with receive:
            async for operation in receive:
                if not operation.done:
                    await self._execute(operation)

    async def _execute(self, operation: Operation) -> None:
        self._move(operation, "running")
        begun = anyio.current_time()
        try:
            with anyio.CancelScope() as scope:
                operation._scope = scope
                try:
                    text = await read_run(operation.factory, operation.run_options)
                except Exception as exc:
                    operation.error = exc
                    self._ended(operation, "failed", begun)
                else:
                    operation.text = text
                    self._ended(operation, "succeeded", begun)
        finally:
            operation._scope = None
            if not operation.done:  # cancelled: by its handle, by close(), or from outside
                self._settle(operation, "cancelled")

    def _ended(self, operation: Operation, status: OperationStatus, begun: float) -> None:
        operation.duration = (anyio.current_time() - begun) * 1000.0
        self._run_time += operation.duration
        self._settle(operation, status)

    # -- bookkeeping -------------------------------------------------------------------------

    def _move(self, operation: Operation, status: OperationStatus) -> None:
        self._counts[operation.status] -= 1
        self._counts[status] += 1
        operation.status = status
        if status == "running":
            self._max_running = max(self._max_running, self._counts["running"])

    def _settle(self, operation: Operation, status: OperationStatus) -> None:
        if operation.done:  # e.g. withdrawn by close() while its submitter was waiting
            return
        self._move(operation, status)
        del self._pending[operation.index]
        operation._settled.set()
        if not self._pending:
            waiters, self._idle_waiters = self._idle_waiters, []
            for idle in waiters:
                idle.set()
        self._report_progress()

    def _report_progress(self) -> None:
        if not self._reporter.active or self._callback_error is not None:
            return
        try:
            self._reporter(self._submitted - len(self._pending), self._submitted)
        except Exception as exc:  # a bug in the callback: stop the pool, raise it on exit
            self._callback_error = exc
            self._shut()

    def _cancel(self, operation: Operation) -> None:
        if operation.status in ("waiting", "queued"):
            self._settle(operation, "cancelled")
        elif operation.status == "running" and operation._scope is not None:
            operation._scope.cancel()

    def _shut(self) -> None:
        """Refuse new work, withdraw what waits, cancel what runs."""
        self._closed = True
        if self._send is not None:
            self._send.close()
        for operation in list(self._pending.values()):
            self._cancel(operation)

    def _withdraw_all(self) -> None:
        for operation in list(self._pending.values()):
            self._settle(operation, "cancelled")

    # -- what the pool knows -----------------------------------------------------------------

    @property
    def stats(self) -> PoolStats:
        counts = self._counts
        ran = counts["succeeded"] + counts["failed"]
        return PoolStats(
            concurrency=self.options.concurrency,
            submitted=self._submitted,
            waiting=counts["waiting"],
            queued=counts["queued"],
            running=counts["running"],
            completed=counts["succeeded"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            max_running=self._max_running,
            total_duration=self._run_time,
            average_duration=self._run_time / ran if ran else 0.0,
        )

    def __repr__(self) -> str:
        stats = self.stats
        return (
            f"OperationPool(concurrency={stats.concurrency}, queued={stats.queued}, "
            f"running={stats.running}, settled={stats.settled})"
        )


def create_pool(
    concurrency: int = 5,
    *,
    queue_size: int | None = None,
    run_options: RunOptions | Mapping[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    progress: bool | ProgressBar = False,
) -> OperationPool:
    """An `OperationPool` with these `PoolOptions`; use it as `async with create_pool(...)`."""
    options = PoolOptions(
        concurrency=concurrency,
        queue_size=queue_size,
        run_options=checked_run_options(run_options, where="create_pool(run_options=...)"),
        on_progress=on_progress,
        progress=progress,
    )
    return OperationPool(options)


__all__ = ["OperationPool", "create_pool"]
