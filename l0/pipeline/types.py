"""What a pipeline is made of and what it reports. Durations are milliseconds, the pipeline
`timeout` is seconds, as in the reference.

Every callable may be sync or async. A step's `fn(input, ctx)` returns one of:

- a stream factory (`lambda: client.chat.completions.create(...)`): run through `l0.run`
  with the step's reliability options; its text is the step's output;
- an `l0.Stream` (`await l0.run(...)` with options of its own): read; its text is the output;
- any other value: the output itself (a step that calls no model).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.lowlevel

from l0.errors import Error, ErrorCode
from l0.pipeline.run_options import checked_run_options
from l0.runtime.options import NO_OPTIONS, RunOptions

if TYPE_CHECKING:
    from l0.machine.models import MachineModel

StepFn = Callable[[Any, "StepContext"], Any]
"""(input, ctx) -> stream factory | l0.Stream | value (or an awaitable of one)."""

StepStatus = Literal["success", "skipped", "recovered", "failed"]
PipelineStatus = Literal["success", "partial", "error", "timeout"]


class PipelineState(str, Enum):
    """The states of `l0/machine/declarations/pipeline.toml`."""

    IDLE = "idle"
    RUNNING = "running"
    STEP_READY = "step_ready"
    STEP_RUNNING = "step_running"
    STEP_SKIPPED = "step_skipped"
    STEP_SUCCEEDED = "step_succeeded"
    STEP_RECOVERED = "step_recovered"
    STEP_FAILED = "step_failed"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True, slots=True)
class PipelineTransition:
    """One step of a run's walk through the pipeline machine."""

    from_state: PipelineState
    to_state: PipelineState
    timestamp: float  # Unix epoch seconds


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _check_callable(owner: str, name: str, value: object, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not callable(value):
        raise _invalid(f"{owner}.{name} must be callable, got {type(value).__name__}")


def _check_metadata(owner: str, value: object) -> None:
    if not isinstance(value, dict):
        raise _invalid(f"{owner}.metadata must be a dict, got {type(value).__name__}")


@dataclass(kw_only=True)
class PipelineStep:
    """One step. `fn(input, ctx)` makes the step's stream (see the module docstring).

    - `transform(output, ctx)`: shapes what the next step receives.
    - `condition(input, ctx)`: the step runs only when it is true; otherwise it is skipped
      and its input passes through.
    - `on_error(error, ctx)`: a value it returns (not None) replaces the failed step's
      output and the pipeline goes on; returning None lets the failure stand.
    - `on_complete(result, ctx)`: called with the `StepResult` when the step succeeds.
    - `run_options`: `l0.run` options for this step's stream (retry, timeout, fallbacks,
      guardrails, ...), over the pipeline's `run_options`.
    """

    name: str
    fn: StepFn
    transform: Callable[[Any, StepContext], Any] | None = None
    condition: Callable[[Any, StepContext], Any] | None = None
    on_error: Callable[[Exception, StepContext], Any] | None = None
    on_complete: Callable[[StepResult, StepContext], Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    run_options: RunOptions = NO_OPTIONS  # or a dict of l0.run keyword arguments

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _invalid(f"PipelineStep.name must be a non-empty string, got {self.name!r}")
        owner = f"PipelineStep {self.name!r}"
        _check_callable(owner, "fn", self.fn, required=True)
        for name in ("transform", "condition", "on_error", "on_complete"):
            _check_callable(owner, name, getattr(self, name))
        _check_metadata(owner, self.metadata)
        self.run_options = checked_run_options(self.run_options, where=f"{owner}.run_options")

    def copy(self) -> PipelineStep:
        """A copy whose metadata and run options can change without touching this step."""
        return dataclasses.replace(self, metadata=dict(self.metadata))


@dataclass(kw_only=True)
class PipelineOptions:
    """How a pipeline runs.

    - `stop_on_error`: stop at the first failed step (status "error"); otherwise record the
      failure and go on with the previous output (status "partial" at the end).
    - `timeout`: seconds for the whole run; when it passes, the running step's stream is
      closed and the result has status "timeout".
    - `on_start(input)`, `on_complete(result)` (every run, whatever its status),
      `on_error(error, step_index)` (each failed step), `on_progress(step_index, total)`
      (as each step begins).
    - `metadata`: copied into each run; `ctx.metadata` is that copy, shared by the steps.
    - `run_options`: `l0.run` options for every step's stream.
    """

    name: str | None = None
    stop_on_error: bool = True
    timeout: float | None = None
    on_start: Callable[[Any], Any] | None = None
    on_complete: Callable[[PipelineResult], Any] | None = None
    on_error: Callable[[Exception, int], Any] | None = None
    on_progress: Callable[[int, int], Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    run_options: RunOptions = NO_OPTIONS  # or a dict of l0.run keyword arguments

    def __post_init__(self) -> None:
        if self.name is not None and not isinstance(self.name, str):
            raise _invalid(f"PipelineOptions.name must be a string or None, got {self.name!r}")
        if not isinstance(self.stop_on_error, bool):
            raise _invalid(
                f"PipelineOptions.stop_on_error must be True or False, got {self.stop_on_error!r}"
            )
        timeout = self.timeout
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout < math.inf
        ):
            raise _invalid(
                f"PipelineOptions.timeout must be a positive number of seconds or None, "
                f"got {timeout!r}"
            )
        for name in ("on_start", "on_complete", "on_error", "on_progress"):
            _check_callable("PipelineOptions", name, getattr(self, name))
        _check_metadata("PipelineOptions", self.metadata)
        self.run_options = checked_run_options(
            self.run_options, where="PipelineOptions.run_options"
        )

    def copy(self) -> PipelineOptions:
        """A copy whose fields, metadata and run options can change independently."""
        return dataclasses.replace(self, metadata=dict(self.metadata))


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step did. `output` is what the next step received (after `transform`, or
    the `on_error` replacement); `raw_output` is the text or value the step produced."""

    step_name: str
    step_index: int
    status: StepStatus
    input: Any
    output: Any
    raw_output: Any = None
    error: Exception | None = None  # also set for a recovered step: what it recovered from
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step's callables know about the run.

    `metadata` is the run's metadata dict (a copy of `PipelineOptions.metadata` made when
    the run starts); steps may add to it for later steps. `deadline` is the pipeline's
    deadline on the event loop's clock (`math.inf` without a timeout).
    """

    step_index: int
    total_steps: int
    step_name: str
    pipeline_name: str | None
    metadata: dict[str, Any]
    step_metadata: Mapping[str, Any]
    previous_results: tuple[StepResult, ...]
    deadline: float = math.inf

    def time_remaining(self) -> float:
        """Seconds left before the pipeline times out (`math.inf` without a timeout)."""
        return max(0.0, self.deadline - anyio.current_time())

    @property
    def expired(self) -> bool:
        return anyio.current_time() >= self.deadline

    async def checkpoint(self) -> None:
        """Give the event loop a turn, and let the pipeline's timeout (or any other
        cancellation) stop the step here: call it now and then in long-running work."""
        await anyio.lowlevel.checkpoint()


@dataclass(frozen=True)
class PipelineResult:
    """What a pipeline run did.

    `status`: "success" (no step failed), "partial" (with `stop_on_error=False`, some steps
    failed and were passed over), "error" (stopped at a failed step), "timeout".
    `error` is what ended the run early (the failed step's exception, or an
    `l0.TimeoutError`); `errors` lists every failure that stood. `history` is the run's walk
    through the pipeline machine; `diagram()` draws it.
    """

    name: str | None
    status: PipelineStatus
    input: Any
    output: Any
    steps: list[StepResult]
    duration: float
    error: Exception | None
    errors: list[Exception]
    metadata: dict[str, Any]
    history: list[PipelineTransition]
    _machine: MachineModel | None = field(default=None, repr=False, compare=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    def unwrap(self) -> Any:
        """The output, or the error that stopped the run (status "error" or "timeout")."""
        if self.error is not None and self.status in ("error", "timeout"):
            raise self.error
        return self.output

    def diagram(self, *, full: bool = False) -> str:
        """The path this run took through the pipeline machine, as mermaid (`full=True`:
        the whole machine with the path marked)."""
        if self._machine is None:
            raise _invalid("This result has no machine history to draw")
        return self._machine.diagram(full=full)


__all__ = [
    "PipelineOptions",
    "PipelineResult",
    "PipelineState",
    "PipelineStatus",
    "PipelineStep",
    "PipelineTransition",
    "StepContext",
    "StepFn",
    "StepResult",
    "StepStatus",
]
