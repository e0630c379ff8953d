"""Pipeline presets: `PipelineOptions` to start from.

A `Pipeline` copies the options it is given, so running with a preset never changes it.
To derive one, copy it: `dataclasses.replace(PRODUCTION_PIPELINE, name="nightly")`.
"""

from __future__ import annotations

from l0.pipeline.types import PipelineOptions

FAST_PIPELINE = PipelineOptions(stop_on_error=True)
"""Fail fast: the first failed step ends the run."""

RELIABLE_PIPELINE = PipelineOptions(stop_on_error=False)
"""Graceful failures: a failed step is recorded and the next one gets the previous output."""

PRODUCTION_PIPELINE = PipelineOptions(stop_on_error=False, timeout=300.0)
"""Graceful failures, and the whole run bounded to 300 seconds."""

__all__ = ["FAST_PIPELINE", "PRODUCTION_PIPELINE", "RELIABLE_PIPELINE"]
