"""`l0.structured` over scripted streams (virtual clock): retries of truncated and invalid
output, fallbacks, the final error, the callbacks, streams given as is, configs, tool calls
and bad arguments."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from pydantic import BaseModel, model_validator
from typing_extensions import assert_type

import l0
from l0.jsonkit import CorrectionType
from l0.structured_output import (
    MINIMAL_STRUCTURED,
    RECOMMENDED_STRUCTURED,
    STRICT_STRUCTURED,
    AutoCorrectInfo,
    JSONSchemaValidationError,
    StructuredConfig,
    StructuredOutputError,
    structured,
)
from l0.testing import Script, ScriptedFactory
from l0.types import Event, EventType

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Profile(BaseModel):
    name: str
    age: int
    tags: list[str] = []


GOOD = '{"name": "Ada", "age": 36, "tags": ["math", "poetry"]}'
FAST = l0.Retry(attempts=2, base_delay=0.5)


def kinds(error: JSONSchemaValidationError) -> list[str]:
    return [issue.kind for issue in error.errors]


# -- truncation and retries ---------------------------------------------------------------


async def test_a_stream_cut_mid_object_is_retried_and_the_final_object_is_complete() -> None:
    """An attempt whose text ends mid-object is refused as truncated (never balanced into a
    smaller object) and retried; the object accepted is the complete one."""
    factory = ScriptedFactory(Script.tokens(GOOD[:30], size=4), Script.tokens(GOOD, size=4))

    result = await structured(Profile, factory, retry=FAST)

    assert result.data == Profile(name="Ada", age=36, tags=["math", "poetry"])
    assert result.raw == GOOD
    assert result.attempts == 2
    [failure] = result.failures
    assert failure.attempt == 1 and failure.raw == GOOD[:30]
    assert kinds(failure.error) == ["json_truncated"]
    assert "incomplete" in failure.error.errors[0].message
    assert factory.calls == 2 and factory.all_closed


async def test_a_network_drop_mid_object_is_retried_and_its_text_discarded() -> None:
    """The runtime retries a dropped stream; only the retry's text is validated."""
    factory = ScriptedFactory(Script.tokens(GOOD, size=5, fail_at=4), Script.tokens(GOOD, size=5))

    result = await structured(Profile, factory, retry=FAST)

    assert result.data.tags == ["math", "poetry"]
    assert result.state.content == GOOD
    assert result.telemetry.network_retries == 1
    assert result.telemetry.validation_attempts == 1
    assert result.attempts == 2 and result.failures == ()
    assert factory.all_closed


async def test_validation_failure_retries_then_falls_back_then_raises_with_everything() -> None:
    """Invalid output is retried within `Retry.attempts`, then the fallback is tried (and
    retried), then an l0.Error carries every attempt's validation error and text."""
    primary = ScriptedFactory(Script.tokens('{"name": "Ada", "age": "old"}', size=6))
    backup = ScriptedFactory(Script.tokens("I cannot answer that.", size=6))
    reported: list[tuple[int, list[str]]] = []

    with pytest.raises(StructuredOutputError) as caught:
        await structured(
            schema=Profile,
            stream=primary,
            fallbacks=[backup],
            retry=l0.Retry(attempts=1, base_delay=0.5),
            on_validation_error=lambda error, attempt: reported.append(
                (attempt, [detail["type"] for detail in error.errors()])
            ),
        )

    error = caught.value
    assert isinstance(error, l0.Error) and error.code is l0.ErrorCode.GUARDRAIL_VIOLATION
    assert [f.attempt for f in error.failures] == [1, 2, 3, 4]
    assert [f.raw for f in error.failures] == [
        '{"name": "Ada", "age": "old"}',
        '{"name": "Ada", "age": "old"}',
        "I cannot answer that.",
        "I cannot answer that.",
    ]
    assert [kinds(e) for e in error.validation_errors] == [
        ["int_parsing"],
        ["int_parsing"],
        ["json_invalid"],
        ["json_invalid"],
    ]
    assert error.validation_errors[0].errors[0].path == ("age",)
    assert error.raw == "I cannot answer that."
    assert reported == [
        (1, ["int_parsing"]),
        (2, ["int_parsing"]),
        (3, ["json_invalid"]),
        (4, ["json_invalid"]),
    ]
    cause = error.__cause__
    assert isinstance(cause, l0.Error) and [v.rule for v in cause.violations] == ["schema"]
    assert error.context.fallback_index == 1
    assert (primary.calls, backup.calls) == (2, 2)
    assert primary.all_closed and backup.all_closed


async def test_the_fallback_answers_after_the_primary_exhausts_its_retries() -> None:
    primary = ScriptedFactory(Script.tokens('{"name": "Ada"}'))
    backup = ScriptedFactory(Script.tokens(GOOD, size=8))

    result = await structured(Profile, primary, fallbacks=[backup], retry=FAST)

    assert result.data.age == 36
    assert result.attempts == 4
    assert result.telemetry.fallback_index == 1
    assert result.telemetry.validation_failures == 3
    assert [kinds(f.error) for f in result.failures] == [["missing"]] * 3


async def test_a_retry_filter_without_guardrail_violations_leaves_validation_unretried() -> None:
    """Validation failures are retried as GUARDRAIL_VIOLATION failures: a `retry_on` list
    that leaves them out means no validation retry."""
    factory = ScriptedFactory(Script.tokens("nope"), Script.tokens(GOOD))
    retry = l0.Retry(retry_on=[l0.RetryableErrorType.NETWORK_ERROR])

    with pytest.raises(StructuredOutputError):
        await structured(Profile, factory, retry=retry)
    assert factory.calls == 1


async def test_output_nested_too_deep_is_refused_without_a_recursion_error() -> None:
    deep = "[" * 5000 + "]" * 5000
    factory = ScriptedFactory(Script(chunks=[deep]))

    with pytest.raises(StructuredOutputError) as caught:
        await structured(Profile, factory, retry=l0.Retry(attempts=0))
    assert kinds(caught.value.validation_errors[0]) == ["json_invalid"]
    assert "nested deeper" in caught.value.validation_errors[0].errors[0].message


# -- callbacks ------------------------------------------------------------------------------


async def test_on_auto_correct_reports_every_corrected_attempt_with_its_number() -> None:
    """Attempt 1 is corrected and still invalid; attempt 2 is corrected and valid."""
    first = "```json\n{'name': 'Ada'}\n```"
    second = 'Here you go: {"name": "Ada", "age": 36,}'
    factory = ScriptedFactory(Script(chunks=[first]), Script(chunks=[second]))
    corrected: list[AutoCorrectInfo] = []
    refused: list[int] = []

    result = await structured(
        Profile,
        factory,
        retry=FAST,
        on_auto_correct=corrected.append,
        on_validation_error=lambda error, attempt: refused.append(attempt),
    )

    assert [info.attempt for info in corrected] == [1, 2]
    assert corrected[0].original == first
    assert corrected[0].corrected == '{"name": "Ada"}'
    assert set(corrected[0].corrections) == {
        CorrectionType.MARKDOWN_FENCE_REMOVED,
        CorrectionType.SINGLE_QUOTES_REPLACED,
    }
    assert corrected[1].corrections == (
        CorrectionType.SURROUNDING_TEXT_REMOVED,
        CorrectionType.TRAILING_COMMA_REMOVED,
    )
    assert refused == [1]
    assert result.corrections == corrected[1].corrections and result.corrected
    assert result.json == '{"name": "Ada", "age": 36}'
    assert result.structured_state.corrections == corrected
    assert result.telemetry.auto_corrected == 2


async def test_clean_output_calls_neither_callback() -> None:
    calls: list[object] = []
    result = await structured(
        Profile,
        ScriptedFactory(Script.tokens(GOOD + "\n")),
        on_auto_correct=calls.append,
        on_validation_error=lambda error, attempt: calls.append(error),
    )
    assert calls == [] and not result.corrected and result.corrections == ()


async def test_without_auto_correct_only_exact_json_passes() -> None:
    fenced = f"```json\n{GOOD}\n```"
    factory = ScriptedFactory(Script(chunks=[fenced]), Script(chunks=[GOOD]))
    corrected: list[AutoCorrectInfo] = []

    result = await structured(
        Profile, factory, auto_correct=False, retry=FAST, on_auto_correct=corrected.append
    )

    assert result.attempts == 2 and corrected == []
    assert kinds(result.failures[0].error) == ["json_invalid"]


async def test_without_auto_correct_a_cut_text_is_reported_as_truncated() -> None:
    factory = ScriptedFactory(Script(chunks=[GOOD[:20]]))
    with pytest.raises(StructuredOutputError) as caught:
        await structured(Profile, factory, auto_correct=False, retry=l0.Retry(attempts=0))
    assert kinds(caught.value.validation_errors[0]) == ["json_truncated"]


async def test_a_callback_that_raises_stops_the_run_with_its_own_exception() -> None:
    factory = ScriptedFactory(Script.tokens("not json"), Script.tokens(GOOD))

    def stop(error: JSONSchemaValidationError, attempt: int) -> None:
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        await structured(Profile, factory, retry=FAST, on_validation_error=stop)
    assert factory.calls == 1 and factory.all_closed


async def test_a_model_validator_that_raises_a_foreign_error_surfaces_it() -> None:
    """Pydantic turns ValueError into a validation error; anything else is a bug of the
    model and is raised as it is, without retrying."""

    class Picky(BaseModel):
        name: str

        @model_validator(mode="after")
        def explode(self) -> Picky:
            raise LookupError("validator bug")

    factory = ScriptedFactory(Script.tokens('{"name": "x"}'))
    with pytest.raises(LookupError, match="validator bug"):
        await structured(Picky, factory, retry=FAST)
    assert factory.calls == 1


async def test_an_async_callback_is_refused_and_its_coroutine_closed() -> None:
    made: list[Any] = []

    async def on_auto_correct(info: AutoCorrectInfo) -> None:
        pass

    def recording(info: AutoCorrectInfo) -> Any:
        made.append(on_auto_correct(info))
        return made[-1]

    with pytest.raises(l0.Error, match="plain \\(sync\\) functions") as caught:
        await structured(
            Profile, ScriptedFactory(Script.tokens(GOOD + ",")), on_auto_correct=recording
        )
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED


async def test_on_event_sees_the_run_and_the_schema_rule_results() -> None:
    events: list[l0.ObservabilityEvent] = []
    factory = ScriptedFactory(Script.tokens("{}"), Script.tokens(GOOD))

    await structured(Profile, factory, retry=FAST, on_event=events.append, context={"r": 1})

    results = [
        e.meta["passed"]
        for e in events
        if e.type is l0.ObservabilityEventType.GUARDRAIL_RULE_RESULT and e.meta["rule"] == "schema"
    ]
    assert results == [False, True]
    types = [e.type for e in events]
    assert types.count(l0.ObservabilityEventType.STREAM_INIT) == 2
    assert l0.ObservabilityEventType.RETRY_ATTEMPT in types
    assert all(e.context == {"r": 1} for e in events)


# -- streams given as is ---------------------------------------------------------------------


async def test_a_stream_given_as_is_is_not_retried_and_the_fallback_takes_over() -> None:
    """A single stream cannot be re-created: its failure goes straight to the fallback."""
    single = ScriptedFactory(Script.tokens('{"name": "Ada"}'))()
    backup = ScriptedFactory(Script.tokens(GOOD))

    result = await structured(Profile, single, fallbacks=[backup], retry=FAST)

    assert result.attempts == 2 and result.telemetry.model_retries == 0
    assert result.telemetry.fallback_index == 1
    assert single.closed and backup.all_closed


async def test_a_stream_given_as_is_without_fallbacks_fails_after_one_attempt() -> None:
    single = ScriptedFactory(Script.tokens("nope"))()
    with pytest.raises(StructuredOutputError) as caught:
        await structured(Profile, single, retry=FAST)
    assert len(caught.value.failures) == 1 and single.closed


async def test_the_users_should_retry_still_decides_for_factories() -> None:
    asked: list[int] = []

    def should_retry(error: BaseException, state: l0.State, attempt: int, category: Any) -> bool:
        asked.append(attempt)
        return False

    factory = ScriptedFactory(Script.tokens("nope"), Script.tokens(GOOD))
    single = ScriptedFactory(Script.tokens("nope"))()
    with pytest.raises(StructuredOutputError):
        await structured(
            Profile,
            factory,
            fallbacks=[single],
            retry=l0.Retry(attempts=2, base_delay=0.5, should_retry=should_retry),
        )
    assert asked == [0]  # asked for the factory; never for the stream given as is
    assert factory.calls == 1


async def test_unused_fallback_streams_are_closed() -> None:
    """Streams given as fallbacks that were never needed are closed (a coroutine too, so
    it never warns that it was not awaited)."""

    async def opened() -> Any:
        return ScriptedFactory(Script.tokens(GOOD))()

    spare = ScriptedFactory(Script.tokens(GOOD))()
    pending = opened()

    primary = ScriptedFactory(Script.tokens(GOOD))
    result = await structured(Profile, primary, fallbacks=[spare, pending])

    assert result.data.name == "Ada"
    assert spare.closed
    assert inspect.getcoroutinestate(pending) == inspect.CORO_CLOSED


async def test_an_awaitable_stream_is_awaited_then_read() -> None:
    async def opened() -> Any:
        return ScriptedFactory(Script.tokens(GOOD, size=3))()

    result = await structured(Profile, opened())
    assert result.data.age == 36


# -- tool calls --------------------------------------------------------------------------


def tool_call(arguments: str, name: str = "profile") -> Event:
    return Event(EventType.TOOL_CALL, data={"id": "c1", "name": name, "arguments": arguments})


async def test_tool_calls_of_earlier_attempts_do_not_count() -> None:
    factory = ScriptedFactory(
        Script(chunks=[tool_call('{"name": "Ada"}')]),
        Script(chunks=[tool_call(GOOD)]),
    )
    result = await structured(Profile, factory, retry=FAST)
    assert result.data.tags == ["math", "poetry"] and result.attempts == 2


async def test_several_tool_calls_and_no_text_are_refused() -> None:
    factory = ScriptedFactory(Script(chunks=[tool_call(GOOD), tool_call(GOOD, "other")]))
    with pytest.raises(StructuredOutputError) as caught:
        await structured(Profile, factory, retry=l0.Retry(attempts=0))
    assert kinds(caught.value.validation_errors[0]) == ["tool_calls"]


async def test_text_wins_over_tool_calls() -> None:
    factory = ScriptedFactory(Script(chunks=[GOOD, tool_call('{"name": "Bob", "age": 1}')]))
    result = await structured(Profile, factory)
    assert result.data.name == "Ada"


# -- configs -----------------------------------------------------------------------------


async def test_the_strict_preset_refuses_what_the_default_accepts() -> None:
    """STRICT_STRUCTURED: exact JSON and strict types ("36" is not an int)."""
    text = '{"name": "Ada", "age": "36"}'
    lax = await structured(Profile, ScriptedFactory(Script.tokens(text)))
    assert lax.data.age == 36

    factory = ScriptedFactory(Script.tokens(text))
    with pytest.raises(StructuredOutputError) as caught:
        await structured(Profile, factory, config=STRICT_STRUCTURED)
    assert kinds(caught.value.validation_errors[0]) == ["int_type"]
    assert factory.calls == 4  # STRICT_STRUCTURED retries 3 times


async def test_arguments_win_over_the_config() -> None:
    fenced = f"```json\n{GOOD}\n```"
    factory = ScriptedFactory(Script(chunks=[fenced]))
    result = await structured(Profile, factory, config=STRICT_STRUCTURED, auto_correct=True)
    assert result.corrected

    factory = ScriptedFactory(Script.tokens("nope"))
    with pytest.raises(StructuredOutputError):
        await structured(Profile, factory, config=MINIMAL_STRUCTURED, retry=l0.Retry(attempts=0))
    assert factory.calls == 1


async def test_the_minimal_preset_retries_once() -> None:
    factory = ScriptedFactory(Script.tokens("nope"))
    with pytest.raises(StructuredOutputError):
        await structured(Profile, factory, config=MINIMAL_STRUCTURED)
    assert factory.calls == 2


def test_the_defaults_are_the_recommended_preset() -> None:
    defaults = StructuredConfig()
    assert RECOMMENDED_STRUCTURED.auto_correct == defaults.auto_correct is True
    assert RECOMMENDED_STRUCTURED.strict == defaults.strict is False
    assert RECOMMENDED_STRUCTURED.retry == l0.Retry()  # what retry=None runs with


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auto_correct": "yes"}, "auto_correct must be a bool"),
        ({"retry": 3}, "retry must be an l0.Retry"),
        ({"timeout": 5}, "timeout must be an l0.Timeout"),
    ],
)
def test_a_bad_config_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(l0.Error, match=message) as caught:
        StructuredConfig(**options)
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"schema": None}, "schema is required"),
        ({"stream": 42}, "stream must be a stream"),
        ({"fallbacks": "abc"}, "fallbacks must be a list"),
        ({"fallbacks": [42]}, "fallbacks\\[0\\] must be a stream"),
        ({"retry": 3}, "retry must be an l0.Retry"),
        ({"auto_correct": 1}, "auto_correct must be a bool"),
        ({"config": {}}, "config must be an l0.StructuredConfig"),
        ({"on_validation_error": "print"}, "on_validation_error must be callable"),
        ({"schema": {"type": 12}}, "JSON Schema itself is invalid"),
        ({"schema": 42}, "Cannot validate with 42"),
    ],
)
async def test_bad_arguments_are_clear_errors(arguments: dict[str, Any], message: str) -> None:
    factory = ScriptedFactory(Script.tokens(GOOD))
    options: dict[str, Any] = {"schema": Profile, "stream": factory, **arguments}
    with pytest.raises(l0.Error, match=message) as caught:
        await structured(**options)
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert factory.calls == 0


# -- the package and the function do not share a name ------------------------------------


async def test_l0_structured_is_the_function_whatever_was_imported_first() -> None:
    """Importing the structured package never rebinds `l0.structured` (the function)."""
    import l0.structured_output.schema

    result = await l0.structured(schema=Profile, stream=ScriptedFactory(Script.tokens(GOOD)))
    assert_type(result.data, Profile)
    assert result.data == Profile.model_validate(json.loads(GOOD))
    assert l0.structured is structured
