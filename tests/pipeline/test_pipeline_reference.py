"""The reference's Pipeline examples, making the same calls, with a fake client whose
`chat.completions.create` streams scripted answers in place of the network."""

from __future__ import annotations

from typing import Any

import pytest

# The reference writes `l0.pipe`, `l0.PipelineStep`...: the same names, from their module.
import l0.pipeline as l0
from l0.pipeline import (
    FAST_PIPELINE,
    PRODUCTION_PIPELINE,
    RELIABLE_PIPELINE,
    PipelineOptions,
    PipelineStep,
    chain_pipelines,
    create_branch_step,
    create_pipeline,
    parallel_pipelines,
)
from tests.pipeline._fakes import FakeClient

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


def answer(prompt: str) -> str:
    """What the fake model says: the instruction's first word and the text, shortened."""
    instruction, _, text = prompt.partition(": ")
    return f"[{instruction.split()[0].lower()}] {text[:40]}"


async def test_pipe_summarize_then_refine(capsys: Any) -> None:
    """pipe(): each step's stream runs, the next step receives its text."""
    client = FakeClient(answer)
    long_document = "The quarterly report shows growth in every region. " * 20

    async def summarize_step(text: str, ctx: l0.StepContext) -> Any:
        return lambda: client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": f"Summarize: {text}"}],
            stream=True,
        )

    async def refine_step(summary: str, ctx: l0.StepContext) -> Any:
        return lambda: client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": f"Refine this summary: {summary}"}],
            stream=True,
        )

    result = await l0.pipe(
        [
            l0.PipelineStep(name="summarize", fn=summarize_step),
            l0.PipelineStep(name="refine", fn=refine_step),
        ],
        long_document,
        l0.PipelineOptions(name="summarize-refine"),
    )

    print(result.output)  # Final refined summary
    print(f"Duration: {result.duration}ms")
    print(f"Steps completed: {len(result.steps)}")

    summary = f"[summarize] {long_document[:40]}"
    assert client.prompts == [f"Summarize: {long_document}", f"Refine this summary: {summary}"]
    assert result.output == f"[refine] {summary[:40]}"
    assert result.status == "success" and result.name == "summarize-refine"
    assert [step.step_name for step in result.steps] == ["summarize", "refine"]
    # two answers of 13 chunks, each chunk and the end 0.1 s apart: milliseconds
    assert result.duration == pytest.approx(2600.0, abs=1.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == result.output and out[2] == "Steps completed: 2"
    assert out[1].startswith("Duration: ") and out[1].endswith("ms")
    assert client.all_closed


async def test_pipeline_step_and_options_defaults() -> None:
    """PipelineStep and PipelineOptions have the reference's fields and defaults."""
    step = PipelineStep(name="s", fn=lambda text, ctx: text)
    assert (step.transform, step.condition, step.on_error, step.on_complete) == (None,) * 4
    assert step.metadata == {}
    options = PipelineOptions()
    assert options.name is None and options.stop_on_error is True and options.timeout is None
    assert (options.on_start, options.on_complete, options.on_error, options.on_progress) == (
        None,
    ) * 4
    assert options.metadata == {}


async def test_reusable_pipeline_runs_many_times_and_clones() -> None:
    """create_pipeline(): run it on several documents; a clone's options are its own."""
    client = FakeClient(answer)

    def llm(instruction: str) -> Any:
        async def step(text: str, ctx: l0.StepContext) -> Any:
            return lambda: client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": f"{instruction}: {text}"}],
                stream=True,
            )

        return step

    extract_step, summarize_step = llm("Extract"), llm("Summarize")

    def format_step(text: str, ctx: l0.StepContext) -> str:
        return f"# Summary\n{text}"

    summarize_pipeline = create_pipeline(
        [
            PipelineStep(name="extract", fn=extract_step),
            PipelineStep(name="summarize", fn=summarize_step),
            PipelineStep(name="format", fn=format_step),
        ],
        PipelineOptions(name="document-summarizer"),
    )

    # Run multiple times
    result1 = await summarize_pipeline.run("first document")
    result2 = await summarize_pipeline.run("second document")
    assert result1.output == "# Summary\n[summarize] [extract] first document"
    assert result2.output == "# Summary\n[summarize] [extract] second document"

    # Clone and modify
    strict_pipeline = summarize_pipeline.clone()
    strict_pipeline.options.stop_on_error = True
    strict_pipeline.options.name = "strict"
    assert strict_pipeline.options.stop_on_error is True
    assert summarize_pipeline.options.name == "document-summarizer"
    assert [s.name for s in strict_pipeline.steps] == ["extract", "summarize", "format"]
    assert (await strict_pipeline.run("third")).output.endswith("[extract] third")


async def test_conditional_step_runs_only_when_its_condition_holds() -> None:
    """A step with a condition: translated for a French document, skipped for English."""
    translated: list[str] = []

    def translate_step(text: str, ctx: l0.StepContext) -> str:
        translated.append(text)
        return f"EN({text})"

    # Step with condition
    conditional_step = PipelineStep(
        name="translate",
        fn=translate_step,
        condition=lambda input, ctx: ctx.metadata.get("language") != "en",
    )

    french = await l0.pipe(
        [conditional_step], "bonjour", PipelineOptions(metadata={"language": "fr"})
    )
    english = await l0.pipe(
        [conditional_step], "hello", PipelineOptions(metadata={"language": "en"})
    )
    assert french.output == "EN(bonjour)" and french.steps[0].status == "success"
    assert english.output == "hello" and english.steps[0].status == "skipped"
    assert translated == ["bonjour"]


async def test_branch_step_routes_long_text_to_the_model() -> None:
    """create_branch_step(): long text is summarized by the model, short text passes through."""
    client = FakeClient(answer)

    async def summarize_step(text: str, ctx: l0.StepContext) -> Any:
        return lambda: client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": f"Summarize: {text}"}],
            stream=True,
        )

    def passthrough_step(text: str, ctx: l0.StepContext) -> str:
        return text

    branch = create_branch_step(
        "route",
        condition=lambda input, ctx: len(input) > 1000,
        if_true=summarize_step,  # Long text → summarize
        if_false=passthrough_step,  # Short text → pass through
    )

    long_text = "word " * 300
    long_result = await l0.pipe([branch], long_text)
    short_result = await l0.pipe([branch], "short text")
    assert long_result.output == f"[summarize] {long_text[:40]}"
    assert short_result.output == "short text"
    assert client.prompts == [f"Summarize: {long_text}"]  # the short text never reached it
    assert [r.steps[0].status for r in (long_result, short_result)] == ["success", "success"]


async def test_chain_and_parallel_pipelines() -> None:
    """chain_pipelines() runs pipelines in turn; parallel_pipelines() runs them on one input
    at once and combines their results."""
    client = FakeClient(answer, delay=1.0)

    def llm_pipeline(name: str, instruction: str) -> l0.Pipeline:
        async def step(text: str, ctx: l0.StepContext) -> Any:
            return lambda: client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": f"{instruction}: {text}"}],
                stream=True,
            )

        return create_pipeline([PipelineStep(name=name, fn=step)], PipelineOptions(name=name))

    extract_pipeline = llm_pipeline("extract", "Extract")
    analyze_pipeline = llm_pipeline("analyze", "Analyze")
    format_pipeline = llm_pipeline("format", "Format")

    # Chain pipelines sequentially
    full_pipeline = chain_pipelines(
        extract_pipeline,
        analyze_pipeline,
        format_pipeline,
    )
    chained = await full_pipeline.run("doc")
    assert chained.output == "[format] [analyze] [extract] doc"
    assert [s.step_name for s in chained.steps] == ["extract", "analyze", "format"]

    sentiment_pipeline = llm_pipeline("sentiment", "Sentiment")
    entity_pipeline = llm_pipeline("entities", "Entities")
    summary_pipeline = llm_pipeline("summary", "Summary")
    document = "Acme Corp had a great year"

    # Run pipelines in parallel and combine
    results = await parallel_pipelines(
        [sentiment_pipeline, entity_pipeline, summary_pipeline],
        document,
        lambda results: {
            "sentiment": results[0].output,
            "entities": results[1].output,
            "summary": results[2].output,
        },
    )
    assert results == {
        "sentiment": f"[sentiment] {document}",
        "entities": f"[entities] {document}",
        "summary": f"[summary] {document}",
    }
    assert client.all_closed


async def test_presets() -> None:
    """The presets importable from l0.pipeline have the reference's values."""
    assert FAST_PIPELINE.stop_on_error is True and FAST_PIPELINE.timeout is None
    assert RELIABLE_PIPELINE.stop_on_error is False and RELIABLE_PIPELINE.timeout is None
    assert PRODUCTION_PIPELINE.stop_on_error is False and PRODUCTION_PIPELINE.timeout == 300
