"""A run's core holds no reference to itself, so a dropped run is freed at once.

Its token handler is a plain function chosen when a phase is entered (`RunCore.token_handler`),
not a bound method kept on the instance: a bound method would point back at the core, and
every run would then wait for the garbage collector (which costs each short run time too).
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import l0
from l0.event_bus import EventBus
from l0.runtime.core import RunCore
from l0.runtime.facts import OPENED, START, STREAM_ENDED
from l0.runtime.plan import make_plan

KINDS: dict[str, dict[str, Any]] = {
    "plain": {},
    "recommended": {"guardrails": l0.Guardrails.recommended()},
    "stall": {"guardrails": [l0.Guardrails.stall(max_gap=5.0)]},
    "drift": {"drift_detector": l0.DriftDetector()},
    "continuation": {"continue_from_last_good_token": True},
}


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants() -> None:
    """Overrides the suite's recorder of every run (it keeps each core until the test ends)."""


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def factory() -> Any:
    raise AssertionError("the core never calls factories")


@pytest.mark.usefixtures("no_collector")
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_finished_core_is_freed_without_the_garbage_collector(kind: str) -> None:
    plan = make_plan(factory, l0.RunOptions(**KINDS[kind]))
    core = RunCore(plan, now=100.0, epoch=1_700_000_000.0, bus=EventBus())
    core.handle(START, 100.0)
    core.handle(OPENED, 100.0)
    core.token("Hello", 101.0)  # at a boundary: the first token
    core.token(" there", 101.5)  # streaming
    core.handle(STREAM_ENDED, 102.0)
    content, gone = core.state.content, weakref.ref(core)
    del core
    assert content == "Hello there"
    assert gone() is None, f"a {kind} run's core is in a reference cycle"


@pytest.mark.anyio
@pytest.mark.usefixtures("no_collector")
async def test_a_finished_run_is_freed_without_the_garbage_collector() -> None:
    """The whole run (stream, core, driver) of a stall-checked stream, read to its end."""

    async def tokens() -> Any:
        for token in ("Hello", " there"):
            yield token

    stream = await l0.run(tokens, guardrails=[l0.Guardrails.stall(max_gap=5.0)])
    assert await stream.read() == "Hello there"
    gone = weakref.ref(stream._core)
    del stream
    assert gone() is None
