"""Deadlines for provider reads on asyncio at (almost) no cost per token.

A cancel scope per read costs microseconds, more than a token's whole budget. On asyncio
(Python 3.11+) one loop timer does the job instead. While the driver is `reading`, the timer,
armed for the current `deadline` and re-armed when it fires early, cancels the task once a
read has waited past its deadline. The cancellation lands on the pending read (the only thing
the task awaits while `reading` is set) and is turned back into a timeout with
`Task.uncancel()`, the bookkeeping `asyncio.timeout()` does, so other cancellations (an outer
scope, a task group) still go through untouched.

The clock is read once per event-loop turn, not once per token: `refresh()` reads it and
asks for `_mark` at the loop's next turn. A provider that has chunks ready hands them over
without the loop turning, and all of them share that reading. When a read has to wait, the
loop turns, `_mark` runs at the moment the wait began, moves the deadline to
"now + inter_token" — exactly the silence the read is allowed — and arms the timer. A stream
whose chunks never keep it waiting never arms one. All the runs on a loop share one
`_TurnWatch`: a single callback per loop turn marks every watchdog that asked, so many
concurrent streams (or many short runs between two turns) cost one loop callback, not one each.

Elsewhere (trio, Python 3.10) the driver reads the clock per chunk and uses a cancel scope
per read.
"""

from __future__ import annotations

import asyncio
import math
import sys
import types
import weakref
from collections.abc import Callable
from typing import Any


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # called outside the event loop
        return None


class Watchdog:
    """One per run; see the module docstring."""

    __slots__ = (
        "_clock",
        "_handle",
        "_marking",
        "_turns",
        "aborting",
        "armed_for",
        "deadline",
        "fired",
        "first",
        "inter",
        "loop",
        "now",
        "reading",
        "task",
        "total",
        "tripped",
        "turned",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Callable[[], float]) -> None:
        self.loop = loop
        self._clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self._turns = _turn_watch(loop)
        self._marking = False  # `_mark` is due at the loop's next turn
        self.task: asyncio.Task[Any] | None = None
        self.reading = False  # the task is (about to be) waiting on the provider
        self.first = True  # ... for an attempt's first chunk (its deadline is fixed)
        self.inter = math.inf  # seconds allowed between chunks
        self.total = math.inf  # the run's overall deadline
        self.deadline = math.inf  # when the pending read times out
        self.armed_for = math.inf  # when the timer fires (inf: no timer)
        self.now = 0.0  # the clock as last read
        self.turned = True  # the loop has run since `now` was read
        self.fired = False  # this watchdog cancelled the task for a deadline
        self.aborting = False  # ... or for an abort
        self.tripped = False  # either of the two: the one flag the driver checks per chunk

    def watch(self) -> None:
        """An attempt begins reading: look again when the loop next turns."""
        if not self._marking:
            self._marking = True
            self._turns.add(self)

    def refresh(self) -> float:
        """Read the clock and watch for the loop's next turn; returns the time."""
        now = self.now = self._clock()
        self.turned = False
        if not self._marking:
            self._marking = True
            self._turns.add(self)
        return now

    def wait_from(self, now: float) -> None:
        """The next read may wait `inter` seconds from `now`."""
        deadline = now + self.inter
        self.deadline = deadline if deadline < self.total else self.total
        if self.armed_for > self.deadline:
            self.arm()

    def _mark(self) -> None:
        # The loop turned: if a read is pending it began to wait just now.
        self._marking = False
        self.turned = True
        if not self.first:
            self.wait_from(self._clock())
        elif self.armed_for > self.deadline:
            self.arm()  # the first read waits: its deadline was fixed when the attempt began

    def arm(self) -> None:
        """(Re)schedule the timer for `deadline`."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.armed_for = self.deadline
        if self.deadline != math.inf:
            self._handle = self.loop.call_at(self.deadline, self._check)

    def _check(self) -> None:
        self._handle = None
        self.armed_for = math.inf
        if not self.reading or self.task is None:
            return  # the next read re-arms
        if self._clock() < self.deadline:
            self.arm()  # the deadline moved on since the timer was set
            return
        self.fired = self.tripped = True
        self.task.cancel()

    def abort(self) -> None:
        """Cut a pending read short for abort()."""
        if self.reading and self.task is not None and not self.aborting:
            if self.task is _current_task():
                # Called from the reading task itself (an on_event handler while a chunk is
                # handled): it is not waiting on a read, and it looks at the abort request
                # next. A cancel here would stay pending and hit the consumer's next await.
                return
            self.aborting = self.tripped = True
            self.task.cancel()

    def settle(self) -> str | None:
        """After a read was cancelled (or returned despite a cancel request): which of ours it
        was ("deadline" / "abort"), or None when the cancellation is someone else's."""
        if not (self.fired or self.aborting):
            return None
        reason = "abort" if self.aborting else "deadline"
        self.fired = self.aborting = self.tripped = False
        assert self.task is not None
        if self.task.uncancel() > 0:
            return None  # the task is also being cancelled from outside: let that through
        return reason

    def close(self) -> None:
        """Stop watching (the attempt is over)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._marking:
            self._marking = False
            self._turns.discard(self)
        self.armed_for = math.inf
        self.reading = False
        self.turned = True


class _TurnWatch:
    """One per event loop: at the loop's next turn, calls `_mark` on every watchdog that
    asked since the last one (in the order they asked)."""

    __slots__ = ("__weakref__", "_loop", "_scheduled", "_waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # the loop's table of watches must not keep it alive
        self._waiting: dict[Watchdog, None] = {}
        self._scheduled = False

    def add(self, watchdog: Watchdog) -> None:
        self._waiting[watchdog] = None
        if not self._scheduled:
            loop = self._loop()
            if loop is not None:
                self._scheduled = True
                loop.call_soon(self._turned)

    def discard(self, watchdog: Watchdog) -> None:
        self._waiting.pop(watchdog, None)

    def _turned(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, {}
        for watchdog in waiting:
            watchdog._mark()


_turn_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _TurnWatch] = (
    weakref.WeakKeyDictionary()
)
_last_turn_watch: tuple[weakref.ref[asyncio.AbstractEventLoop], _TurnWatch] | None = None


def _turn_watch(loop: asyncio.AbstractEventLoop) -> _TurnWatch:
    """The loop's `_TurnWatch` (the last one used is looked up first: a process usually runs
    one loop)."""
    global _last_turn_watch
    last = _last_turn_watch
    if last is not None and last[0]() is loop:
        return last[1]
    watch = _turn_watches.get(loop)
    if watch is None:
        watch = _turn_watches[loop] = _TurnWatch(loop)
    _last_turn_watch = (weakref.ref(loop), watch)
    return watch


def _task_of() -> Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]:
    """`asyncio.current_task` as cheap as this Python allows. It is C code from 3.12; on 3.11
    a lookup in asyncio's own table of current tasks does the same without the Python-level
    wrapper."""
    if isinstance(asyncio.current_task, types.BuiltinFunctionType):
        return asyncio.current_task
    table = getattr(asyncio.tasks, "_current_tasks", None)
    return table.get if isinstance(table, dict) else asyncio.current_task


task_of = _task_of()
"""`task_of(loop)`: the task running on `loop` now. The driver asks once per event it hands
to the consumer (the consumer may be another task next time)."""


_UNCANCEL = sys.version_info >= (3, 11)  # Task.uncancel, which the watchdog relies on


def make_watchdog(clock: Callable[[], float]) -> Watchdog | None:
    """A watchdog when running on asyncio with Task.uncancel (3.11+), else None."""
    if not _UNCANCEL:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return Watchdog(loop, clock)


__all__ = ["Watchdog", "make_watchdog", "task_of"]
