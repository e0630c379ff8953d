"""Reusable pipelines and clones, presets left untouched, chains, parallel pipelines."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import l0
from l0.pipeline import (
    FAST_PIPELINE,
    PRODUCTION_PIPELINE,
    Pipeline,
    PipelineOptions,
    PipelineResult,
    PipelineStep,
    StepContext,
    chain_pipelines,
    create_branch_step,
    create_pipeline,
    create_step,
    parallel_pipelines,
)
from tests.pipeline._fakes import Gauge

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


def appender(suffix: str) -> PipelineStep:
    return create_step(suffix, lambda value, ctx: value + suffix)


def failing(name: str) -> PipelineStep:
    def fail(value: Any, ctx: StepContext) -> Any:
        raise ValueError(f"{name} failed")

    return create_step(name, fail)


async def test_a_clone_changes_without_touching_the_original() -> None:
    """clone(): options, metadata, steps list and each step's fields are the clone's own."""
    original = create_pipeline(
        [PipelineStep(name="a", fn=lambda v, c: v, metadata={"k": 1})],
        PipelineOptions(name="orig", stop_on_error=True, metadata={"team": "x"}),
    )
    clone = original.clone()
    clone.options.stop_on_error = False
    clone.options.metadata["team"] = "y"
    clone.options.run_options = l0.RunOptions(retry=l0.Retry(attempts=0))
    clone.steps[0].metadata["k"] = 2
    clone.steps[0].name = "renamed"
    clone.steps.append(appender("!"))
    assert original.options.stop_on_error is True
    assert original.options.metadata == {"team": "x"}
    assert original.options.run_options == l0.RunOptions()
    assert [(s.name, s.metadata) for s in original.steps] == [("a", {"k": 1})]
    assert (await original.run("v")).output == "v"
    assert (await clone.run("v")).output == "v!"


async def test_a_pipeline_never_changes_the_options_it_was_given() -> None:
    """Presets (and any options object) are copied: changing a pipeline's options leaves them."""
    pipeline = create_pipeline([appender("a")], PRODUCTION_PIPELINE)
    pipeline.options.timeout = 1.0
    pipeline.options.metadata["x"] = 1
    assert PRODUCTION_PIPELINE.timeout == 300.0 and PRODUCTION_PIPELINE.metadata == {}
    tuned = dataclasses.replace(FAST_PIPELINE, name="fast")
    assert (tuned.name, tuned.stop_on_error, FAST_PIPELINE.name) == ("fast", True, None)


async def test_a_pipeline_runs_the_steps_it_has_now() -> None:
    """Steps appended to a pipeline's list are run by its next run."""
    pipeline = Pipeline([appender("a")])
    assert (await pipeline.run("")).output == "a"
    pipeline.steps.append(appender("b"))
    assert (await pipeline.run("")).output == "ab"
    assert repr(pipeline) == "Pipeline(name=None, steps=[a, b])"


async def test_branch_conditions_may_be_async_and_see_the_context() -> None:
    """create_branch_step: the condition gets (input, ctx) and may be awaited."""

    async def is_english(text: str, ctx: StepContext) -> bool:
        return ctx.metadata.get("language") == "en"

    branch = create_branch_step(
        "route",
        is_english,
        if_true=lambda text, ctx: text,
        if_false=lambda text, ctx: f"translated({text})",
        transform=lambda text, ctx: text.upper(),
    )
    en = await create_pipeline([branch], PipelineOptions(metadata={"language": "en"})).run("hi")
    fr = await create_pipeline([branch], PipelineOptions(metadata={"language": "fr"})).run("hi")
    assert (en.output, fr.output) == ("HI", "TRANSLATED(HI)")


def test_branch_step_parts_must_be_callable() -> None:
    """A missing branch is refused when the step is built."""
    with pytest.raises(l0.Error, match="if_false must be callable"):
        create_branch_step("route", lambda v, c: True, lambda v, c: v, None)  # type: ignore[arg-type]


async def test_a_chain_stops_at_a_failed_link_with_its_error() -> None:
    """A link whose run ends in "error" fails the chain at that link, with that error."""
    first = create_pipeline([appender("1")], PipelineOptions(name="first"))
    broken = create_pipeline([failing("inner")], PipelineOptions(name="broken"))
    last = create_pipeline([appender("3")], PipelineOptions(name="last"))
    result = await chain_pipelines(first, broken, last).run("")
    assert result.status == "error" and result.name == "first -> broken -> last"
    assert [(s.step_name, s.status) for s in result.steps] == [
        ("first", "success"),
        ("broken", "failed"),
    ]
    assert str(result.error) == "inner failed" and result.output == "1"


async def test_a_link_that_passes_over_failures_keeps_the_chain_going() -> None:
    """A link with stop_on_error=False ends "partial": its output goes on down the chain."""
    lenient = create_pipeline(
        [appender("1"), failing("bad"), appender("2")], PipelineOptions(stop_on_error=False)
    )
    result = await chain_pipelines(lenient, create_pipeline([appender("3")])).run("")
    assert result.status == "success" and result.output == "123"
    assert [s.step_name for s in result.steps] == ["pipeline_0", "pipeline_1"]


async def test_a_chain_keeps_its_links_as_they_were() -> None:
    """Pipelines are copied when chained: changing them afterwards changes nothing."""
    link = create_pipeline([appender("a")])
    chain = chain_pipelines(link, options=PipelineOptions(name="mine"))
    link.steps.append(appender("b"))
    result = await chain.run("")
    assert (result.output, result.name) == ("a", "mine")


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: chain_pipelines(), "at least one pipeline"),
        (lambda: chain_pipelines("p"), "argument 0 must be an l0.Pipeline"),  # type: ignore[arg-type]
    ],
)
def test_chain_arguments_are_checked(call: Any, fragment: str) -> None:
    """chain_pipelines refuses nothing-to-chain and non-pipelines."""
    with pytest.raises(l0.Error, match=fragment):
        call()


def streaming_pipeline(gauge: Gauge, name: str) -> Pipeline:
    return create_pipeline(
        [PipelineStep(name=name, fn=lambda text, ctx: gauge.stream(f"{name} of {text}"))],
        PipelineOptions(name=name),
    )


async def test_parallel_pipelines_run_at_once_and_return_results_in_order() -> None:
    """Without combine: the results, in the pipelines' order; all streams were open at once."""
    gauge = Gauge()
    pipelines = [streaming_pipeline(gauge, name) for name in ("one", "two", "three")]
    results = await parallel_pipelines(pipelines, "doc")
    assert [r.output for r in results] == ["one of doc ", "two of doc ", "three of doc "]
    assert all(isinstance(r, PipelineResult) for r in results)
    assert gauge.peak == 3 and gauge.open == 0


async def test_parallel_pipelines_respect_a_concurrency_limit() -> None:
    """concurrency=1 runs them one at a time, in order."""
    gauge = Gauge()
    pipelines = [streaming_pipeline(gauge, name) for name in ("one", "two", "three")]
    await parallel_pipelines(pipelines, "doc", concurrency=1)
    assert gauge.peak == 1
    assert gauge.started == ["one of doc", "two of doc", "three of doc"]


async def test_one_failing_pipeline_does_not_cancel_the_others() -> None:
    """A failure is in that pipeline's result; the others finish."""
    gauge = Gauge()
    broken = create_pipeline([failing("bad")])
    results = await parallel_pipelines([broken, streaming_pipeline(gauge, "ok")], "doc")
    assert [r.status for r in results] == ["error", "success"]
    assert results[1].output == "ok of doc "


async def test_an_async_combine_is_awaited() -> None:
    """combine may be async."""

    async def combine(results: list[PipelineResult]) -> str:
        return "+".join(r.output for r in results)

    pipelines = [create_pipeline([appender("a")]), create_pipeline([appender("b")])]
    assert await parallel_pipelines(pipelines, ">", combine) == ">a+>b"


@pytest.mark.parametrize(
    ("pipelines", "options", "fragment"),
    [
        ([], {}, "at least one pipeline"),
        (["p"], {}, r"pipelines\[0\] must be an l0.Pipeline"),
        (None, {"combine": "nope"}, "combine must be callable"),
        (None, {"concurrency": 0}, "concurrency must be an int >= 1"),
    ],
)
async def test_parallel_arguments_are_checked(
    pipelines: Any, options: dict[str, Any], fragment: str
) -> None:
    """parallel_pipelines refuses bad pipelines, combine or concurrency."""
    runs = [create_pipeline([appender("a")])] if pipelines is None else pipelines
    with pytest.raises(l0.Error, match=fragment):
        await parallel_pipelines(runs, "", **options)
