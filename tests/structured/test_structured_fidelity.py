"""`structured` as the reference words it: `auto_correct=True` fixes what `auto_correct_json`
fixes (a missing closing brace included), and `on_validation_error` receives a Pydantic
`ValidationError` and the attempt."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel, ValidationError

import l0
from l0._utils import auto_correct_json
from l0.jsonkit import CorrectionType
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = pytest.mark.anyio
FAST = l0.Retry(attempts=2, base_delay=0.01)


class Person(BaseModel):
    name: str
    age: int


async def test_a_missing_closing_brace_is_balanced_as_auto_correct_json_does() -> None:
    """`{"name":"X","age":1` (the model forgot the brace) is accepted with auto_correct=True:
    the same object `auto_correct_json` gives, in one attempt."""
    text = '{"name":"X","age":1'
    result = await l0.structured(
        schema=Person, stream=ScriptedFactory(Script.tokens(text, size=3)), auto_correct=True
    )
    assert result.data == Person(name="X", age=1)
    assert result.data.model_dump() == json.loads(auto_correct_json(text))
    assert result.attempts == 1 and CorrectionType.MISSING_BRACE_ADDED in result.corrections


async def test_a_text_cut_inside_a_value_is_still_refused_and_retried() -> None:
    """Balancing `{"name": "Ada", "age": 3` would be fine, but `{"name": "Ad` stopped inside
    a string: accepting it would accept a different name. It is refused and retried."""
    factory = ScriptedFactory(
        Script.tokens('{"name": "Ad'), Script.tokens('{"name": "Ada", "age": 3')
    )
    result = await l0.structured(schema=Person, stream=factory, retry=FAST)
    assert result.data == Person(name="Ada", age=3) and result.attempts == 2
    assert [i.kind for i in result.failures[0].error.errors] == ["json_truncated"]


@st.composite
def objects_missing_their_closers(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A JSON object (nested objects and lists of scalars), written out, with its closing
    brackets cut off after the last complete value."""
    scalar = st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.text("ab c", max_size=4))
    value = st.recursive(
        scalar,
        lambda inner: st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(st.text("xyz", min_size=1, max_size=2), inner, min_size=1, max_size=2),
        max_leaves=6,
    )
    obj = draw(st.dictionaries(st.text("kq", min_size=1, max_size=3), value, min_size=1))
    text = json.dumps(obj)
    cut = len(text.rstrip("]}"))
    if text[cut - 1] in "[{":  # an empty container at the end: keep its opener's closer
        cut += 1
    return obj, text[:cut]


@settings(max_examples=60, deadline=None)
@given(case=objects_missing_their_closers())
def test_any_object_missing_only_its_closers_is_accepted_whole(
    case: tuple[dict[str, Any], str],
) -> None:
    """For any object whose text stops after a complete value, structured(auto_correct=True)
    accepts exactly the object `auto_correct_json` balances it into: the original."""
    obj, text = case
    assert json.loads(auto_correct_json(text)) == obj

    async def main() -> Any:
        result = await l0.structured(
            schema={"type": "object"}, stream=ScriptedFactory(Script(chunks=[text]))
        )
        return result.data

    assert anyio.run(main) == obj


async def test_on_validation_error_gets_pydantics_validation_error() -> None:
    """The callback receives `pydantic.ValidationError` (the one Pydantic raised) and the
    attempt number, for each refused attempt."""
    seen: list[tuple[int, ValidationError]] = []
    factory = ScriptedFactory(
        Script.tokens('{"name": "Ada", "age": "old"}'),
        Script.tokens("no JSON here"),
        Script.tokens('{"name": "Ada", "age": 36}'),
    )
    result = await l0.structured(
        schema=Person,
        stream=factory,
        retry=l0.Retry(attempts=3, base_delay=0.01),
        on_validation_error=lambda error, attempt: seen.append((attempt, error)),
    )
    assert result.data.age == 36
    assert [attempt for attempt, _ in seen] == [1, 2]
    assert all(isinstance(error, ValidationError) for _, error in seen)
    first, second = (error.errors(include_url=False) for _, error in seen)
    assert [(e["type"], e["loc"]) for e in first] == [("int_parsing", ("age",))]
    assert seen[0][1] is result.failures[0].error.__cause__  # Pydantic's own
    assert [e["type"] for e in second] == ["json_invalid"]
    assert second[0]["input"] == "no JSON here"


async def test_a_json_schema_dict_reports_through_a_validation_error_too() -> None:
    """With a JSON Schema dict, the callback still gets a `ValidationError`, built from the
    schema's issues (keyword as type, path as loc)."""
    seen: list[ValidationError] = []
    schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    factory = ScriptedFactory(Script.tokens('{"id": "x"}'), Script.tokens('{"id": 7}'))
    result = await l0.structured(
        schema=schema,
        stream=factory,
        retry=FAST,
        on_validation_error=lambda error, attempt: seen.append(error),
    )
    assert result.data == {"id": 7}
    [error] = seen
    assert [(e["type"], e["loc"]) for e in error.errors(include_url=False)] == [("type", ("id",))]
