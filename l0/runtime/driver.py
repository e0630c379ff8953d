"""The anyio driver: the only part of a run that awaits.

It asks the core what to do and does it: calls stream factories, reads chunks, sleeps for
backoff, consults `should_retry`, runs heavy checks in a worker thread, and closes every
stream it abandons. Events are produced by one async generator, `events()`, which the
consumer iterates directly (no extra layer per token).

Each read of the provider is bounded by a deadline: the attempt's first-token deadline for
the first chunk, then "now + inter_token" measured from the moment l0 asks for the next
chunk, so time the consumer spends between events never counts. On asyncio a `Watchdog`
timer enforces it without per-token cost; elsewhere each read gets its own cancel scope.
Either way nothing that can cancel is held across a `yield` to the consumer, so the
consumer's own cancel scopes nest correctly. `abort()` cuts short whatever wait is pending;
when nothing is pending (the consumer holds an event), it closes the attempt's provider
stream at once from a task of its own (`closing.py`) rather than at the next read.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import AsyncGeneratorType
from typing import TYPE_CHECKING, Any, TypeGuard

import anyio
import anyio.lowlevel

from l0.errors import Error, ErrorCode
from l0.runtime.chunks import open_iterator
from l0.runtime.core import RunCore
from l0.runtime.facts import (
    ABORTED,
    OPENED,
    READING_STOPPED,
    START,
    STREAM_ENDED,
    WOKE,
    CallbackAnswered,
    CheckFinished,
    Consult,
    DeadlinePassed,
    Decision,
    Fail,
    Failed,
    Finish,
    Left,
    Open,
    RunCheck,
    RunInput,
    Sleep,
)
from l0.runtime.interrupts import Interrupted, still_open
from l0.runtime.watchdog import Watchdog, make_watchdog, task_of
from l0.types import Event

if TYPE_CHECKING:
    from l0.runtime.closing import Closing
    from l0.runtime.routing import RouteGate

# Route health, hedging, abort-closing and the SDK-retries notice are imported where they are
# first needed: most runs use none of them, and a short-lived program should not pay for them.

logger = logging.getLogger("l0")

_CLOSE_GRACE = 5.0  # seconds a provider stream gets to close before it is left behind


def _is_awaitable(value: object) -> TypeGuard[Awaitable[Any]]:
    # Not asyncio.iscoroutine: it says True for any generator (the old generator-based
    # coroutines), and a factory returning a sync generator is a caller's mistake to report.
    return inspect.isawaitable(value)


def _gate(core: RunCore) -> RouteGate | None:
    from l0.runtime.routing import make_gate

    return make_gate(core.plan)


def backend_clock() -> Callable[[], float]:
    """The running event loop's clock (virtual clocks in tests included), as a fast callable."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.current_time
    if type(loop).time is asyncio.BaseEventLoop.time:
        return time.monotonic  # what that method returns, without the method call
    return loop.time


def _outcome(exc: BaseException) -> str:
    """How a run that stopped short ended: "cancelled" (its task was cancelled, or its
    consumer closed it) or "failed" (anything else that went through)."""
    if isinstance(exc, (GeneratorExit, anyio.get_cancelled_exc_class())):
        return "cancelled"
    return "failed"


class Driver:
    """Runs one `RunCore` to its end (see the module docstring). What it hands the run goes
    through `port` (l0.runtime.facts.RunInput): the core itself, or a recorder in front of it;
    what it reads (phase, flags, plan) it reads from the core."""

    def __init__(
        self, core: RunCore, clock: Callable[[], float] | None = None, port: RunInput | None = None
    ) -> None:
        # Every field is set here, whatever the run does later: CPython keeps a driver's fields
        # inline (fast to read per chunk) only while each driver sets the names the first did.
        self.core = core
        self.port: RunInput = core if port is None else port
        self._scope: anyio.CancelScope | None = None
        timeout = core.plan.timeout
        self._initial = timeout.initial_token_seconds
        self._inter = timeout.inter_token_seconds
        self._total = timeout.total_seconds
        self._clock: Callable[[], float] = clock or backend_clock()
        self._total_deadline = math.inf
        self._watchdog: Watchdog | None = None
        self._first_read = True  # the pending read waits for an attempt's first chunk
        self._read_deadline = math.inf  # for `_scoped_reads`
        # route health (None: not kept for this run)
        self._gate: RouteGate | None = None if core.plan.route_health is None else _gate(core)
        self._attempt: tuple[Any, Any] | None = None  # the open attempt's (iterator, raw)
        self._closing: Closing | None = None  # its close, started by abort()

    def abort(self, generator: AsyncGenerator[Event, None] | None = None) -> None:
        """Stop the run as soon as possible (callable from any task of the same loop).
        `generator` is `events()` as the consumer holds it (perhaps wrapped)."""
        self.port.request_abort()
        if self._scope is not None:
            self._scope.cancel()
        if self._watchdog is not None:
            self._watchdog.abort()
        self._close_attempt_soon(generator)

    def _close_attempt_soon(self, generator: AsyncGenerator[Event, None] | None) -> None:
        """When `events()` waits at a `yield` (the consumer holds an event) no read is there
        to cut short: close the provider now, from a task of its own, not at the next read
        (which may never come). Resumed, `events()` sees the abort before reading again."""
        attempt = self._attempt
        if attempt is None or self._closing is not None or generator is None:
            return
        if getattr(generator, "ag_running", True):  # it awaits: the cancel above reaches it
            return
        from l0.runtime.closing import close_soon

        self._closing = close_soon(functools.partial(self._close, still_open(*attempt)))

    # -- waiting ---------------------------------------------------------------------------

    def _interruption(self, timeout_type: str, seconds: float) -> Interrupted:
        if self.core.abort_requested:
            return Interrupted(None)
        if self._clock() >= self._total_deadline and self._total is not None:
            return Interrupted("total", self._total)
        return Interrupted(timeout_type, seconds)

    async def _bounded(
        self,
        awaitable: Awaitable[Any],
        deadline: float,
        timeout_type: str,
        seconds: float,
    ) -> Any:
        """Await under a deadline that abort() can also cut short."""
        if self.core.abort_requested:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: close it rather than leave it unawaited
            raise Interrupted(None)
        with anyio.CancelScope(deadline=min(deadline, self._total_deadline)) as scope:
            self._scope = scope
            try:
                return await awaitable
            finally:
                self._scope = None
        raise self._interruption(timeout_type, seconds)

    async def _scoped_reads(self, iterator: Any) -> AsyncIterator[Any]:
        """The chunks of `iterator`, each read under its own cancel scope (the portable way):
        the deadline is the one the event loop last set in `_read_deadline`."""
        step = iterator.__anext__
        while True:
            if self._first_read:
                kind, seconds = "initial_token", self._initial
            else:
                kind, seconds = "inter_token", self._inter
            try:
                chunk = await self._bounded(step(), self._read_deadline, kind, seconds)
            except StopAsyncIteration:
                return
            yield chunk

    def _raise_if_ours(self, watchdog: Watchdog) -> None:
        """After the watchdog cancelled a read: raise the timeout/abort it stands for (a
        cancellation from anyone else is left to propagate)."""
        reason = watchdog.settle()
        if reason is None:
            return
        if reason == "abort":
            raise Interrupted(None)
        if watchdog.first:
            raise self._interruption("initial_token", self._initial)
        raise self._interruption("inter_token", self._inter)

    # -- the run -----------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[Event, None]:
        """Every event of the run, in order; raises the run's error at the end if it failed."""
        core = self.core
        port = self.port  # where facts, tokens and chunks go (the core, unless recorded)
        clock = self._clock
        now = clock()
        if self._total is not None:
            self._total_deadline = now + self._total
        self._watchdog = make_watchdog(clock)
        decision: Decision = port.handle(START, now)
        token = port.token
        # RunCore.token only calls the current phase's handler: unless a recorder stands
        # between (it logs each token), tokens go to the handler directly.
        direct = port is core
        chunk_event = port.event
        gate = self._gate  # route health, asked at attempt boundaries (routing.py)
        hedging = core.plan.hedge_after is not None  # attempts race the next route (hedge.py)
        try:
            while True:
                if core.events_waiting:
                    for item in port.take_events():
                        yield item
                if type(decision) is Open:
                    if gate is not None:
                        skipped = await gate.admit(decision.factory_index, core)
                        if skipped is not None:
                            decision = port.handle(Failed(skipped), clock())
                            continue
                    iterator: Any = None
                    raw: Any = None
                    chunks: Any = None
                    try:
                        first_deadline = clock() + self._initial
                        if hedging and decision.factory_index < core.plan.fallback_count:
                            from l0.runtime.hedge import race

                            raw, iterator = await race(self, decision, first_deadline)
                        else:
                            raw, iterator = await self._open(decision, first_deadline)
                        self._attempt = (iterator, raw)
                        port.handle(OPENED, clock())
                        # The first read waits for the first token; later ones for the next.
                        deadline = min(first_deadline, self._total_deadline)
                        inter = self._inter
                        total_deadline = self._total_deadline
                        self._first_read = True
                        # While `reading` is set the watchdog may cancel this task; it is cleared
                        # whenever the consumer holds an event (the consumer may even be another
                        # task next time, hence the task is taken again when it asks).
                        watchdog = self._watchdog
                        if watchdog is None:
                            self._read_deadline = deadline
                            chunks = self._scoped_reads(iterator)
                        else:
                            chunks = iterator
                            loop = watchdog.loop
                            watchdog.task = task_of(loop)
                            watchdog.inter = inter
                            watchdog.total = total_deadline
                            watchdog.first = True
                            watchdog.deadline = deadline
                            watchdog.reading = True
                            watchdog.watch()
                        outcome: Decision | None = None
                        try:
                            async for chunk in chunks:
                                if watchdog is None:
                                    self._first_read = False
                                    now = clock()
                                else:
                                    if watchdog.tripped:
                                        self._raise_if_ours(watchdog)  # a provider ate the cancel
                                    # One clock reading per event-loop turn (see watchdog.py).
                                    now = watchdog.refresh() if watchdog.turned else watchdog.now
                                    watchdog.first = False
                                if type(chunk) is not str:
                                    event = chunk_event(chunk, now)
                                elif direct:
                                    handler = core.token_handler  # (read, then called: faster)
                                    event = handler(core, chunk, now)
                                else:
                                    event = token(chunk, now)
                                # A token that released queued events (a restarted answer's RESET
                                # and text) returns none of its own: for tokens, checked only then.
                                if (
                                    (event is None or type(chunk) is not str)
                                    and core.events_waiting
                                    and not core.stop_reading
                                ):
                                    # events this chunk released ahead of its own (rare)
                                    released = port.take_events()
                                    if watchdog is not None:
                                        watchdog.reading = False
                                    for item in released:
                                        yield item
                                    if watchdog is not None:
                                        watchdog.task = task_of(loop)
                                        watchdog.reading = True
                                if event is not None:
                                    if watchdog is not None:
                                        watchdog.reading = False
                                        yield event
                                        watchdog.task = task_of(loop)
                                        watchdog.reading = True
                                        if watchdog.turned:  # the consumer's time does not count
                                            watchdog.wait_from(watchdog.refresh())
                                    else:
                                        yield event
                                        now = clock()
                                if core.stop_reading:
                                    stopped = port.handle(READING_STOPPED, clock())
                                    if type(stopped) is not RunCheck:
                                        outcome = stopped  # the attempt is over
                                        break
                                    outcome = await self._check_off_loop(stopped)
                                    if outcome is not None:
                                        break
                                    if watchdog is not None:  # nor does the check's
                                        watchdog.wait_from(watchdog.refresh())
                                    else:
                                        now = clock()
                                if watchdog is None:
                                    deadline = now + inter
                                    self._read_deadline = min(deadline, total_deadline)
                            else:
                                outcome = port.handle(STREAM_ENDED, clock())
                        except asyncio.CancelledError:
                            if watchdog is None:
                                raise
                            self._raise_if_ours(watchdog)
                            raise
                        if outcome is None:  # (every way out of the loop above sets it)
                            outcome = port.handle(READING_STOPPED, clock())
                        decision = outcome
                    except Interrupted as why:
                        decision = self._on_interrupt(why)
                    except Exception as exc:
                        decision = port.handle(Failed(exc), clock())
                    finally:
                        self._attempt = None
                        if self._watchdog is not None:
                            self._watchdog.close()
                        targets = still_open(chunks, iterator, raw)
                        closing, self._closing = self._closing, None
                        if closing is not None:  # abort() is closing the provider already
                            with anyio.move_on_after(_CLOSE_GRACE, shield=True):
                                await closing.wait()
                            targets = [t for t in targets if t is not iterator and t is not raw]
                        if targets:
                            await self._close(targets)
                        if gate is not None:
                            await gate.settle(core)
                    if type(decision) is RunCheck:
                        decision = await self._final_check(decision)
                elif type(decision) is Sleep:
                    decision = await self._sleep(decision.seconds)
                elif type(decision) is Consult:
                    decision = await self._consult(decision)
                elif type(decision) is RunCheck:
                    decision = await self._final_check(decision)
                elif type(decision) is Finish:
                    if core.events_waiting:
                        continue
                    return
                elif type(decision) is Fail:
                    if core.events_waiting:
                        continue
                    raise decision.error
                else:  # pragma: no cover - a new decision type without a branch here
                    raise Error(f"Unknown decision {decision!r}", code=ErrorCode.INTERNAL_ERROR)
        except BaseException as exc:
            # Cancelled, closed by a consumer that left, or a BaseException going through:
            # the run still ends once, for its span, its metrics and its recording.
            if core.phase != "complete" and core.phase != "error":
                ending = _outcome(exc)
                port.handle(Left(ending, exc if ending == "failed" else None), self._clock())
            raise

    def _on_interrupt(self, why: Interrupted) -> Decision:
        now = self._clock()
        if why.timeout_type is None:
            return self.port.handle(ABORTED, now)
        return self.port.handle(DeadlinePassed(why.timeout_type, why.seconds), now)

    async def _open(self, decision: Open, deadline: float) -> tuple[Any, Any]:
        """Call the factory (with the continuation, if it can take one) and get an iterator
        of chunks; opening counts against the first-token deadline."""
        plan = self.core.plan
        factory = plan.factories[decision.factory_index]
        opener = getattr(factory, "l0_open", None)
        if opener is not None:
            produced = opener(
                continuation=decision.continuation,
                build_continuation_prompt=plan.build_continuation_prompt,
            )
        else:
            produced = factory()
        if not hasattr(produced, "__aiter__") and _is_awaitable(produced):
            produced = await self._bounded(produced, deadline, "initial_token", self._initial)
        if type(produced) is not AsyncGeneratorType:  # (a generator has no SDK client)
            from l0.runtime.sdk_retries import notice_sdk_retries

            notice_sdk_retries(produced, plan.retry.max_retries)  # one getattr; see the module
        return produced, open_iterator(produced, plan.adapter)

    async def _close(self, targets: list[Any]) -> None:
        """Close what an attempt left open (outermost first), shielded from cancellation,
        briefly."""
        with anyio.move_on_after(_CLOSE_GRACE, shield=True):
            for target in targets:
                try:
                    closer = getattr(target, "aclose", None) or getattr(target, "close", None)
                    if closer is None:
                        continue
                    result = closer()
                    if _is_awaitable(result):
                        await result
                except Exception:
                    logger.debug("l0: closing a provider stream raised", exc_info=True)

    async def _sleep(self, seconds: float) -> Decision:
        core = self.core
        try:
            if seconds > 0:
                await self._bounded(anyio.sleep(seconds), math.inf, "total", self._total or 0.0)
            else:
                await anyio.lowlevel.checkpoint()
        except Interrupted as why:
            return self._on_interrupt(why)
        if core.abort_requested:
            return self.port.handle(ABORTED, self._clock())
        return self.port.handle(WOKE, self._clock())

    async def _consult(self, decision: Consult) -> Decision:
        core = self.core
        should_retry = core.plan.retry.should_retry
        assert should_retry is not None
        try:
            answer = should_retry(decision.error, core.state, decision.attempt, decision.category)
            if _is_awaitable(answer):
                answer = await self._bounded(answer, math.inf, "total", self._total or 0.0)
        except Interrupted as why:
            return self._on_interrupt(why)
        except Exception as exc:
            problem = Error(
                f"Retry.should_retry raised {type(exc).__name__}: {exc}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
            problem.__cause__ = exc
            return self.port.handle(Failed(problem), self._clock())
        return self.port.handle(CallbackAnswered(bool(answer)), self._clock())

    async def _final_check(self, decision: RunCheck) -> Decision:
        """A check the run waits on before deciding how it ends."""
        outcome = await self._check_off_loop(decision)
        if outcome is None:
            outcome = self.core.decision
        assert outcome is not None
        return outcome

    async def _check_off_loop(self, decision: RunCheck) -> Decision | None:
        """Run a large guardrail check in a worker thread, then hand the result back."""
        core = self.core
        engine = core.engine
        assert engine is not None
        evaluate = engine.evaluate_final if decision.phase == "final" else engine.evaluate_streaming
        watchdog = self._watchdog
        reading = watchdog is not None and watchdog.reading
        if watchdog is not None:
            watchdog.reading = False  # waiting for our own check is not provider silence
        try:
            found = await anyio.to_thread.run_sync(evaluate, core.state)
        except Exception as exc:
            return self.port.handle(Failed(exc), self._clock())
        finally:
            if watchdog is not None:
                watchdog.reading = reading
        return self.port.handle(CheckFinished(found), self._clock())


__all__ = ["Driver", "backend_clock"]
