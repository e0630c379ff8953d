"""Memory stays flat over 10,000 cancelled runs traced by one OpenTelemetry handler.

This module leaves the lifecycle-invariant recorder of tests/monitoring/conftest.py out
(it keeps every run's events for its checks, which is the growth this test looks for).
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

import l0
from l0.metrics import Metrics
from l0.testing.scripted import Script, ScriptedFactory
from tests.monitoring.test_span_endings import Traced, _cancelled

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants() -> None:
    """Overrides the directory's recorder: nothing is kept per run here."""


@pytest.fixture(autouse=True)
def _fresh_metrics() -> None:
    Metrics.reset_global()


async def test_memory_stays_flat_over_ten_thousand_cancelled_runs() -> None:
    """No run is left open in the handler after 10,000 cancelled runs, every one is
    counted, and memory does not grow with the runs (tracemalloc, over the last 1,000)."""
    traced = Traced(count_ends=False)  # one handler for every run, as an application has

    async def cancelled_runs(count: int) -> None:
        for _ in range(count):
            stream = await l0.run(
                stream=ScriptedFactory(Script.tokens("ab", stall_at=1, stall_for=60.0)),
                on_event=traced.otel,
            )
            await _cancelled(stream)  # cancelled while the provider is silent
            traced.exporter.clear()

    await cancelled_runs(9_000)
    assert traced.otel.active_runs == 0
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await cancelled_runs(1_000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert traced.otel.active_runs == 0
    assert Metrics.get_global().requests == 10_000
    assert Metrics.get_global().completions == 0
    # A leaked run holds a few kB (its open spans and the handler's record): 1,000 of them
    # would be megabytes. Flat: less than 30 bytes a run (caches, allocator noise).
    assert grown < 30_000, grown
