"""The pipeline machine: the declaration matches the model, the core keeps the books without
an event loop, and a run's history is the walk it took."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.machine.engine import build_machine
from l0.machine.spec import load_spec
from l0.pipeline import PipelineOptions, PipelineState, StepContext, create_step, pipe
from l0.pipeline.core import PipelineRun
from l0.pipeline.types import PipelineResult, StepResult


def test_the_declaration_names_the_pipeline_states() -> None:
    """The pipeline declaration has exactly the PipelineState states, from idle to three ends."""
    spec = load_spec("pipeline")
    assert spec.states == tuple(state.value for state in PipelineState)
    assert spec.initial == "idle"
    assert set(spec.terminal) == {"completed", "failed", "timed_out"}
    assert "to_completed" not in build_machine("pipeline").events  # no auto transitions


def test_every_named_condition_and_handler_exists_on_the_run_model() -> None:
    """The declaration's condition and handler names are methods of PipelineRun."""
    spec = load_spec("pipeline")
    for name in (*spec.handlers, *spec.conditions, "record_transition"):
        assert callable(getattr(PipelineRun, name, None)), name


def test_advance_and_fail_choose_their_edge_by_condition() -> None:
    """advance: next step while one is left, else completed; fail: stop when asked."""
    spec = load_spec("pipeline")
    from_succeeded = [e for e in spec.edges if e.source == "step_succeeded"]
    advance = [(e.dest, e.conditions) for e in from_succeeded if e.trigger == "advance"]
    assert advance == [("step_ready", ("has_next_step",)), ("completed", ())]
    fail = [(e.dest, e.conditions) for e in spec.edges if e.trigger == "fail"]
    assert fail[:2] == [("failed", ("stop_on_error",))] * 2
    assert fail[2:] == [("step_failed", ())] * 2


def run_model(stop_on_error: bool = True, steps: int = 2) -> PipelineRun:
    pipeline_steps = [create_step(f"s{i}", lambda v, c: v) for i in range(steps)]
    return PipelineRun(pipeline_steps, PipelineOptions(stop_on_error=stop_on_error), "in")


def test_the_core_keeps_the_books_without_an_event_loop() -> None:
    """Facts in (with `now`), results and status out: no awaiting, no clock."""
    run = run_model(stop_on_error=False, steps=3)
    run.fire("start", now=10.0)
    run.fire("advance", now=10.0)
    run.fire("skip", now=10.5)
    run.fire("advance", now=10.5)
    run.fire("begin", now=10.5)
    run.fire("fail", now=11.0, error=ValueError("bad"))
    run.fire("advance", now=11.0)
    run.fire("begin", now=11.0)
    done = run.step_result("success", 13.0, output="out", raw="raw")
    run.fire("succeed", now=13.0, result=done)
    run.fire("advance", now=13.0)
    result = run.result()
    assert run.phase == "completed" and result.status == "partial"
    assert [(s.step_name, s.status, s.duration) for s in result.steps] == [
        ("s0", "skipped", 500.0),
        ("s1", "failed", 500.0),
        ("s2", "success", 2000.0),
    ]
    assert result.output == "out" and result.duration == 3000.0
    assert [type(e) for e in result.errors] == [ValueError]


def test_stop_on_error_ends_in_failed_with_the_error() -> None:
    """fail with stop_on_error: the run is over and says why."""
    run = run_model(stop_on_error=True)
    error = RuntimeError("down")
    for trigger in ("start", "advance", "begin"):
        run.fire(trigger, now=0.0)
    run.fire("fail", now=1.0, error=error)
    assert run.phase == "failed"
    result = run.result()
    assert (result.status, result.error, result.steps[0].status) == ("error", error, "failed")


def test_the_deadline_fails_the_step_under_way() -> None:
    """time_out from a running step records that step as failed with the timeout."""
    run = run_model()
    for trigger in ("start", "advance", "begin"):
        run.fire(trigger, now=0.0)
    timeout = l0.TimeoutError("late", timeout_type="total", timeout_seconds=1.0)
    run.fire("time_out", now=1.0, error=timeout)
    result = run.result()
    assert run.phase == "timed_out" and result.status == "timeout"
    assert result.steps[0].error is timeout and result.errors == [timeout]


def test_the_deadline_between_steps_fails_no_step() -> None:
    """time_out after a step settled adds no step result."""
    run = run_model()
    for trigger in ("start", "advance", "skip"):
        run.fire(trigger, now=0.0)
    timeout = l0.TimeoutError("late", timeout_type="total", timeout_seconds=1.0)
    run.fire("time_out", now=1.0, error=timeout)
    assert [s.status for s in run.result().steps] == ["skipped"]


@pytest.mark.parametrize(
    ("triggers", "illegal"),
    [((), "advance"), (("start",), "succeed"), (("start", "advance"), "succeed")],
)
def test_an_undeclared_transition_raises(triggers: tuple[str, ...], illegal: str) -> None:
    """Only declared edges exist: anything else is INVALID_TRANSITION."""
    run = run_model()
    for trigger in triggers:
        run.fire(trigger, now=0.0)
    with pytest.raises(l0.Error) as caught:
        run.fire(illegal, now=0.0, result=None)
    assert caught.value.code is l0.ErrorCode.INVALID_TRANSITION


def test_an_empty_pipeline_completes_at_once() -> None:
    """With no steps, `advance` from running goes straight to completed."""
    run = run_model(steps=0)
    run.fire("start", now=0.0)
    run.fire("advance", now=0.0)
    assert run.phase == "completed" and run.result().status == "success"


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_history_of_a_run_with_a_skipped_and_a_failed_step() -> None:
    """A real run's history is its walk: skipped, failed (passed over), succeeded, done."""

    def fail(value: Any, ctx: StepContext) -> Any:
        raise ValueError("no")

    steps = [
        create_step("first", lambda v, ctx: v + "1"),
        create_step("skipped", lambda v, ctx: v, condition=lambda v, ctx: False),
        create_step("broken", fail),
        create_step("last", lambda v, ctx: v + "4"),
    ]
    result = await pipe(steps, "", PipelineOptions(stop_on_error=False))
    walk = [(t.from_state, t.to_state) for t in result.history]
    S = PipelineState
    assert walk == [
        (S.IDLE, S.RUNNING),
        (S.RUNNING, S.STEP_READY),
        (S.STEP_READY, S.STEP_RUNNING),
        (S.STEP_RUNNING, S.STEP_SUCCEEDED),
        (S.STEP_SUCCEEDED, S.STEP_READY),
        (S.STEP_READY, S.STEP_SKIPPED),
        (S.STEP_SKIPPED, S.STEP_READY),
        (S.STEP_READY, S.STEP_RUNNING),
        (S.STEP_RUNNING, S.STEP_FAILED),
        (S.STEP_FAILED, S.STEP_READY),
        (S.STEP_READY, S.STEP_RUNNING),
        (S.STEP_RUNNING, S.STEP_SUCCEEDED),
        (S.STEP_SUCCEEDED, S.COMPLETED),
    ]
    assert result.status == "partial" and result.output == "14"
    stamps = [t.timestamp for t in result.history]
    assert stamps == sorted(stamps)
    diagram = result.diagram()
    assert "step_failed --> step_ready: advance [has_next_step] / select_step (x1)" in diagram
    assert "step_ready --> step_running: begin (x3)" in diagram
    assert "class completed current" in diagram
    visited = "class idle,running,step_ready,step_running,step_skipped,step_succeeded,step_failed"
    assert visited + " visited" in diagram  # step_recovered and the other ends: never


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_stopped_run_ends_in_failed() -> None:
    """stop_on_error: the walk ends in `failed` straight from the running step."""

    def fail(value: Any, ctx: StepContext) -> Any:
        raise ValueError("no")

    result = await pipe([create_step("broken", fail), create_step("after", lambda v, c: v)], "")
    assert [t.to_state for t in result.history][-2:] == [PipelineState.STEP_RUNNING, "failed"]


def test_a_result_built_by_hand_has_no_diagram() -> None:
    """diagram() needs the run's machine; a hand-made result says so."""
    result = PipelineResult(
        name=None,
        status="success",
        input=1,
        output=1,
        steps=[StepResult(step_name="s", step_index=0, status="success", input=1, output=1)],
        duration=0.0,
        error=None,
        errors=[],
        metadata={},
        history=[],
    )
    with pytest.raises(l0.Error, match="no machine history"):
        result.diagram()
