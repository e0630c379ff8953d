"""The pipeline driver: runs the user's code for each step and reports to the core.

For each step it evaluates the condition, calls `fn`, runs the stream it returns through
`l0.run` (closing it however the step ends), applies `transform` and `on_complete`, and on
failure asks the step's `on_error` for a replacement. Whatever a step's callables raise is
that step's failure (cancellation is never caught). The pipeline-level callbacks
(`on_start`, `on_progress`, `on_error`, `on_complete`) are the caller's own code: what they
raise propagates out of the run.

The whole run sits in one cancel scope bounded by `PipelineOptions.timeout`: when the
deadline passes, the running step is cancelled where it waits (its stream is closed on the
way out) and the machine records the timeout.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import anyio

from l0.errors import Error, ErrorCode, TimeoutError
from l0.pipeline.core import PipelineRun
from l0.pipeline.run_options import RunOptions, is_stream_object, read_run
from l0.pipeline.types import PipelineOptions, PipelineResult, PipelineStep, StepContext

_NOTHING: Any = object()  # on_error gave no replacement


async def settle(value: Any) -> Any:
    """`value`, awaited when it is awaitable (every callback may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


def _fire(run: PipelineRun, trigger: str, **kwargs: Any) -> None:
    run.fire(trigger, now=anyio.current_time(), epoch=time.time(), **kwargs)


async def execute(
    steps: Sequence[PipelineStep], options: PipelineOptions, input: Any
) -> PipelineResult:
    """Run `steps` on `input` under `options`; the result says how it went."""
    run = PipelineRun(steps, options, input)
    with anyio.move_on_after(options.timeout) as scope:
        _fire(run, "start")
        if options.on_start is not None:
            await settle(options.on_start(input))
        while True:
            _fire(run, "advance")
            if run.phase != "step_ready":
                break
            await _run_step(run, scope.deadline)
            if run.phase == "failed":
                break
    if scope.cancelled_caught:
        seconds = float(options.timeout or 0.0)
        error = TimeoutError(
            f"Pipeline {options.name or '(unnamed)'!s} did not finish within {seconds:g} s",
            timeout_type="total",
            timeout_seconds=seconds,
        )
        _fire(run, "time_out", error=error)
        if options.on_error is not None:
            await settle(options.on_error(error, run.index))
    result = run.result()
    if options.on_complete is not None:
        await settle(options.on_complete(result))
    return result


async def _run_step(run: PipelineRun, deadline: float) -> None:
    step, options = run.step, run.options
    ctx = run.context(deadline)
    step_input = run.output
    if options.on_progress is not None:
        await settle(options.on_progress(run.index, len(run.steps)))
    try:
        runs = step.condition is None or bool(await settle(step.condition(step_input, ctx)))
    except Exception as exc:
        await _fail(run, ctx, exc)
        return
    if not runs:
        _fire(run, "skip")
        return
    _fire(run, "begin")
    try:
        raw = await _produce(run, step, step_input, ctx)
        output = raw if step.transform is None else await settle(step.transform(raw, ctx))
        result = run.step_result("success", anyio.current_time(), output=output, raw=raw)
        if step.on_complete is not None:
            await settle(step.on_complete(result, ctx))
    except Exception as exc:
        await _fail(run, ctx, exc)
        return
    _fire(run, "succeed", result=result)


async def _produce(run: PipelineRun, step: PipelineStep, step_input: Any, ctx: StepContext) -> Any:
    """The step's raw output: the text of the stream `fn` returned, or its plain value."""
    from l0.runtime.stream import Stream

    value = await settle(step.fn(step_input, ctx))
    if isinstance(value, Stream):
        async with value:
            text = await value.read()
        return text
    if callable(value):
        return await read_run(value, _run_options(run, step))
    if is_stream_object(value):
        raise Error(
            f"Step {step.name!r} returned an open stream ({type(value).__name__}); return a "
            "factory instead (`lambda: client.chat.completions.create(...)`) so that l0 can "
            "retry it",
            code=ErrorCode.INVALID_STREAM,
        )
    return value


def _run_options(run: PipelineRun, step: PipelineStep) -> RunOptions:
    """The pipeline's options, then the step's; the observability context names the step."""
    options = run.options.run_options.merge(step.run_options)
    context = {"pipeline": run.options.name, "step": step.name, "step_index": run.index}
    return options.merge(RunOptions(context={**context, **(options.context or {})}))


async def _fail(run: PipelineRun, ctx: StepContext, error: Exception) -> None:
    step, options = run.step, run.options
    replacement = _NOTHING
    if step.on_error is not None:
        try:
            value = await settle(step.on_error(error, ctx))
        except Exception as handler_error:  # the handler's own failure replaces the step's
            error = handler_error
        else:
            if value is not None:
                replacement = value
    if replacement is not _NOTHING:
        _fire(run, "recover", output=replacement, error=error)
        return
    _fire(run, "fail", error=error)
    if options.on_error is not None:
        await settle(options.on_error(error, run.index))


__all__ = ["execute", "settle"]
