"""Closing a provider stream from code that cannot await.

`abort()` is a plain method, and a consumer that leaves `async for` early calls nothing at
all (l0 learns of it when the run's event generator is dropped). Neither can await the
provider's `aclose()`, yet the connection should close at once: a provider streams (and
bills) until it sees the disconnect, and the consumer may never read again.

`close_soon(close)` starts `close()` in a task of its own on the running event loop, an
asyncio task or a trio system task, and returns a `Closing` that async code can wait on (the
driver waits for it before it closes anything itself, so nothing is closed twice at once).
Outside an event loop (a garbage collection in another thread, an interpreter shutting
down) it returns None and the caller falls back to what it did before.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger("l0")

_running: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references to tasks


class Closing:
    """A close started by `close_soon`; `await closing.wait()` until it is over."""

    __slots__ = ("_done",)

    def __init__(self, done: Any) -> None:
        self._done = done  # an asyncio.Event or a trio.Event

    @property
    def done(self) -> bool:
        return bool(self._done.is_set())

    async def wait(self) -> None:
        await self._done.wait()


async def _close_then_set(close: Callable[[], Awaitable[object]], done: Any) -> None:
    try:
        await close()
    except Exception:  # nobody awaits this task: a failing close is logged, never raised
        logger.debug("l0: closing a provider stream raised", exc_info=True)
    finally:
        done.set()


def close_soon(close: Callable[[], Awaitable[object]]) -> Closing | None:
    """Run `close()` in a task of its own on this thread's event loop (see the module
    docstring); None when there is no running loop to run it on."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        done: Any = asyncio.Event()
        task = loop.create_task(_close_then_set(close, done))
        _running.add(task)
        task.add_done_callback(_running.discard)
        return Closing(done)
    trio = sys.modules.get("trio")  # never imported: not running under trio either
    if trio is None:
        return None
    done = trio.Event()
    try:
        trio.lowlevel.spawn_system_task(
            _close_then_set, close, done, name="l0: close a provider stream"
        )
    except RuntimeError:  # not inside trio.run (or its system nursery is closing)
        return None
    return Closing(done)


__all__ = ["Closing", "close_soon"]
