"""Deadlines against a real clock: a read may wait `inter_token` from the moment it starts
waiting, never less. These tests only bound time from below, so a slow machine cannot make
them fail."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest

import l0

pytestmark = pytest.mark.anyio

INTER = 0.2


async def test_a_stall_after_a_long_busy_burst_gets_its_full_inter_token_time() -> None:
    """Chunks that arrive together share one clock reading; the wait that follows is still
    measured from when it began."""
    waited: list[float] = []

    async def provider() -> AsyncIterator[str]:
        for i in range(50):
            time.sleep(0.01)  # busy: the loop does not turn during the burst
            yield f"t{i} "
        started = anyio.current_time()
        try:
            await anyio.sleep(30)
        finally:
            waited.append(anyio.current_time() - started)
        yield "never"

    result = await l0.run(
        stream=provider,
        timeout=l0.Timeout(inter_token=INTER * 1000),
        retry=l0.Retry(max_retries=0),
    )
    with pytest.raises(l0.TimeoutError) as caught:
        await result.read()
    assert caught.value.timeout_type == "inter_token"
    assert waited and waited[0] >= INTER * 0.99


async def test_a_busy_consumer_is_not_a_silent_provider() -> None:
    """A consumer that works (without awaiting) between events never causes a timeout."""

    async def provider() -> AsyncIterator[str]:
        for i in range(3):
            await anyio.sleep(0.01)
            yield f"t{i} "

    result = await l0.run(stream=provider, timeout=l0.Timeout(inter_token=INTER * 1000))
    async for event in result:
        if event.is_token:
            time.sleep(INTER * 1.5)  # holds the event longer than inter_token
    assert result.state.completed
    assert result.errors == []
