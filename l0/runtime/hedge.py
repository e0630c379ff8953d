"""Hedged first token (`run(hedge_after=...)`): the next route races a slow first token.

The driver opens the attempt's route as usual. If no first chunk has come by `hedge_after`,
it asks the core (`HedgeDue`), which moves the run to `hedging` and names the next route;
that route is opened too, and both race for a first chunk, each under its own first-token
deadline. The first to produce one wins: the core is told (`HedgeSettled`), the other stream
is closed at once, and the winner is read on as a normal attempt, its first chunk handed
over ahead of the rest. A racer that fails first is dropped (`HedgeDropped`) and the other
races on; when the last racer fails, its failure is the attempt's failure, handled by the
core's `fail` edges as usual.

Only the winner's chunks reach the core, and every decision above is a fact the core
receives, so a recorded hedged run replays exactly. Nothing here runs per token except the
one extra step of `_Prepended` for a hedged attempt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from l0.errors import TimeoutError as L0TimeoutError
from l0.runtime.chunks import open_iterator
from l0.runtime.facts import HEDGE_DUE, HedgeDropped, HedgeSettled, Open, RunInput
from l0.runtime.interrupts import Interrupted, still_open

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectSendStream

    from l0.runtime.core import RunCore
    from l0.runtime.routing import RouteGate


class DriverView(Protocol):
    """What a race needs of the driver running it (driver.py), named here so that this
    module does not import the driver's."""

    core: RunCore
    port: RunInput  # where the race's facts go (the core, or a recorder in front of it)
    _clock: Callable[[], float]
    _initial: float
    _scope: anyio.CancelScope | None
    _total_deadline: float
    _gate: RouteGate | None

    async def _close(self, targets: list[Any]) -> None: ...

    def _interruption(self, timeout_type: str, seconds: float) -> Interrupted: ...


_END = object()  # a racer's stream ended before any chunk
_TAKEN = object()  # the winner's first chunk has been handed over

Message = tuple[int, str, Any]  # (slot, "first" | "failed" | "timeout", chunk or exception)


class _Prepended:
    """The winner's stream: its first chunk (already read), then the rest."""

    __slots__ = ("_first", "_rest")

    def __init__(self, first: Any, rest: Any) -> None:
        self._first = first
        self._rest = rest

    def __aiter__(self) -> _Prepended:
        return self

    async def __anext__(self) -> Any:
        first = self._first
        if first is _TAKEN:
            return await self._rest.__anext__()
        self._first = _TAKEN
        if first is _END:
            raise StopAsyncIteration
        return first

    async def aclose(self) -> None:
        closer = getattr(self._rest, "aclose", None) or getattr(self._rest, "close", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result


async def _racer(
    driver: DriverView,
    slot: int,
    decision: Open,
    deadline: float,
    opened: dict[int, tuple[Any, Any]],
    send: MemoryObjectSendStream[Message],
) -> None:
    """Open one route and read its first chunk, then report how that went."""
    plan = driver.core.plan
    message: Message
    with anyio.CancelScope(deadline=deadline) as scope:
        try:
            factory = plan.factories[decision.factory_index]
            opener = getattr(factory, "l0_open", None)
            if opener is not None:
                produced = opener(
                    continuation=decision.continuation,
                    build_continuation_prompt=plan.build_continuation_prompt,
                )
            else:
                produced = factory()
            if not hasattr(produced, "__aiter__") and hasattr(produced, "__await__"):
                produced = await produced
            iterator = open_iterator(produced, plan.adapter)
            opened[slot] = (produced, iterator)
            try:
                first = await iterator.__anext__()
            except StopAsyncIteration:
                first = _END
            message = (slot, "first", first)
        except Exception as exc:
            message = (slot, "failed", exc)
    if scope.cancelled_caught:
        message = (slot, "timeout", None)
    await send.send(message)


async def race(driver: DriverView, decision: Open, deadline: float) -> tuple[Any, Any]:
    """Open `decision`'s route, hedged by the next one (see the module docstring). Returns
    the winner's (raw stream, iterator), or raises what the attempt failed with."""

    core = driver.core
    clock = driver._clock
    initial = driver._initial
    hedge_after = core.plan.hedge_after
    assert hedge_after is not None
    hedge_at = clock() + hedge_after
    opened: dict[int, tuple[Any, Any]] = {}
    index_of = {0: decision.factory_index}
    send, receive = anyio.create_memory_object_stream[Message](4)
    result: Message | None = None
    hedged = False
    try:
        async with anyio.create_task_group() as group:
            driver._scope = group.cancel_scope  # abort() cancels the whole race
            group.start_soon(_racer, driver, 0, decision, deadline, opened, send)
            live = 1
            while result is None:
                wait_until = min(math.inf if hedged else hedge_at, driver._total_deadline)
                message: Message | None = None
                with anyio.CancelScope(deadline=wait_until):
                    message = await receive.receive()
                if message is None:
                    if clock() >= driver._total_deadline:
                        break
                    hedged = True
                    gate = driver._gate
                    if gate is not None and not await gate.admit_hedge(decision.factory_index + 1):
                        continue  # route health would skip the next route: no hedge
                    hedge = driver.port.handle(HEDGE_DUE, clock())
                    if hedge is not None:
                        index_of[1] = hedge.factory_index
                        group.start_soon(_racer, driver, 1, hedge, clock() + initial, opened, send)
                        live += 1
                    continue
                slot, outcome, _payload = message
                if outcome == "first" or live == 1:
                    result = message  # a winner, or the last racer's failure
                    break
                live -= 1
                dropped = HedgeDropped(index_of[slot], _racer_error(message, index_of, initial))
                driver.port.handle(dropped, clock())
            group.cancel_scope.cancel()
    finally:
        driver._scope = None
        send.close()
        receive.close()
        kept = result[0] if result is not None and result[1] == "first" else None
        losers = [obj for slot, pair in opened.items() if slot != kept for obj in pair]
        targets = still_open(*reversed(losers))
        if targets:
            await driver._close(targets)
    if (core.abort_requested or result is None) and driver._gate is not None:
        driver._gate.hedge_over(won=False)
    if core.abort_requested:
        raise Interrupted(None)
    if result is None:
        raise driver._interruption("initial_token", initial)  # the total deadline passed
    slot, outcome, payload = result
    if core.phase == "hedging":
        driver.port.handle(HedgeSettled(index_of[slot]), clock())
    if driver._gate is not None:
        driver._gate.hedge_over(won=slot != 0)
    if outcome == "timeout":
        raise driver._interruption("initial_token", initial)
    if outcome == "failed":
        raise payload
    raw, iterator = opened[slot]
    return raw, _Prepended(payload, iterator)


def _racer_error(message: Message, index_of: dict[int, int], initial: float) -> BaseException:
    slot, outcome, payload = message
    if outcome == "timeout":
        return L0TimeoutError(
            f"No token within {initial:g}s for the first token (hedged route, stream "
            f"{index_of[slot]})",
            timeout_type="initial_token",
            timeout_seconds=initial,
        )
    assert isinstance(payload, BaseException)
    return payload


__all__ = ["race"]
