"""The pipeline core: one run's model of the pipeline machine
(`l0/machine/declarations/pipeline.toml`).

The driver reports what happened (the run started, a step was skipped, succeeded, was
recovered, failed, the deadline passed) by firing the declared triggers, always with `now`
on the event loop's clock; the conditions choose the edge, and the handlers keep the books:
which step is current, the step results, the output the next step receives, the errors and
the final status. Nothing here awaits or runs user code, so a run's bookkeeping can be
tested without an event loop.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from l0.machine.models import MachineModel
from l0.pipeline.types import (
    PipelineOptions,
    PipelineResult,
    PipelineState,
    PipelineStatus,
    PipelineStep,
    PipelineTransition,
    StepContext,
    StepResult,
    StepStatus,
)

if TYPE_CHECKING:
    from transitions import EventData


class PipelineRun(MachineModel):
    """One run of a pipeline (see the module docstring)."""

    machine_name: ClassVar[str] = "pipeline"
    states_by_name: ClassVar[Mapping[str, PipelineState]] = {s.value: s for s in PipelineState}

    def __init__(self, steps: Sequence[PipelineStep], options: PipelineOptions, input: Any) -> None:
        super().__init__()
        self.steps = tuple(steps)
        self.options = options
        self.input = input
        self.output: Any = input  # what the next step receives
        self.metadata = dict(options.metadata)
        self.results: list[StepResult] = []
        self.errors: list[Exception] = []
        self.error: Exception | None = None
        self.status: PipelineStatus | None = None
        self.index = -1
        self.started = 0.0
        self.ended: float | None = None
        self._step_started = 0.0

    def wall_time(self) -> float:
        """History timestamps for triggers fired without `epoch=` (the driver passes it)."""
        return time.time()

    # -- what the driver reads -----------------------------------------------------------------

    @property
    def step(self) -> PipelineStep:
        return self.steps[self.index]

    def context(self, deadline: float) -> StepContext:
        step = self.step
        return StepContext(
            step_index=self.index,
            total_steps=len(self.steps),
            step_name=step.name,
            pipeline_name=self.options.name,
            metadata=self.metadata,
            step_metadata=step.metadata,
            previous_results=tuple(self.results),
            deadline=deadline,
        )

    def step_result(
        self,
        status: StepStatus,
        now: float,
        *,
        output: Any,
        raw: Any = None,
        error: Exception | None = None,
    ) -> StepResult:
        """The current step's result as of `now` (its input is the output so far)."""
        return StepResult(
            step_name=self.step.name,
            step_index=self.index,
            status=status,
            input=self.output,
            output=output,
            raw_output=raw,
            error=error,
            duration=(now - self._step_started) * 1000.0,
        )

    def result(self) -> PipelineResult:
        assert self.status is not None and self.ended is not None, "the run has not ended"
        return PipelineResult(
            name=self.options.name,
            status=self.status,
            input=self.input,
            output=self.output,
            steps=list(self.results),
            duration=(self.ended - self.started) * 1000.0,
            error=self.error,
            errors=list(self.errors),
            metadata=self.metadata,
            history=[
                PipelineTransition(
                    PipelineState(t.from_state), PipelineState(t.to_state), t.timestamp
                )
                for t in self.history
            ],
            _machine=self,
        )

    # -- conditions ----------------------------------------------------------------------------

    def has_next_step(self, event_data: EventData) -> bool:
        return self.index + 1 < len(self.steps)

    def stop_on_error(self, event_data: EventData) -> bool:
        return self.options.stop_on_error

    # -- handlers --------------------------------------------------------------------------------

    def begin_pipeline(self, event_data: EventData) -> None:
        self.started = event_data.kwargs["now"]

    def select_step(self, event_data: EventData) -> None:
        self.index += 1
        self._step_started = event_data.kwargs["now"]

    def record_skip(self, event_data: EventData) -> None:
        self._record("skipped", event_data, output=self.output)

    def record_success(self, event_data: EventData) -> None:
        """The driver built the result (the step's `on_complete` saw it first)."""
        result: StepResult = event_data.kwargs["result"]
        self.results.append(result)
        self.output = result.output

    def record_recovery(self, event_data: EventData) -> None:
        kwargs = event_data.kwargs
        self._record("recovered", event_data, output=kwargs["output"], error=kwargs["error"])
        self.output = kwargs["output"]

    def record_failure(self, event_data: EventData) -> None:
        """The failed step is passed over: the next step receives the previous output."""
        error = event_data.kwargs["error"]
        self._record("failed", event_data, output=self.output, error=error)
        self.errors.append(error)

    def stop_pipeline(self, event_data: EventData) -> None:
        self.record_failure(event_data)
        self.error = event_data.kwargs["error"]
        self._end("error", event_data)

    def complete_pipeline(self, event_data: EventData) -> None:
        self._end("partial" if self.errors else "success", event_data)

    def record_timeout(self, event_data: EventData) -> None:
        """The step that was under way when the deadline passed failed with the timeout."""
        error = event_data.kwargs["error"]
        source = event_data.transition.source if event_data.transition else None
        if source in ("step_ready", "step_running"):
            self._record("failed", event_data, output=self.output, error=error)
        self.errors.append(error)
        self.error = error
        self._end("timeout", event_data)

    def _record(
        self,
        status: StepStatus,
        event_data: EventData,
        *,
        output: Any,
        error: Exception | None = None,
    ) -> None:
        self.results.append(
            self.step_result(status, event_data.kwargs["now"], output=output, error=error)
        )

    def _end(self, status: PipelineStatus, event_data: EventData) -> None:
        self.status = status
        self.ended = event_data.kwargs["now"]


__all__ = ["PipelineRun"]
