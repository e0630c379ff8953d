"""`make demo` runs its story to the end (on a virtual clock here)."""

from __future__ import annotations

import io

import pytest

from l0.demo import ANSWER, main

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


async def test_the_demo_recovers_through_a_retry_and_a_fallback() -> None:
    """The demo's run retries a dropped stream, falls back after a silent one, and completes."""
    out = io.StringIO()
    result = await main(out)
    text = out.getvalue()
    assert result.state.content == ANSWER
    assert result.state.fallback_index == 1
    assert result.state.network_retry_count == 1
    assert "[retry 1 in 0.40s (econnreset)]" in text
    assert "[switching to fallback 1 (initial_token_timeout)]" in text
    assert "all provider streams closed=True" in text
    assert "stateDiagram-v2" in text
