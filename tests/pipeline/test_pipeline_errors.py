"""Failures (with and without stop_on_error), a step's own recovery, and the timeout."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import l0
from l0.pipeline import (
    PipelineOptions,
    PipelineStep,
    StepContext,
    create_step,
    pipe,
)
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

NO_RETRY = l0.Retry(attempts=0, max_retries=0)


class Boom(Exception):
    pass


def boom(value: Any, ctx: StepContext) -> Any:
    raise Boom(f"step {ctx.step_name} failed on {value!r}")


def three_steps(log: list[str]) -> list[PipelineStep]:
    def add(suffix: str) -> Any:
        def fn(value: str, ctx: StepContext) -> str:
            log.append(ctx.step_name)
            return value + suffix

        return fn

    return [create_step("a", add("+a")), create_step("b", boom), create_step("c", add("+c"))]


async def test_stop_on_error_stops_at_the_failed_step() -> None:
    """stop_on_error=True: later steps never run, status "error", on_error(error, index)."""
    log: list[str] = []
    reported: list[tuple[Exception, int]] = []
    options = PipelineOptions(stop_on_error=True, on_error=lambda e, i: reported.append((e, i)))
    result = await pipe(three_steps(log), "x", options)
    assert log == ["a"]
    assert result.status == "error"
    assert isinstance(result.error, Boom) and result.errors == [result.error]
    assert reported == [(result.error, 1)]
    assert [s.status for s in result.steps] == ["success", "failed"]
    assert result.steps[1].error is result.error
    assert result.output == "x+a"  # the last good output
    with pytest.raises(Boom):
        result.unwrap()


async def test_without_stop_on_error_the_next_step_gets_the_previous_output() -> None:
    """stop_on_error=False: the failure is recorded and the run goes on ("partial")."""
    log: list[str] = []
    reported: list[int] = []
    options = PipelineOptions(stop_on_error=False, on_error=lambda e, i: reported.append(i))
    result = await pipe(three_steps(log), "x", options)
    assert log == ["a", "c"]
    assert result.status == "partial"
    assert result.output == "x+a+c"
    assert [s.status for s in result.steps] == ["success", "failed", "success"]
    assert result.steps[2].input == "x+a"
    assert result.error is None and len(result.errors) == 1 and reported == [1]
    assert result.unwrap() == "x+a+c"


async def test_a_failing_stream_fails_its_step_and_is_closed() -> None:
    """A stream that breaks (no retries left) is a step failure; its stream was closed."""
    broken = ScriptedFactory(Script(chunks=["par", "tial"], fail_at=2))
    result = await pipe(
        [PipelineStep(name="llm", fn=lambda v, ctx: broken, run_options={"retry": NO_RETRY})],
        "q",
    )
    assert result.status == "error" and isinstance(result.error, Exception)
    assert broken.all_closed


async def test_step_on_error_can_supply_the_output() -> None:
    """A step's on_error returning a value recovers the step; the pipeline goes on and its
    on_error is not called."""
    reported: list[int] = []
    recovered_from: list[Exception] = []

    def fallback(error: Exception, ctx: StepContext) -> str:
        recovered_from.append(error)
        return "default summary"

    steps = [
        create_step("summarize", boom, on_error=fallback),
        create_step("format", lambda text, ctx: f"<{text}>"),
    ]
    options = PipelineOptions(on_error=lambda e, i: reported.append(i))
    result = await pipe(steps, "doc", options)
    assert result.status == "success" and result.output == "<default summary>"
    assert result.steps[0].status == "recovered"
    assert result.steps[0].error is recovered_from[0] and isinstance(recovered_from[0], Boom)
    assert reported == []


async def test_step_on_error_returning_none_lets_the_failure_stand() -> None:
    """A handler that only observes (returns None) does not recover the step."""
    seen: list[Exception] = []

    async def observe(error: Exception, ctx: StepContext) -> None:
        seen.append(error)

    result = await pipe([create_step("s", boom, on_error=observe)], "x")
    assert result.status == "error" and result.error is seen[0]


async def test_a_failing_step_handler_replaces_the_error() -> None:
    """What on_error raises becomes the step's error, chained to the original."""

    def strict(error: Exception, ctx: StepContext) -> str:
        raise ValueError("cannot recover")

    result = await pipe([create_step("s", boom, on_error=strict)], "x")
    assert isinstance(result.error, ValueError)
    assert isinstance(result.error.__context__, Boom)


@pytest.mark.parametrize("where", ["condition", "transform", "on_complete"])
async def test_a_failing_step_callable_is_the_steps_failure(where: str) -> None:
    """condition, transform and on_complete raising fail the step (recoverable by on_error)."""
    step = create_step("s", lambda v, ctx: v, on_error=lambda e, ctx: f"recovered from {e}")
    setattr(step, where, lambda *args: boom("v", args[-1]))
    result = await pipe([step], "x")
    assert result.steps[0].status == "recovered"
    assert result.output == "recovered from step s failed on 'v'"


async def test_timeout_closes_the_running_stream_and_reports_timeout() -> None:
    """A run longer than `timeout` seconds: the running step's stream is closed, the step
    failed, later steps never run, status "timeout" with an l0.TimeoutError."""
    slow = ScriptedFactory(Script.tokens("one two three four", size=4, delay=1.0))
    later: list[str] = []
    reported: list[tuple[Exception, int]] = []
    completed: list[str] = []
    options = PipelineOptions(
        timeout=2.5,
        on_error=lambda e, i: reported.append((e, i)),
        on_complete=lambda result: completed.append(result.status),
    )
    result = await pipe(
        [
            create_step("fast", lambda v, ctx: v),
            PipelineStep(name="slow", fn=lambda v, ctx: slow),
            create_step("never", lambda v, ctx: later.append(v)),
        ],
        "q",
        options,
    )
    assert result.status == "timeout"
    assert isinstance(result.error, l0.TimeoutError)
    assert result.error.code is l0.ErrorCode.TOTAL_TIMEOUT and result.error.timeout_seconds == 2.5
    assert slow.calls == 1 and slow.all_closed
    assert later == []
    assert [(s.step_name, s.status) for s in result.steps] == [
        ("fast", "success"),
        ("slow", "failed"),
    ]
    assert result.steps[1].error is result.error
    assert reported == [(result.error, 1)] and completed == ["timeout"]
    assert result.duration == pytest.approx(2500.0, abs=1.0)
    with pytest.raises(l0.TimeoutError):
        result.unwrap()


async def test_a_pipeline_within_its_timeout_completes() -> None:
    """The deadline only matters when it passes."""
    quick = ScriptedFactory(Script.tokens("done", delay=0.5))
    result = await pipe(
        [PipelineStep(name="s", fn=lambda v, c: quick)], "", PipelineOptions(timeout=10)
    )
    assert result.status == "success" and result.output == "done"


async def test_steps_can_see_and_respect_the_deadline() -> None:
    """ctx.deadline / time_remaining() / expired describe the pipeline's deadline, and
    ctx.checkpoint() lets the timeout stop work that shielded itself for a while."""
    after_checkpoint: list[bool] = []
    remaining: list[float] = []

    async def busy(value: Any, ctx: StepContext) -> str:
        remaining.append(ctx.time_remaining())
        with anyio.CancelScope(shield=True):
            await anyio.sleep(5)  # ignores the deadline, like a blocking call would
        remaining.append(ctx.time_remaining())
        after_checkpoint.append(ctx.expired)
        await ctx.checkpoint()
        after_checkpoint.append(True)  # never reached: the checkpoint raised cancellation
        return "late"

    start = anyio.current_time()
    result = await pipe([create_step("busy", busy)], "", PipelineOptions(timeout=3))
    assert result.status == "timeout"
    assert remaining == [pytest.approx(3.0, abs=1e-3), 0.0]
    assert after_checkpoint == [True]
    assert anyio.current_time() - start == pytest.approx(5.0, abs=1e-3)


async def test_no_timeout_means_an_infinite_deadline() -> None:
    """Without a timeout, ctx.time_remaining() is infinite."""
    remaining: list[float] = []
    await pipe([create_step("s", lambda v, ctx: remaining.append(ctx.time_remaining()))], "")
    assert remaining == [float("inf")]


async def test_outside_cancellation_propagates_and_closes_the_stream() -> None:
    """Cancelling the caller cancels the pipeline: nothing is swallowed, the stream closes."""
    slow = ScriptedFactory(Script.tokens("one two three", size=4, delay=1.0))
    finished = False
    with anyio.move_on_after(1.5):
        await pipe([PipelineStep(name="s", fn=lambda v, c: slow)], "")
        finished = True
    assert not finished
    assert slow.calls == 1 and slow.all_closed
