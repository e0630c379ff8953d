"""Which user callbacks may be `async def`, and the check that refuses the others.

l0 awaits a callback where it runs in async code anyway and the result decides what happens
next: `Retry.should_retry`, and the pipeline's steps and hooks. The others are called
synchronously where they happen: `on_event` from the run's core (a sans-I/O state machine
that cannot await), `calculate_delay` and `build_continuation_prompt` while the core decides,
a guardrail rule's `check` possibly in a worker thread, structured output's
`on_validation_error`/`on_auto_correct`, a state machine's listeners. An `async def` there
would return a coroutine nobody awaits (its work silently lost, with a RuntimeWarning), so
it is refused when it is passed, with INVALID_ARGUMENT.
"""

from __future__ import annotations

import functools
import inspect

from l0.errors import Error, ErrorCode


def is_async_callable(callback: object) -> bool:
    """Whether calling `callback` makes a coroutine: an `async def` function or method, a
    partial of one, or an object whose `__call__` is one."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    if inspect.iscoroutinefunction(callback):
        return True
    if not callable(callback) or inspect.isfunction(callback) or inspect.ismethod(callback):
        return False
    return inspect.iscoroutinefunction(type(callback).__call__)  # an object with async __call__


def refuse_async(callback: object, name: str, hint: str) -> None:
    """Raise INVALID_ARGUMENT when `callback` (the argument called `name`) is async."""
    if callback is not None and is_async_callable(callback):
        raise Error(
            f"{name} must be a plain (sync) function; l0 calls it synchronously and would "
            f"never await it. {hint}",
            code=ErrorCode.INVALID_ARGUMENT,
        )


ON_EVENT_HINT = (
    "To do async work per event, hand events over without waiting (an anyio memory "
    "stream's send_nowait, an asyncio.Queue's put_nowait) and consume them in a task."
)


__all__ = ["ON_EVENT_HINT", "is_async_callable", "refuse_async"]
