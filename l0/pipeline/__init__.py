"""Pipelines: multi-step streaming workflows where each step receives the previous step's
output, each step's stream runs with l0's reliability, and the run's lifecycle is the
declared pipeline machine (`l0/machine/declarations/pipeline.toml`).

    types.py        PipelineStep, PipelineOptions, StepContext, StepResult, PipelineResult
    run_options.py  the l0.run options a step (or a pool operation) passes to its stream
    core.py         one run's model of the pipeline machine: bookkeeping, no I/O
    driver.py       runs the user's code step by step under the pipeline's deadline
    pipeline.py     pipe, Pipeline, create_pipeline, step builders, chain and parallel
    presets.py      FAST_PIPELINE, RELIABLE_PIPELINE, PRODUCTION_PIPELINE
"""

from __future__ import annotations

from l0.pipeline.pipeline import (
    Pipeline,
    chain_pipelines,
    create_branch_step,
    create_pipeline,
    create_step,
    parallel_pipelines,
    pipe,
)
from l0.pipeline.presets import FAST_PIPELINE, PRODUCTION_PIPELINE, RELIABLE_PIPELINE
from l0.pipeline.run_options import RunOptions
from l0.pipeline.types import (
    PipelineOptions,
    PipelineResult,
    PipelineState,
    PipelineStep,
    PipelineTransition,
    StepContext,
    StepResult,
)

__all__ = [
    "FAST_PIPELINE",
    "PRODUCTION_PIPELINE",
    "RELIABLE_PIPELINE",
    "Pipeline",
    "PipelineOptions",
    "PipelineResult",
    "PipelineState",
    "PipelineStep",
    "PipelineTransition",
    "RunOptions",
    "StepContext",
    "StepResult",
    "chain_pipelines",
    "create_branch_step",
    "create_pipeline",
    "create_step",
    "parallel_pipelines",
    "pipe",
]
