"""`Stream` and `LazyStream`: what `l0.run` and `l0.wrap` return.

A stream is lazy: nothing happens until it is iterated or read. `async for event in stream`
iterates the driver's event generator directly. `read()` consumes whatever is left and
returns the surviving text. `abort()` stops the run promptly, even while the provider is
silent. Leaving `async with stream:` (or dropping a half-read stream) closes the provider.

Leaving `async for` early closes the provider too, at once. `async for` calls nothing when
it is left, so l0 notices the generator being dropped: while the loop holds it, the stream
keeps only a weak reference, and the generator's finalizer is l0's own (installed before its
first step, in place of the event loop's, which would close it only later and on trio with a
ResourceWarning). The finalizer closes the run from a task of its own (`closing.py`); an
aborted run is read to its end there instead, so that its final ERROR event is emitted.
This is set up by `__aiter__`, so `read()` pays nothing for it; a run already stepped by
`anext(stream)` or `read()` keeps the event loop's finalizer and stays held by the stream.
"""

from __future__ import annotations

import functools
import logging
import random
import sys
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from l0.errors import Error, ErrorCode
from l0.event_bus import EventBus
from l0.metrics import Metrics
from l0.runtime.closing import Closing, close_soon
from l0.runtime.core import RunCore
from l0.runtime.driver import Driver, backend_clock
from l0.runtime.plan import RunPlan
from l0.types import Event, State

if TYPE_CHECKING:
    from l0.machine.view import StateMachine

logger = logging.getLogger("l0")


class Stream:
    """An l0 run: iterate it for events, `read()` it for text, `state` for what it knows."""

    # Fields every stream starts with the same immutable value: class defaults, so creating
    # a stream (once per run) does not assign each of them.
    _core: RunCore | None = None
    _driver: Driver | None = None
    _events: AsyncGenerator[Event, None] | None = None
    # the generator handed to an `async for` (see the module docstring)
    _iterated: weakref.ref[AsyncGenerator[Event, None]] | None = None
    _left_early = False  # ... and dropped before its end
    _stepped = False  # read or stepped other than by `async for` (see __aiter__)
    _closing: Closing | None = None  # the run's close after that
    _early_abort = False

    def __init__(self, plan: RunPlan, *, rng: random.Random | None = None) -> None:
        self._plan = plan
        self._rng = rng
        self._state = State()
        # Made now, not at the first read: the context is copied when run() is called.
        self._bus = EventBus(plan.on_event, plan.context)

    # -- lifecycle ---------------------------------------------------------------------------

    def _start(self) -> AsyncGenerator[Event, None]:
        if self._events is None and self._iterated is not None:
            handed_out = self._iterated()
            if handed_out is not None:
                return handed_out  # an iterator the consumer still holds: go on with it
            if self._left_early:
                return self._gone()
            return _exhausted()  # the loop ran it to its end
        if self._events is None:
            clock = backend_clock()
            now = clock()
            plan, epoch = self._plan, time.time()
            recorder = None
            if plan.event_store is None:
                core = RunCore(
                    plan,
                    now=now,
                    epoch=epoch,
                    rng=self._rng,
                    bus=self._bus,
                    metrics=Metrics.get_global(),
                    state=self._state,
                )
            else:
                from l0.eventsourcing.recorder import FactRecorder

                # The driver hands it what it would hand the core: it logs, then forwards.
                recorder = FactRecorder(
                    plan,
                    store=plan.event_store,
                    now=now,
                    epoch=epoch,
                    rng=self._rng,
                    bus=self._bus,
                    metrics=Metrics.get_global(),
                    state=self._state,
                )
                core = recorder.core
            if logger.isEnabledFor(logging.INFO):  # recoveries at INFO, the lifecycle at DEBUG
                from l0.run_log import log_event

                core.bus.add_handler(log_event)
            self._core = core
            self._driver = Driver(core, clock, recorder)
            if self._early_abort:
                self._driver.port.request_abort()
            events = self._driver.events()
            if recorder is not None:
                events = recorder.recording.recorded(events)
            self._events = events
        return self._events

    @property
    def _finished(self) -> bool:
        core = self._core
        return core is not None and core.phase in ("complete", "error")

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._finished:
            raise Error(
                "This stream has already been consumed; a stream runs once. Read "
                "`stream.state.content` for its text, or start a new run.",
                code=ErrorCode.STREAM_CONSUMED,
            )
        events = self._start()
        if events is self._events and not self._stepped:
            # The loop holds it now; the stream only watches it. (Once stepped otherwise, its
            # finalizer is the event loop's already: the stream keeps holding it.)
            _finalize_with(events, functools.partial(_dropped, weakref.ref(self)))
            self._iterated = weakref.ref(events)
            self._events = None
        return events

    def _left(self, events: AsyncGenerator[Event, None]) -> Closing | None:
        """The consumer dropped `events` unfinished (it left `async for` early): end the run
        now. An aborted run is read to its end (its ERROR event is emitted, the provider is
        closed as the abort says); any other is closed where it stands, as `aclose()` does."""
        self._left_early = True
        core = self._core
        close: Callable[[], Awaitable[object]] = events.aclose
        if core is not None and core.abort_requested:
            close = functools.partial(_drain, events)
        self._closing = close_soon(close)
        return self._closing

    async def _gone(self) -> AsyncGenerator[Event, None]:
        """What reading a stream gives after its consumer left `async for` early."""
        if self._closing is not None:
            await self._closing.wait()
        core = self._core
        decision = core.decision if core is not None else None
        error = getattr(decision, "error", None)
        if core is not None and core.phase == "error" and isinstance(error, Error):
            raise error  # the abort (or failure) that ended it
        raise Error(
            "This stream was closed when its consumer left `async for` early; a stream "
            "runs once. Read `stream.state.content` for what was delivered, or start a new "
            "run. To stop iterating and go on later, hold the iterator: "
            "`events = aiter(stream)`.",
            code=ErrorCode.STREAM_CONSUMED,
        )
        yield  # pragma: no cover - makes this an async generator

    async def __anext__(self) -> Event:
        self._stepped = True
        return await self._start().__anext__()

    async def read(self) -> str:
        """Consume the rest of the stream and return its full text (raises if the run fails)."""
        if self._finished and self._core is not None and self._core.phase == "complete":
            return self._state.content
        events = self._start()
        self._stepped = True
        assert self._driver is not None
        self._driver.port.quiet = True  # text accumulates in the state; token events are not needed
        async for _event in events:
            pass
        return self._state.content

    def abort(self) -> None:
        """Stop the run: the provider stream is closed and the next read raises
        `l0.Error(code=STREAM_ABORTED)`."""
        if self._driver is None:
            self._early_abort = True
            self._state.aborted = True
        else:
            events = self._events
            if events is None and self._iterated is not None:
                events = self._iterated()
            self._driver.abort(events)

    async def aclose(self) -> None:
        """Stop iterating and close the provider stream (idempotent)."""
        if self._closing is not None:
            await self._closing.wait()
            return
        events = self._events
        if events is None and self._iterated is not None:
            events = self._iterated()
        if events is not None:
            await events.aclose()

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        await self.aclose()
        return False

    # -- what the run knows ------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def errors(self) -> list[BaseException]:
        return list(self._core.errors) if self._core is not None else []

    @property
    def stream_id(self) -> str | None:
        """The run's UUIDv7 (as in its observability events); None before it starts."""
        return self._core.bus.stream_id if self._core is not None else None

    @property
    def state_machine(self) -> StateMachine:
        """A read-only view of this run's machine: current state, history, subscribe."""
        from l0.machine.view import StateMachine

        core = self._start_core()
        return StateMachine(core)

    def diagram(self, *, full: bool = False) -> str:
        """The path this run took through the runtime machine, as mermaid: the states and
        edges it visited, in order, with counts. `full=True`: the whole machine, the path
        marked on it."""
        return self._start_core().diagram(full=full)

    def _start_core(self) -> RunCore:
        if self._core is None:
            raise Error(
                "This stream has not started yet; iterate or read() it first",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return self._core

    def __repr__(self) -> str:
        phase = self._core.phase if self._core is not None else "not started"
        return f"{type(self).__name__}({phase}, {self._state!r})"


def _finalize_with(
    events: AsyncGenerator[Event, None], on_drop: Callable[[AsyncGenerator[Event, None]], bool]
) -> None:
    """Make `on_drop(events)` what runs when `events` is garbage collected before its end,
    in place of the event loop's finalizer (which still runs when `on_drop` says False).
    An async generator takes its finalizer from the thread's hooks at its first step, so the
    hooks are swapped around a first `asend` that is never awaited: it runs nothing."""
    hooks = sys.get_asyncgen_hooks()
    loop_finalizer = hooks.finalizer

    def finalizer(generator: AsyncGenerator[Any, None]) -> None:
        if not on_drop(generator) and loop_finalizer is not None:
            loop_finalizer(generator)

    sys.set_asyncgen_hooks(hooks.firstiter, finalizer)
    try:
        first_step = events.asend(None)  # an asend object, not a coroutine: no warning
        del first_step
    finally:
        sys.set_asyncgen_hooks(*hooks)


def _dropped(stream_ref: weakref.ref[Stream], events: AsyncGenerator[Event, None]) -> bool:
    """The finalizer of a stream's event generator: True when it took care of closing it."""
    if getattr(events, "ag_frame", None) is None:
        return True  # it ended (with an error): nothing to close
    stream = stream_ref()
    if stream is not None:
        return stream._left(events) is not None
    return close_soon(events.aclose) is not None  # the stream went first: just close


async def _drain(events: AsyncGenerator[Event, None]) -> None:
    """Read an aborted run to its end: the driver closes the provider, emits the final
    events, then raises the abort, which readers of the stream get again."""
    try:
        async for _event in events:
            pass
    except Error:
        pass


async def _exhausted() -> AsyncGenerator[Event, None]:
    return
    yield  # pragma: no cover - makes this an async generator


class LazyStream(Stream):
    """A `Stream` returned without awaiting (by `l0.wrap(raw_stream)`): like
    `httpx.AsyncClient()`, it does its async work only when iterated or read."""


__all__ = ["LazyStream", "Stream"]
