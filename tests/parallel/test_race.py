"""race() and Parallel.race: first to finish decides, the others are cancelled and cleaned up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import pytest

import l0.concurrency as lp
from l0.concurrency import Parallel
from l0.errors import Error, ErrorCode

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


async def answer(text: str, delay: float) -> str:
    await anyio.sleep(delay)
    return text


async def test_reference_example_first_model_to_respond_wins() -> None:
    """The reference's example: three models, the fastest answer is returned."""

    async def fast_but_expensive_model() -> str:
        return await answer("fast", 1)

    async def slow_but_cheap_model() -> str:
        return await answer("slow", 5)

    async def backup_model() -> str:
        return await answer("backup", 9)

    result = await lp.race(
        [
            lambda: fast_but_expensive_model(),
            lambda: slow_but_cheap_model(),
            lambda: backup_model(),
        ]
    )
    assert result == "fast"


async def test_race_result_names_the_winner() -> None:
    """Parallel.race says which task won, with its value and the time it took."""
    result = await Parallel.race([lambda: answer("a", 3), lambda: answer("b", 2)])
    assert (result.value, result.winner_index, result.duration) == ("b", 1, 2000.0)


async def test_losers_are_cancelled_and_their_cleanup_runs() -> None:
    """The losers' finally blocks and their async generators' finally ran before race returned."""
    log: list[str] = []

    async def tokens() -> AsyncIterator[str]:
        try:
            for word in ["never", "finished"]:
                await anyio.sleep(10)
                yield word
        finally:
            log.append("generator closed")

    async def streaming_loser() -> str:
        async with contextlib.aclosing(tokens()) as stream:
            return "".join([word async for word in stream])

    async def sleeping_loser() -> str:
        try:
            await anyio.sleep(100)
            log.append("loser completed")
            return "late"
        finally:
            log.append("loser cleaned up")

    winner = await lp.race([streaming_loser, sleeping_loser, lambda: answer("win", 1)])
    assert winner == "win"
    assert sorted(log) == ["generator closed", "loser cleaned up"]


async def test_if_the_first_to_finish_fails_the_race_does_not_wait() -> None:
    """The first task to finish failed: its error is raised and the others are cancelled."""
    finished: list[str] = []

    async def fails_first() -> str:
        await anyio.sleep(1)
        raise ConnectionError("model down")

    async def would_succeed() -> str:
        await anyio.sleep(2)
        finished.append("succeeded")
        return "ok"

    start = anyio.current_time()
    with pytest.raises(ConnectionError, match="model down"):
        await lp.race([fails_first, would_succeed])
    assert finished == []
    assert anyio.current_time() - start == pytest.approx(1.0)


async def test_a_loser_that_finished_in_the_same_instant_is_closed() -> None:
    """A value that lost the race but was already produced is closed (aclose), not leaked."""

    class Stream:
        def __init__(self, name: str) -> None:
            self.name = name
            self.closed = False

        async def aclose(self) -> None:
            await anyio.sleep(0)
            self.closed = True

    streams = [Stream("first"), Stream("second")]

    async def open_stream(stream: Stream) -> Stream:
        return stream  # no checkpoint: both finish in the same instant

    result = await Parallel.race([lambda s=s: open_stream(s) for s in streams])
    winner, loser = streams[result.winner_index], streams[1 - result.winner_index]
    assert result.value is winner
    assert not winner.closed and loser.closed


async def test_race_needs_at_least_one_task() -> None:
    """An empty race has no winner: a clear l0.Error."""
    with pytest.raises(Error, match="at least one task") as caught:
        await lp.race([])
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


async def test_cancelling_the_race_cancels_every_contender() -> None:
    """An outer cancel scope unwinds all contenders."""
    cleaned: list[int] = []

    async def sleeper(index: int) -> int:
        try:
            await anyio.sleep(50)
        finally:
            cleaned.append(index)
        return index

    with anyio.move_on_after(1):
        await lp.race([lambda i=i: sleeper(i) for i in range(3)])
    assert sorted(cleaned) == [0, 1, 2]
