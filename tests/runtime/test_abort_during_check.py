"""abort() while a large guardrail check runs in a worker thread (real clock: the check is a
real thread). Before: the check's result cleared the run's attention, the abort was lost and
the run read on to a normal end."""

from __future__ import annotations

import threading

import anyio
import anyio.to_thread
import pytest

import l0
from l0.errors import ErrorCode
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = pytest.mark.anyio


async def test_an_abort_during_an_off_loop_check_ends_the_run() -> None:
    """The check in the worker thread is held until abort() was called; when it returns,
    the run ends as aborted: STREAM_ABORTED, the provider closed, no token after it."""
    started, release = threading.Event(), threading.Event()

    def slow_check(state: l0.State) -> list[l0.GuardrailViolation]:
        if state.content_length > 12_000 and not started.is_set():
            started.set()
            release.wait(30)
        return []

    rule = l0.GuardrailRule(name="slow", check=slow_check)  # a plain rule: runs off-loop
    factory = ScriptedFactory(Script.tokens("x" * 20_000, size=100))
    result = await l0.run(stream=factory, guardrails=[rule], check_interval=1)
    delivered: list[int] = []

    async def consume() -> None:
        with pytest.raises(l0.Error) as caught:
            async for event in result:
                if event.is_token:
                    delivered.append(len(event.text or ""))
        assert caught.value.code is ErrorCode.STREAM_ABORTED

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            await anyio.to_thread.run_sync(started.wait, 30)
            at_abort = sum(delivered)
            result.abort()
            release.set()
    assert result.state.aborted and not result.state.completed
    assert sum(delivered) == at_abort < 20_000
    assert factory.all_closed
