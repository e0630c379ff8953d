"""Output instructions, and cleaning/extracting/validating what a model returns."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from l0.errors import Error, ErrorCode
from l0.format import Format


def test_json_output_plain_and_with_dict_schema_and_example() -> None:
    assert Format.json_output() == "Respond with valid JSON."
    out = Format.json_output(schema={"type": "object"}, example={"a": 1})
    assert out == (
        "Respond with valid JSON.\n\nThe JSON must match this schema:\n"
        '{\n  "type": "object"\n}\n\nExample:\n{\n  "a": 1\n}'
    )


def test_structured_output_markdown_strict_does_not_forbid_fences() -> None:
    out = Format.structured_output("markdown", strict=True)
    assert out == (
        "Respond with valid Markdown only: no explanations and no text before or after it."
    )


def test_structured_output_rejects_unknown_format() -> None:
    with pytest.raises(Error) as info:
        Format.structured_output("toml")  # type: ignore[arg-type]
    assert "json, yaml, xml, csv, markdown" in info.value.message


def test_output_constraints_all_keys() -> None:
    out = Format.output_constraints(
        max_length=100,
        min_length=10,
        max_words=20,
        format="numbered_list",
        tone="formal",
        language="French",
    )
    assert out.splitlines() == [
        "Output constraints:",
        "- Keep the response under 100 characters.",
        "- Write at least 10 characters.",
        "- Use at most 20 words.",
        "- Format the response as a numbered list.",
        "- Use a formal tone.",
        "- Respond in French.",
    ]


def test_output_constraints_unknown_format_is_spelled_out_and_empty_is_empty() -> None:
    assert Format.output_constraints(format="haiku_sequence") == (
        "Output constraints:\n- Format the response as haiku sequence."
    )
    assert Format.output_constraints() == ""


def test_output_constraints_catch_typos_and_bad_values() -> None:
    with pytest.raises(Error) as info:
        Format.output_constraints({"max_lenght": 5})  # type: ignore[arg-type]
    assert "max_lenght" in info.value.message and "max_length" in info.value.message
    with pytest.raises(Error) as info:
        Format.output_constraints(max_length=0)
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Sure! Here's the JSON: {...}", "{...}"),
        ('Certainly!\n{"a": 1}', '{"a": 1}'),
        ('Here is the result:\n```json\n{"a": 1}\n```\nLet me know if you need more!', '{"a": 1}'),
        ("```\nplain\n```", "plain"),
        ("Okay, I'll do it.", "Okay, I'll do it."),  # no colon: not a lead-in
        ('Sure {"a": 1}', 'Sure {"a": 1}'),  # a lead-in never crosses a brace
        ("Intro\n```py\nx\n```\nOutro ```y```", "Intro\n```py\nx\n```\nOutro ```y```"),
        ("  answer  ", "answer"),
    ],
)
def test_clean_output(raw: str, cleaned: str) -> None:
    assert Format.clean_output(raw) == cleaned


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('```json\n{"a": [1, 2]}\n```', '{"a": [1, 2]}'),
        ('see [note] then [1, 2] and {"b": 2}', "[1, 2]"),
        ('{"s": "}{"} tail', '{"s": "}{"}'),
        ('```\nnot json\n```\n{"x": null}', '{"x": null}'),
        ("no json here", None),
        ("{broken", None),
        ("[" * 2000, None),  # nesting past the recursion limit is not a crash
    ],
)
def test_extract_json(text: str, found: str | None) -> None:
    assert Format.extract_json(text) == found


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=150)
@given(
    st.text(alphabet=st.characters(blacklist_characters="{["), max_size=30),
    json_values.filter(lambda v: isinstance(v, (list, dict))),
    st.text(max_size=30),
)
def test_extract_json_finds_an_embedded_value(
    before: str, value: list[object] | dict[str, object], after: str
) -> None:
    encoded = json.dumps(value)
    found = Format.extract_json(before + encoded + after)
    assert found is not None and json.loads(found) == value


def test_validate_json_reports_where() -> None:
    ok, error = Format.validate_json('{"a": }')
    assert not ok and error == "Expecting value: line 1 column 7 (char 6)"
    assert Format.validate_json("[" * 100_000)[0] is False
