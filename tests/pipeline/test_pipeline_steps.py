"""Steps: what fn may return, transforms, conditions, callbacks, the context, run options."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.pipeline import (
    PipelineOptions,
    PipelineStep,
    StepContext,
    StepResult,
    create_step,
    pipe,
)
from l0.testing.scripted import Script, ScriptedFactory, ScriptedStream

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

NO_RETRY = l0.Retry(attempts=0, max_retries=0)


def text_step(name: str, text: str) -> tuple[PipelineStep, ScriptedFactory]:
    factory = ScriptedFactory(Script.tokens(text, size=3))
    return PipelineStep(name=name, fn=lambda value, ctx: factory), factory


async def test_each_step_receives_the_previous_output() -> None:
    """A step's stream text is its output and the next step's input."""
    seen: list[str] = []

    def upper(text: str, ctx: StepContext) -> str:
        seen.append(text)
        return text.upper()

    first, factory = text_step("draft", "a first draft")
    result = await pipe([first, create_step("shout", upper)], "prompt")
    assert seen == ["a first draft"]
    assert result.output == "A FIRST DRAFT"
    assert [(s.step_name, s.input, s.output) for s in result.steps] == [
        ("draft", "prompt", "a first draft"),
        ("shout", "a first draft", "A FIRST DRAFT"),
    ]
    assert factory.calls == 1 and factory.all_closed


async def test_transform_shapes_what_the_next_step_receives() -> None:
    """transform(output, ctx) runs on the step's text; the result keeps both."""
    step, _ = text_step("words", "one two three")
    step.transform = lambda text, ctx: text.split()
    received: list[Any] = []
    result = await pipe([step, create_step("count", lambda words, ctx: received.append(words))], "")
    assert received == [["one", "two", "three"]]
    assert result.steps[0].raw_output == "one two three"
    assert result.steps[0].output == ["one", "two", "three"]


async def test_async_transform_and_condition_are_awaited() -> None:
    """Every callable may be async."""

    async def transform(text: str, ctx: StepContext) -> str:
        return text + "!"

    async def never(value: Any, ctx: StepContext) -> bool:
        return False

    async def fn(value: str, ctx: StepContext) -> str:
        return value + "?"

    result = await pipe(
        [
            PipelineStep(name="ask", fn=fn, transform=transform),
            PipelineStep(name="skipped", fn=fn, condition=never),
        ],
        "why",
    )
    assert result.output == "why?!"
    assert [s.status for s in result.steps] == ["success", "skipped"]


async def test_a_sync_fn_returning_a_coroutine_is_awaited() -> None:
    """`fn=lambda text, ctx: make_factory(text)` with an async make_factory works like async fn."""
    factory = ScriptedFactory(Script.tokens("from the model"))

    async def make_factory(text: str) -> ScriptedFactory:
        return factory

    result = await pipe([PipelineStep(name="s", fn=lambda text, ctx: make_factory(text))], "x")
    assert result.output == "from the model"


async def test_a_returned_l0_stream_is_read_with_its_own_options() -> None:
    """fn may return `await l0.run(...)`: here with a fallback built from the input."""
    primary = ScriptedFactory(Script(chunks=["par"], fail_at=1))
    backup = ScriptedFactory(Script.tokens("backup answer"))

    async def step(text: str, ctx: StepContext) -> l0.Stream:
        return await l0.run(stream=primary, fallbacks=[backup], retry=NO_RETRY)

    result = await pipe([PipelineStep(name="s", fn=step)], "q")
    assert result.output == "backup answer"
    assert primary.all_closed and backup.all_closed


async def test_a_returned_open_stream_fails_the_step_clearly() -> None:
    """An open stream cannot be retried: the step fails with INVALID_STREAM, saying why."""
    stream = ScriptedStream(Script.tokens("x"))
    result = await pipe([PipelineStep(name="raw", fn=lambda text, ctx: stream)], "q")
    assert result.status == "error"
    assert isinstance(result.error, l0.Error)
    assert result.error.code is l0.ErrorCode.INVALID_STREAM
    assert "return a factory" in result.error.message


async def test_plain_values_and_none_are_outputs() -> None:
    """A step that calls no model returns its output directly (None included)."""
    result = await pipe(
        [
            create_step("parse", lambda text, ctx: {"words": text.split()}),
            create_step("nothing", lambda data, ctx: None),
        ],
        "a b",
    )
    assert result.steps[0].output == {"words": ["a", "b"]}
    assert result.output is None and result.status == "success"


async def test_step_run_options_reach_l0_run() -> None:
    """A step's retry re-creates its stream after a failure; the pipeline's options are the
    default for every step and a step's options override them."""
    flaky = ScriptedFactory(Script(chunks=["lo"], fail_at=1), Script.tokens("recovered"))
    steady = ScriptedFactory(Script(chunks=["lo"], fail_at=1), Script.tokens("never"))
    result = await pipe(
        [
            PipelineStep(
                name="flaky",
                fn=lambda text, ctx: flaky,
                run_options={"retry": l0.Retry(attempts=2, base_delay=0.5)},
            ),
            PipelineStep(name="steady", fn=lambda text, ctx: steady),
        ],
        "q",
        PipelineOptions(run_options={"retry": NO_RETRY}),
    )
    assert result.steps[0].output == "recovered" and flaky.calls == 2
    assert result.steps[1].status == "failed" and steady.calls == 1  # the pipeline's: no retry
    assert flaky.all_closed and steady.all_closed


async def test_observability_events_name_the_pipeline_and_step() -> None:
    """Each step's run carries {"pipeline", "step", "step_index"} in its event context, under
    the user's own context keys."""
    events: list[l0.ObservabilityEvent] = []
    step, _ = text_step("only", "hi")
    await pipe(
        [step],
        "",
        PipelineOptions(
            name="p",
            run_options={"on_event": events.append, "context": {"tenant": "acme", "step": "x"}},
        ),
    )
    assert events
    assert events[0].context == {"pipeline": "p", "step": "x", "step_index": 0, "tenant": "acme"}


async def test_context_describes_the_step_and_the_run() -> None:
    """StepContext: indexes, names, metadata shared across steps, previous results."""
    contexts: list[StepContext] = []

    def remember(value: Any, ctx: StepContext) -> Any:
        contexts.append(ctx)
        ctx.metadata.setdefault("seen", []).append(ctx.step_name)
        return value

    steps = [
        PipelineStep(name="a", fn=remember, metadata={"role": "first"}),
        PipelineStep(name="b", fn=remember),
    ]
    options = PipelineOptions(name="ctx", metadata={"language": "fr"})
    result = await pipe(steps, 1, options)
    first, second = contexts
    assert (first.step_index, first.total_steps, first.step_name) == (0, 2, "a")
    assert first.pipeline_name == "ctx" and first.step_metadata == {"role": "first"}
    assert second.previous_results == (result.steps[0],)
    assert second.metadata is first.metadata
    assert result.metadata == {"language": "fr", "seen": ["a", "b"]}
    assert options.metadata == {"language": "fr"}  # each run works on a copy


async def test_pipeline_callbacks_in_order() -> None:
    """on_start(input), on_progress(index, total) as each step begins (skipped ones too),
    on_complete(result) once at the end."""
    log: list[Any] = []
    options = PipelineOptions(
        on_start=lambda value: log.append(("start", value)),
        on_progress=lambda index, total: log.append(("progress", index, total)),
        on_complete=lambda result: log.append(("complete", result.status, result.output)),
    )
    steps = [
        create_step("a", lambda v, ctx: v + 1),
        create_step("b", lambda v, ctx: v * 10, condition=lambda v, ctx: False),
        create_step("c", lambda v, ctx: v + 2),
    ]
    result = await pipe(steps, 1, options)
    assert result.output == 4
    assert log == [
        ("start", 1),
        ("progress", 0, 3),
        ("progress", 1, 3),
        ("progress", 2, 3),
        ("complete", "success", 4),
    ]


async def test_async_pipeline_callbacks_are_awaited() -> None:
    """Pipeline-level callbacks may be async too."""
    log: list[str] = []

    async def on_start(value: Any) -> None:
        log.append("start")

    async def on_complete(result: Any) -> None:
        log.append("complete")

    await pipe(
        [create_step("a", lambda v, ctx: v)],
        0,
        PipelineOptions(on_start=on_start, on_complete=on_complete),
    )
    assert log == ["start", "complete"]


async def test_step_on_complete_sees_the_result() -> None:
    """A step's on_complete(result, ctx) gets its StepResult before the next step runs."""
    seen: list[tuple[StepResult, str]] = []
    step = create_step(
        "double",
        lambda v, ctx: v * 2,
        on_complete=lambda result, ctx: seen.append((result, ctx.step_name)),
    )
    result = await pipe([step], 21)
    ((step_result, name),) = seen
    assert name == "double" and step_result.output == 42 and step_result.status == "success"
    assert result.steps == [step_result]


async def test_a_pipeline_callback_that_raises_propagates() -> None:
    """Bugs in the caller's pipeline-level callbacks are raised, not hidden in the result."""

    def broken(index: int, total: int) -> None:
        raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        await pipe([create_step("a", lambda v, ctx: v)], 0, PipelineOptions(on_progress=broken))


async def test_an_empty_pipeline_returns_its_input() -> None:
    """No steps: the output is the input and the run succeeded."""
    result = await pipe([], "same")
    assert (result.output, result.status, result.steps) == ("same", "success", [])


def identity(value: Any, ctx: StepContext) -> Any:
    return value


@pytest.mark.parametrize(
    ("kind", "fields", "fragment"),
    [
        (PipelineStep, {"name": "", "fn": identity}, "name must be a non-empty string"),
        (PipelineStep, {"name": "s", "fn": "nope"}, "fn must be callable"),
        (PipelineStep, {"name": "s", "fn": identity, "condition": True}, "condition must"),
        (PipelineStep, {"name": "s", "fn": identity, "metadata": []}, "metadata must be"),
        (PipelineStep, {"name": "s", "fn": identity, "run_options": {"retries": 3}}, "unknown"),
        (PipelineOptions, {"timeout": 0}, "positive number of seconds"),
        (PipelineOptions, {"timeout": float("nan")}, "positive number of seconds"),
        (PipelineOptions, {"stop_on_error": "yes"}, "True or False"),
        (PipelineOptions, {"on_error": 1}, "on_error must be callable"),
        (PipelineOptions, {"run_options": {"retry": 3}}, "retry must be an l0.Retry"),
    ],
)
def test_bad_definitions_are_refused_clearly(
    kind: type[Any], fields: dict[str, Any], fragment: str
) -> None:
    """Wrong fields raise l0.Error(INVALID_ARGUMENT) saying what is wrong."""
    with pytest.raises(l0.Error) as caught:
        kind(**fields)
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert fragment in caught.value.message


async def test_steps_must_be_pipeline_steps() -> None:
    """pipe() refuses anything but a list of PipelineStep."""
    with pytest.raises(l0.Error, match=r"steps\[0\] must be an l0.PipelineStep"):
        await pipe([lambda v, c: v], "x")  # type: ignore[list-item]
    with pytest.raises(l0.Error, match="steps must be a list"):
        await pipe("step", "x")  # type: ignore[arg-type]
