"""Deadlines for provider reads on asyncio at (almost) no cost per token.

A cancel scope per read costs microseconds, more than a token's whole budget. On asyncio
(Python 3.11+) one loop timer does the job instead: before each read the driver writes the
read's deadline and marks itself as reading; the timer, armed once and re-armed only when it
fires early, cancels the task if a read is still pending past its deadline. The cancellation
lands on the pending read (the only thing the task awaits while `reading` is set) and is
turned back into a timeout with `Task.uncancel()`, the same bookkeeping `asyncio.timeout()`
does, so other cancellations (an outer scope, a task group) still go through untouched.

Elsewhere (trio, Python 3.10) the driver uses a cancel scope per read.
"""

from __future__ import annotations

import asyncio
import math
import sys
from typing import Any


class Watchdog:
    """One per run; see the module docstring. The driver sets `deadline`, `task` and
    `reading` around each read and calls `arm()` when the timer would fire too late."""

    __slots__ = (
        "_handle",
        "_loop",
        "aborting",
        "armed_for",
        "deadline",
        "fired",
        "reading",
        "task",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.deadline = math.inf
        self.armed_for = math.inf  # when the pending timer fires (inf: no timer)
        self.reading = False
        self.fired = False  # this watchdog cancelled the task for a deadline
        self.aborting = False  # ... or for an abort

    def arm(self) -> None:
        """(Re)schedule the timer for `deadline`."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.armed_for = self.deadline
        if self.deadline != math.inf:
            self._handle = self._loop.call_at(self.deadline, self._check)

    def _check(self) -> None:
        self._handle = None
        self.armed_for = math.inf
        if not self.reading or self.task is None:
            return  # the next read re-arms
        if self._loop.time() < self.deadline:
            self.arm()  # tokens moved the deadline on since the timer was set
            return
        self.fired = True
        self.task.cancel()

    def abort(self) -> None:
        """Cut a pending read short for abort()."""
        if self.reading and self.task is not None and not self.aborting:
            self.aborting = True
            self.task.cancel()

    def settle(self) -> str | None:
        """After a read was cancelled (or returned despite a cancel request): which of ours it
        was ("deadline" / "abort"), or None when the cancellation is someone else's."""
        if not (self.fired or self.aborting):
            return None
        reason = "abort" if self.aborting else "deadline"
        self.fired = self.aborting = False
        assert self.task is not None
        if self.task.uncancel() > 0:
            return None  # the task is also being cancelled from outside: let that through
        return reason

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.armed_for = math.inf
        self.reading = False


def make_watchdog() -> Watchdog | None:
    """A watchdog when running on asyncio with Task.uncancel (3.11+), else None."""
    if sys.version_info < (3, 11):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return Watchdog(loop)


__all__ = ["Watchdog", "make_watchdog"]
