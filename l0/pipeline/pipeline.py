"""Pipelines: `pipe` for one run, `Pipeline` / `create_pipeline` to keep one and run it many
times, helpers to build steps, and two ways to combine pipelines.

A `Pipeline` holds its own copy of the options it was given (so a preset passed in is never
changed through it) and the list of steps. `clone()` copies both, steps included, so the
clone can be changed freely. `chain_pipelines` makes a pipeline whose steps are whole
pipelines, each keeping its own options (stop_on_error, timeout, callbacks);
`parallel_pipelines` runs several on the same input at once and combines their results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, overload

from l0.errors import Error, ErrorCode
from l0.pipeline.driver import execute, settle
from l0.pipeline.run_options import checked_run_options
from l0.pipeline.types import (
    PipelineOptions,
    PipelineResult,
    PipelineStep,
    StepContext,
    StepFn,
    StepResult,
)
from l0.runtime.options import RunOptions

R = TypeVar("R")


def _check_steps(steps: Iterable[PipelineStep]) -> list[PipelineStep]:
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
        raise Error(
            f"steps must be a list of l0.PipelineStep, got {type(steps).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    checked = list(steps)
    for index, step in enumerate(checked):
        if not isinstance(step, PipelineStep):
            raise Error(
                f"steps[{index}] must be an l0.PipelineStep, got {type(step).__name__}; "
                "build one with PipelineStep(name=..., fn=...) or create_step(name, fn)",
                code=ErrorCode.INVALID_ARGUMENT,
            )
    return checked


def _check_options(options: PipelineOptions | None) -> PipelineOptions:
    if options is None:
        return PipelineOptions()
    if not isinstance(options, PipelineOptions):
        raise Error(
            f"options must be an l0.PipelineOptions, got {type(options).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return options.copy()


class Pipeline:
    """Steps and options, ready to run on any number of inputs (see the module docstring)."""

    def __init__(
        self, steps: Iterable[PipelineStep], options: PipelineOptions | None = None
    ) -> None:
        self.steps: list[PipelineStep] = _check_steps(steps)
        self.options: PipelineOptions = _check_options(options)

    @property
    def name(self) -> str | None:
        return self.options.name

    async def run(self, input: Any) -> PipelineResult:
        """Run every step on `input`. Step failures and the timeout are reported in the
        result (see `PipelineResult.status`), not raised."""
        return await execute(_check_steps(self.steps), self.options, input)

    def clone(self) -> Pipeline:
        """A copy whose options, steps and metadata can change without touching this one."""
        return Pipeline([step.copy() for step in self.steps], self.options)

    def __repr__(self) -> str:
        names = ", ".join(step.name for step in self.steps)
        return f"Pipeline(name={self.name!r}, steps=[{names}])"


async def pipe(
    steps: Iterable[PipelineStep], input: Any, options: PipelineOptions | None = None
) -> PipelineResult:
    """Run `steps` on `input`: each step receives the previous step's output."""
    return await Pipeline(steps, options).run(input)


def create_pipeline(
    steps: Iterable[PipelineStep], options: PipelineOptions | None = None
) -> Pipeline:
    """A reusable pipeline: `await pipeline.run(input)` as often as needed."""
    return Pipeline(steps, options)


def create_step(
    name: str,
    fn: StepFn,
    *,
    transform: Callable[[Any, StepContext], Any] | None = None,
    condition: Callable[[Any, StepContext], Any] | None = None,
    on_error: Callable[[Exception, StepContext], Any] | None = None,
    on_complete: Callable[[StepResult, StepContext], Any] | None = None,
    metadata: dict[str, Any] | None = None,
    run_options: RunOptions | Mapping[str, Any] | None = None,
) -> PipelineStep:
    """A `PipelineStep` with its name and function given positionally."""
    return PipelineStep(
        name=name,
        fn=fn,
        transform=transform,
        condition=condition,
        on_error=on_error,
        on_complete=on_complete,
        metadata={} if metadata is None else metadata,
        run_options=checked_run_options(run_options, where=f"create_step({name!r}).run_options"),
    )


def create_branch_step(
    name: str,
    condition: Callable[[Any, StepContext], Any],
    if_true: StepFn,
    if_false: StepFn,
    *,
    transform: Callable[[Any, StepContext], Any] | None = None,
    on_error: Callable[[Exception, StepContext], Any] | None = None,
    on_complete: Callable[[StepResult, StepContext], Any] | None = None,
    metadata: dict[str, Any] | None = None,
    run_options: RunOptions | Mapping[str, Any] | None = None,
) -> PipelineStep:
    """A step that runs `if_true` or `if_false` (step functions) as `condition(input, ctx)`
    says. Unlike `PipelineStep.condition`, a false condition does not skip the step."""
    for label, value in (("condition", condition), ("if_true", if_true), ("if_false", if_false)):
        if not callable(value):
            raise Error(
                f"create_branch_step({name!r}): {label} must be callable, "
                f"got {type(value).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )

    async def branch(input: Any, ctx: StepContext) -> Any:
        chosen = if_true if await settle(condition(input, ctx)) else if_false
        return await settle(chosen(input, ctx))

    return create_step(
        name,
        branch,
        transform=transform,
        on_error=on_error,
        on_complete=on_complete,
        metadata=metadata,
        run_options=run_options,
    )


def _link(pipeline: Pipeline) -> StepFn:
    async def run_link(input: Any, ctx: StepContext) -> Any:
        return (await pipeline.run(input)).unwrap()

    return run_link


def chain_pipelines(*pipelines: Pipeline, options: PipelineOptions | None = None) -> Pipeline:
    """One pipeline running `pipelines` in order, each on the previous one's output.

    Each link is one step (named after its pipeline) and keeps its own options; a link
    whose run ends with status "error" or "timeout" fails with that run's error. The chain
    stops at a failed link unless `options` say otherwise. The pipelines are copied as they
    are now: changing them later does not change the chain.
    """
    if not pipelines:
        raise Error(
            "chain_pipelines() needs at least one pipeline", code=ErrorCode.INVALID_ARGUMENT
        )
    steps = []
    for index, pipeline in enumerate(pipelines):
        if not isinstance(pipeline, Pipeline):
            raise Error(
                f"chain_pipelines(): argument {index} must be an l0.Pipeline (from "
                f"create_pipeline), got {type(pipeline).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        name = pipeline.name or f"pipeline_{index}"
        steps.append(PipelineStep(name=name, fn=_link(pipeline.clone())))
    if options is None:
        options = PipelineOptions(name=" -> ".join(step.name for step in steps))
    return Pipeline(steps, options)


@overload
async def parallel_pipelines(
    pipelines: Sequence[Pipeline],
    input: Any,
    combine: None = None,
    *,
    concurrency: int | None = None,
) -> list[PipelineResult]: ...


@overload
async def parallel_pipelines(
    pipelines: Sequence[Pipeline],
    input: Any,
    combine: Callable[[list[PipelineResult]], Awaitable[R]],
    *,
    concurrency: int | None = None,
) -> R: ...


@overload
async def parallel_pipelines(
    pipelines: Sequence[Pipeline],
    input: Any,
    combine: Callable[[list[PipelineResult]], R],
    *,
    concurrency: int | None = None,
) -> R: ...


async def parallel_pipelines(
    pipelines: Sequence[Pipeline],
    input: Any,
    combine: Callable[[list[PipelineResult]], Any] | None = None,
    *,
    concurrency: int | None = None,
) -> Any:
    """Run every pipeline on `input` at once (at most `concurrency` at a time; all of them
    by default); return `combine(results)`, or the results in order without `combine`.

    A pipeline's failed steps are in its result, so one pipeline failing never cancels
    the others.
    """
    from l0.concurrency.engine import BoundedRun
    from l0.concurrency.types import check_concurrency

    runs = list(pipelines)
    if not runs:
        raise Error(
            "parallel_pipelines() needs at least one pipeline", code=ErrorCode.INVALID_ARGUMENT
        )
    for index, pipeline in enumerate(runs):
        if not isinstance(pipeline, Pipeline):
            raise Error(
                f"parallel_pipelines(): pipelines[{index}] must be an l0.Pipeline, "
                f"got {type(pipeline).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
    if combine is not None and not callable(combine):
        raise Error(
            f"parallel_pipelines(): combine must be callable, got {type(combine).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    limit = len(runs) if concurrency is None else concurrency
    check_concurrency(limit)
    bounded = BoundedRun([partial(pipeline.run, input) for pipeline in runs])
    await bounded.run(range(len(runs)), limit)
    results: list[PipelineResult] = bounded.result().unwrap()
    return results if combine is None else await settle(combine(results))


__all__ = [
    "Pipeline",
    "chain_pipelines",
    "create_branch_step",
    "create_pipeline",
    "create_step",
    "parallel_pipelines",
    "pipe",
]
