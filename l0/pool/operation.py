"""One operation of a pool: a stream factory, its run options, and what became of it.

An `Operation` is a handle: `await op.result()` waits for the text (or raises what the run
raised), `op.cancel()` withdraws it from the queue or stops its run. Its status only ever
moves forward, and only its pool moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from l0.errors import Error, ErrorCode
from l0.pool.types import SETTLED, OperationStatus

if TYPE_CHECKING:
    from l0.pipeline.run_options import RunOptions
    from l0.runtime.plan import StreamFactory


class Operation:
    """A submitted l0 run (see the module docstring)."""

    def __init__(
        self,
        cancel: Callable[[Operation], None],
        index: int,
        factory: StreamFactory,
        run_options: RunOptions,
    ) -> None:
        self.index = index  # submission order, from 0
        self.factory = factory
        self.run_options = run_options
        self.status: OperationStatus = "waiting"
        self.text: str | None = None
        self.error: Exception | None = None
        self.duration: float | None = None  # ms from start to end of its run
        # The pool's cancel (handed in rather than the pool, which imports this module).
        self._cancel_in_pool = cancel
        self._settled = anyio.Event()
        self._scope: anyio.CancelScope | None = None

    @property
    def done(self) -> bool:
        return self.status in SETTLED

    async def wait(self) -> Operation:
        """Wait until the operation has settled (succeeded, failed or cancelled)."""
        await self._settled.wait()
        return self

    async def result(self) -> str:
        """The run's text; raises the run's exception, or `l0.Error(STREAM_ABORTED)` when
        the operation was cancelled."""
        await self._settled.wait()
        if self.status == "succeeded":
            assert self.text is not None
            return self.text
        if self.status == "failed":
            assert self.error is not None
            raise self.error
        raise Error(
            f"Operation {self.index} was cancelled before it finished (cancelled, or its "
            "pool was closed)",
            code=ErrorCode.STREAM_ABORTED,
        )

    def cancel(self) -> None:
        """Withdraw the operation if it has not started; stop its run if it has."""
        self._cancel_in_pool(self)

    def __repr__(self) -> str:
        return f"Operation(index={self.index}, status={self.status!r})"


__all__ = ["Operation"]
