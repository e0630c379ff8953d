"""Hedged first token (`run(hedge_after=...)`) on a virtual clock, asyncio and trio: the next
route races a slow first token, the first to produce one is kept and the other closed."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.metrics import Metrics
from l0.testing import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Unavailable(Exception):
    status_code = 503


def slow(text: str, seconds: float) -> Script:
    return Script.tokens(text, stall_at=0, stall_for=seconds)


async def timed(stream: l0.Stream) -> tuple[str, float]:
    start = anyio.current_time()
    text = await stream.read()
    return text, anyio.current_time() - start


@pytest.fixture(autouse=True)
def _fresh_metrics() -> None:
    Metrics.reset_global()


async def test_a_silent_route_is_overtaken_by_the_hedge() -> None:
    """No first token by 500 ms: the fallback races and wins; the primary is closed at once."""
    primary, backup = ScriptedFactory(slow("late", 30.0)), ScriptedFactory(Script.tokens("now"))
    result = await l0.run(stream=primary, fallbacks=[backup], hedge_after=500)
    text, took = await timed(result)
    assert (text, took) == ("now", 0.5)
    assert primary.all_closed and backup.all_closed
    assert result.state.fallback_index == 1
    metrics = Metrics.get_global()
    assert (metrics.hedges, metrics.hedge_wins) == (1, 1)
    path = [(t.from_state.value, t.to_state.value) for t in result.state_machine.get_history()]
    assert ("waiting_for_token", "hedging") in path and ("hedging", "waiting_for_token") in path


async def test_the_first_route_can_still_win() -> None:
    """The primary's token comes at 0.8 s, before the hedge's: the primary is kept."""
    primary = ScriptedFactory(slow("primary", 0.8))
    backup = ScriptedFactory(slow("backup", 5.0))
    result = await l0.run(stream=primary, fallbacks=[backup], hedge_after=500)
    assert await timed(result) == ("primary", 0.8)
    assert backup.calls == 1 and backup.all_closed
    assert result.state.fallback_index == 0
    metrics = Metrics.get_global()
    assert (metrics.hedges, metrics.hedge_wins) == (1, 0)


async def test_no_hedge_when_the_first_token_is_on_time() -> None:
    """A first token before hedge_after: the fallback is never called."""
    primary, backup = ScriptedFactory(slow("quick", 0.2)), ScriptedFactory(Script.tokens("x"))
    result = await l0.run(stream=primary, fallbacks=[backup], hedge_after=500)
    assert await result.read() == "quick"
    assert backup.calls == 0 and Metrics.get_global().hedges == 0


async def test_a_failing_racer_is_dropped_and_the_other_races_on() -> None:
    """The hedge fails at once; the primary's token at 1 s is kept; the error is recorded."""
    primary = ScriptedFactory(slow("primary", 1.0))
    backup = ScriptedFactory(Script(chunks=["x"], fail_at=0, error=Unavailable("503")))
    result = await l0.run(stream=primary, fallbacks=[backup], hedge_after=500)
    assert await timed(result) == ("primary", 1.0)
    assert [type(e) for e in result.errors] == [Unavailable]
    assert backup.all_closed


async def test_when_both_racers_fail_the_run_moves_on() -> None:
    """Both racers fail: the last failure goes through the fail edges (the next route)."""
    primary = ScriptedFactory(
        Script(chunks=["x"], stall_at=0, stall_for=1.0, fail_at=0, error=Unavailable("503"))
    )
    backup = ScriptedFactory(Script(chunks=["x"], fail_at=0, error=Unavailable("503")))
    third = ScriptedFactory(Script.tokens("third"))
    result = await l0.run(stream=primary, fallbacks=[backup, third], hedge_after=500)
    assert await result.read() == "third"
    assert primary.all_closed and backup.all_closed


async def test_a_hedged_continuation_resumes_from_the_checkpoint() -> None:
    """After a stall the fallback resumes the text; a hedge of that attempt resumes too."""
    primary = ScriptedFactory(Script.tokens("Hello ", stall_at=6, stall_for=100.0))
    backup = ScriptedFactory(slow("world", 10.0))
    third = ScriptedFactory(Script.tokens("world"))
    result = await l0.run(
        stream=primary,
        fallbacks=[backup, third],
        hedge_after=500,
        timeout=l0.Timeout(inter_token=1000),
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=2),
    )
    assert await timed(result) == ("Hello world", 1.5)
    assert result.state.fallback_index == 2


async def test_abort_while_hedging_closes_both_routes() -> None:
    """abort() during the race ends the run and closes both streams."""
    primary, backup = ScriptedFactory(slow("a", 30.0)), ScriptedFactory(slow("b", 30.0))
    result = await l0.run(stream=primary, fallbacks=[backup], hedge_after=500)

    async def stop() -> None:
        await anyio.sleep(1.0)
        result.abort()

    async with anyio.create_task_group() as group:
        group.start_soon(stop)
        with pytest.raises(l0.Error) as info:
            await result.read()
    assert info.value.code is l0.ErrorCode.STREAM_ABORTED
    assert primary.all_closed and backup.all_closed


@pytest.mark.parametrize("value", [0, -5, float("nan"), True, "500"])
async def test_bad_hedge_after_is_refused(value: Any) -> None:
    """hedge_after must be milliseconds > 0."""
    with pytest.raises(l0.Error) as info:
        await l0.run(stream=lambda: None, fallbacks=[lambda: None], hedge_after=value)
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT


async def test_hedging_needs_a_fallback() -> None:
    """Without a next route there is nothing to hedge with: said at once."""
    with pytest.raises(l0.Error, match="fallbacks"):
        await l0.run(stream=lambda: None, hedge_after=500)


@pytest.mark.parametrize("winner", ["hedge", "first", "dropped"])
async def test_a_hedged_run_is_recorded_and_replays_exactly(winner: str) -> None:
    """The race's facts (hedge, dropped racer, winner) are recorded; the replay agrees."""
    from l0.eventsourcing import EventReplayer, InMemoryEventStore, RecordedEventType as R
    from l0.eventsourcing.codec import event_to_dict

    scripts = {
        "hedge": (slow("late", 30.0), Script.tokens("now")),
        "first": (slow("first", 0.8), slow("second", 5.0)),
        "dropped": (slow("first", 1.0), Script(chunks=["x"], fail_at=0, error=Unavailable())),
    }[winner]
    store = InMemoryEventStore()
    primary, backup = ScriptedFactory(scripts[0]), ScriptedFactory(scripts[1])
    result = await l0.run(stream=primary, fallbacks=[backup], hedge_after=500, event_store=store)
    events = [event async for event in result]
    (stream_id,) = await store.list_streams()
    recorded = [e.event.type for e in await store.read(stream_id)]
    assert R.HEDGE in recorded and R.HEDGE_SETTLED in recorded
    assert (R.HEDGE_DROPPED in recorded) == (winner == "dropped")
    replay = await EventReplayer(store).replay(stream_id)
    assert [event_to_dict(e) for e in replay.events] == [event_to_dict(e) for e in events]
    assert replay.state.content == result.state.content
    assert replay.state.fallback_index == result.state.fallback_index
    assert replay.divergence() is None


# -- generated races against a reference model ---------------------------------------------------

HEDGE_AFTER, FIRST_TOKEN = 0.5, 1.0  # seconds


def racer(ok: bool, delay: float, text: str) -> Script:
    if ok:
        return Script(chunks=[text], stall_at=0, stall_for=delay)
    return Script(chunks=[text], stall_at=0, stall_for=delay, fail_at=0, error=Unavailable())


def reference_race(primary: tuple[bool, float], backup: tuple[bool, float]) -> tuple[str, float]:
    """Who answers and when ("error" if nobody): the rules of fallbacks.md#hedged-first-token,
    with no retries (max_retries=0) and one fallback."""

    def event(route: tuple[bool, float], start: float) -> tuple[float, bool]:
        ok, delay = route
        if delay >= FIRST_TOKEN:
            return start + FIRST_TOKEN, False  # the first-token timeout
        return start + delay, ok

    def backup_alone(start: float) -> tuple[str, float]:
        at, ok = event(backup, start)
        return ("backup", at) if ok else ("error", at)

    first_at, first_ok = event(primary, 0.0)
    if first_at < HEDGE_AFTER:
        return ("primary", first_at) if first_ok else backup_alone(first_at)
    second_at, second_ok = event(backup, HEDGE_AFTER)
    racers = sorted([(first_at, first_ok, "primary"), (second_at, second_ok, "backup")])
    (early_at, early_ok, early), (late_at, late_ok, late) = racers
    if early_ok:
        return early, early_at
    if late_ok:
        return late, late_at
    return ("error", late_at) if late == "backup" else backup_alone(late_at)


# Delays on two offset grids, so that no two events ever fall on the same instant.
routes_primary = st.tuples(st.booleans(), st.integers(0, 14).map(lambda i: i / 10 + 0.03))
routes_backup = st.tuples(st.booleans(), st.integers(0, 14).map(lambda i: i / 10 + 0.06))


@settings(max_examples=60)
@given(primary=routes_primary, backup=routes_backup, backend=st.sampled_from(["asyncio", "trio"]))
def test_any_race_agrees_with_the_reference_model(
    primary: tuple[bool, float], backup: tuple[bool, float], backend: str
) -> None:
    """Generated racers (answer or fail, at any time): the same winner at the same virtual
    instant as the model, and every stream closed."""
    import looptime
    import trio.testing

    options: dict[str, Any] = (
        {"loop_factory": looptime.new_event_loop}
        if backend == "asyncio"
        else {"clock": trio.testing.MockClock(autojump_threshold=0)}
    )
    factories = [
        ScriptedFactory(racer(*primary, "primary")),
        ScriptedFactory(racer(*backup, "backup")),
    ]

    async def play() -> tuple[str, float]:
        start = anyio.current_time()
        result = await l0.run(
            stream=factories[0],
            fallbacks=[factories[1]],
            hedge_after=HEDGE_AFTER * 1000,
            retry=l0.Retry(max_retries=0),
            timeout=l0.Timeout(initial_token=FIRST_TOKEN * 1000),
        )
        try:
            text = await result.read()
        except l0.Error:
            text = "error"
        return text, anyio.current_time() - start

    text, took = anyio.run(play, backend=backend, backend_options=options)
    expected, at = reference_race(primary, backup)
    assert text == expected
    assert took == pytest.approx(at, abs=1e-6)
    assert all(factory.all_closed for factory in factories)
