"""`structured_stream`: previews that only ever grow toward the final object, for any token
split (hypothesis); never a preview passed off as the result; retries start the previews
over; closing early closes the provider."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import BaseModel
from schema_models import MODELS, valid_documents

import l0
from l0.structured_output import (
    StructuredOutputError,
    StructuredPartial,
    StructuredResult,
    structured_stream,
)
from l0.testing import Script, ScriptedFactory

pytestmark = pytest.mark.anyio


class Profile(BaseModel):
    name: str
    age: int
    tags: list[str] = []


GOOD = '{"name": "Ada Lovelace", "age": 36, "tags": ["math", "poetry"]}'


def is_prefix(part: Any, whole: Any) -> bool:
    """`part` is the front of `whole`: objects have the first members (in order), arrays the
    first items, all equal except the last, which is itself a prefix."""
    if isinstance(whole, dict):
        if not isinstance(part, dict):
            return False
        keys = list(part)
        if keys != list(whole)[: len(keys)]:
            return False
        if any(part[key] != whole[key] for key in keys[:-1]):
            return False
        return not keys or is_prefix(part[keys[-1]], whole[keys[-1]])
    if isinstance(whole, list):
        if not isinstance(part, list) or len(part) > len(whole):
            return False
        if not part:
            return True
        last = len(part) - 1
        return part[:last] == whole[:last] and is_prefix(part[last], whole[last])
    if isinstance(whole, str) and isinstance(part, str):
        return whole.startswith(part)
    return bool(part == whole)


async def collect(
    factory: Any, schema: Any = Profile, **options: Any
) -> list[StructuredPartial | StructuredResult[Any]]:
    result = await structured_stream(schema, factory, **options)
    return [item async for item in result]


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_previews_are_a_growing_prefix_of_the_final_object_for_any_token_split(
    model: type[BaseModel], data: st.DataObject
) -> None:
    document = data.draw(valid_documents(model))
    ascii_only, indent = data.draw(st.booleans()), data.draw(st.sampled_from([None, 1]))
    text = json.dumps(document, ensure_ascii=ascii_only, indent=indent)
    chunks = split(text, data.draw(st.lists(st.integers(0, 10_000), max_size=40)))

    items = await collect(ScriptedFactory(Script(chunks=chunks)), model)

    *previews, final = items
    assert isinstance(final, StructuredResult) and final.is_final
    assert final.data == model.model_validate(document)
    assert all(isinstance(p, StructuredPartial) and not p.is_final for p in previews)
    values = [p.value for p in previews if isinstance(p, StructuredPartial)]
    assert all(is_prefix(value, document) for value in values)
    assert all(is_prefix(a, b) for a, b in itertools.pairwise(values))
    assert values and values[-1] == document  # the closing brace is always read at once
    assert final.telemetry.partials == len(values)


async def test_a_retry_starts_the_previews_over_with_the_new_attempt_number() -> None:
    """A network drop mid-object: the runtime RESETs and the previews begin again."""
    factory = ScriptedFactory(Script.tokens(GOOD, size=3, fail_at=12), Script.tokens(GOOD, size=3))

    items = await collect(factory, retry=l0.Retry(base_delay=0.01))

    *previews, final = items
    assert isinstance(final, StructuredResult) and final.attempts == 2
    by_attempt: dict[int, list[Any]] = {}
    for preview in previews:
        assert isinstance(preview, StructuredPartial)
        by_attempt.setdefault(preview.attempt, []).append(preview.value)
    assert sorted(by_attempt) == [1, 2]
    assert [p.attempt for p in previews if isinstance(p, StructuredPartial)] == sorted(
        p.attempt for p in previews if isinstance(p, StructuredPartial)
    )
    # attempt 1 broke after 36 characters: '{"name": "Ada Lovelace", "age": 36,'
    assert by_attempt[1][-1] == {"name": "Ada Lovelace", "age": 36}
    assert by_attempt[2][0] == {}  # the second attempt's previews start from nothing
    assert by_attempt[2][-1] == json.loads(GOOD)
    assert factory.all_closed


async def test_a_truncated_attempt_previews_then_is_refused_and_retried() -> None:
    factory = ScriptedFactory(Script.tokens(GOOD[:30], size=4), Script.tokens(GOOD, size=4))
    result = await structured_stream(Profile, factory, retry=l0.Retry(base_delay=0.01))

    items = [item async for item in result]

    assert isinstance(items[-1], StructuredResult)
    assert items[-1].data == Profile.model_validate_json(GOOD)
    attempts = {item.attempt for item in items[:-1] if isinstance(item, StructuredPartial)}
    assert attempts == {1, 2}
    assert [f.attempt for f in result.structured_state.failures] == [1]
    assert result.structured_state.partial == json.loads(GOOD)


async def test_values_that_contradict_the_schema_are_never_previewed() -> None:
    factory = ScriptedFactory(Script.tokens('{"name": 12345, "age": 36}', size=3))
    result = await structured_stream(Profile, factory, retry=l0.Retry(attempts=0))
    previews: list[Any] = []

    with pytest.raises(StructuredOutputError) as caught:
        async for item in result:
            previews.append(item)

    assert all(isinstance(p, StructuredPartial) and "name" not in p.value for p in previews)
    assert caught.value.failures[0].error.errors[0].path == ("name",)


async def test_pending_strings_are_previewed_only_when_asked_and_flagged() -> None:
    text = '{"name": "Ada Lovelace", "age": 36}'
    plain = await collect(ScriptedFactory(Script.tokens(text, size=2)))
    growing = await collect(
        ScriptedFactory(Script.tokens(text, size=2)), include_pending_string=True
    )

    names = [p.value.get("name") for p in plain if isinstance(p, StructuredPartial)]
    assert set(names) <= {None, "Ada Lovelace"}
    pending = [p for p in growing if isinstance(p, StructuredPartial) and p.pending_string]
    assert pending and all("Ada Lovelace".startswith(p.value["name"]) for p in pending)
    assert any(p.value["name"] != "Ada Lovelace" for p in pending)


async def test_without_auto_correct_repaired_text_is_not_previewed() -> None:
    text = "{'name': 'Ada', 'age': 36}"
    corrected = await collect(ScriptedFactory(Script.tokens(text, size=3)))
    assert any(isinstance(p, StructuredPartial) and p.value.get("name") for p in corrected)

    strict = await structured_stream(
        Profile,
        ScriptedFactory(Script.tokens(text, size=3)),
        auto_correct=False,
        retry=l0.Retry(attempts=0),
    )
    seen: list[Any] = []
    with pytest.raises(StructuredOutputError):
        async for item in strict:
            seen.append(item)
    assert all(isinstance(p, StructuredPartial) and p.value == {} for p in seen)


async def test_result_skips_to_the_end_and_can_be_asked_again() -> None:
    stream = await structured_stream(Profile, ScriptedFactory(Script.tokens(GOOD, size=5)))
    first = await stream.result()
    assert first.data.age == 36
    assert await stream.result() is first
    assert stream.state.completed


async def test_leaving_early_closes_the_provider_stream() -> None:
    factory = ScriptedFactory(Script.tokens(GOOD, size=2))
    async with await structured_stream(Profile, factory) as stream:
        async for item in stream:
            assert isinstance(item, StructuredPartial)
            break
    assert factory.all_closed and not stream.state.completed
    with pytest.raises(l0.Error) as caught:
        await stream.result()
    assert caught.value.code is l0.ErrorCode.STREAM_CONSUMED


async def test_closing_before_reading_closes_a_stream_given_as_is() -> None:
    single = ScriptedFactory(Script.tokens(GOOD))()
    stream = await structured_stream(Profile, single)
    await stream.aclose()
    assert single.closed
    assert [item async for item in stream] == []


async def test_abort_stops_the_run() -> None:
    stream = await structured_stream(Profile, ScriptedFactory(Script.tokens(GOOD, size=2)))
    with pytest.raises(l0.Error) as caught:
        async for _item in stream:
            stream.abort()
    assert caught.value.code is l0.ErrorCode.STREAM_ABORTED


async def test_the_json_schema_path_streams_the_same_way() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    factory = ScriptedFactory(Script.tokens('{"name": "Ada", "age": 36}', size=3))
    items = await collect(factory, schema)
    *previews, final = items
    assert isinstance(final, StructuredResult) and final.data == {"name": "Ada", "age": 36}
    values = [p.value for p in previews if isinstance(p, StructuredPartial)]
    assert values[0] == {} and values[-1] == final.data
    assert [issue.path for issue in previews[0].pending] == [("name",), ("age",)]  # type: ignore[union-attr]
