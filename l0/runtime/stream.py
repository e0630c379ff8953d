"""`Stream` and `LazyStream`: what `l0.run` and `l0.wrap` return.

A stream is lazy: nothing happens until it is iterated or read. `async for event in stream`
iterates the driver's event generator directly. `read()` consumes whatever is left and
returns the surviving text. `abort()` stops the run promptly, even while the provider is
silent. Leaving `async with stream:` (or dropping a half-read stream) closes the provider.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING

from l0.errors import Error, ErrorCode
from l0.event_bus import EventBus
from l0.metrics import Metrics
from l0.runtime.core import RunCore
from l0.runtime.driver import Driver, backend_clock
from l0.runtime.plan import RunPlan
from l0.types import Event, State

if TYPE_CHECKING:
    from l0.machine.view import StateMachine

logger = logging.getLogger("l0")


class Stream:
    """An l0 run: iterate it for events, `read()` it for text, `state` for what it knows."""

    def __init__(self, plan: RunPlan, *, rng: random.Random | None = None) -> None:
        self._plan = plan
        self._rng = rng
        self._core: RunCore | None = None
        self._driver: Driver | None = None
        self._events: AsyncGenerator[Event, None] | None = None
        self._early_abort = False
        self._state = State()
        # Made now, not at the first read: the context is copied when run() is called.
        self._bus = EventBus(plan.on_event, plan.context)

    # -- lifecycle ---------------------------------------------------------------------------

    def _start(self) -> AsyncGenerator[Event, None]:
        if self._events is None:
            clock = backend_clock()
            now = clock()
            plan, epoch = self._plan, time.time()
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
                from l0.eventsourcing.recorder import RecordingCore

                core = recording = RecordingCore(
                    plan,
                    store=plan.event_store,
                    now=now,
                    epoch=epoch,
                    rng=self._rng,
                    bus=self._bus,
                    metrics=Metrics.get_global(),
                    state=self._state,
                )
            if logger.isEnabledFor(logging.INFO):  # recoveries at INFO, the lifecycle at DEBUG
                from l0.run_log import log_event

                core.bus.add_handler(log_event)
            self._core = core
            self._driver = Driver(core, clock)
            if self._early_abort:
                core.request_abort()
            events = self._driver.events()
            self._events = events if plan.event_store is None else recording.recorded(events)
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
        return self._start()

    async def __anext__(self) -> Event:
        return await self._start().__anext__()

    async def read(self) -> str:
        """Consume the rest of the stream and return its full text (raises if the run fails)."""
        if self._finished and self._core is not None and self._core.phase == "complete":
            return self._state.content
        events = self._start()
        assert self._core is not None
        self._core.quiet = True  # text accumulates in the state; token events are not needed
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
            self._driver.abort()

    async def aclose(self) -> None:
        """Stop iterating and close the provider stream (idempotent)."""
        if self._events is not None:
            await self._events.aclose()

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


class LazyStream(Stream):
    """A `Stream` returned without awaiting (by `l0.wrap(raw_stream)`): like
    `httpx.AsyncClient()`, it does its async work only when iterated or read."""


__all__ = ["LazyStream", "Stream"]
