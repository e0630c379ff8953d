"""Auto-correction: each fault is repaired to the exact text, and reported as what it was."""

from __future__ import annotations

import pytest

import l0.errors
from l0._utils import auto_correct_json
from l0.jsonkit import JSON, AutoCorrectResult, CorrectionType, JSONParseError

C = CorrectionType

CASES: list[tuple[str, str, tuple[CorrectionType, ...], bool]] = [
    # (text, corrected, corrections in order, truncated)
    ('{"a": 1,}', '{"a": 1}', (C.TRAILING_COMMA_REMOVED,), False),
    ("[1, 2, ]", "[1, 2 ]", (C.TRAILING_COMMA_REMOVED,), False),
    ('{"a": {"b": 1}', '{"a": {"b": 1}}', (C.MISSING_BRACE_ADDED,), True),
    ("[1, 2, 3", "[1, 2, 3]", (C.MISSING_BRACKET_ADDED,), True),
    ('{"a": [1, 2}', '{"a": [1, 2]}', (C.MISSING_BRACKET_ADDED,), False),
    ('[{"a": 1]', '[{"a": 1}]', (C.MISSING_BRACE_ADDED,), False),
    ('{"a": 1}}', '{"a": 1}', (C.EXTRA_CLOSER_REMOVED,), False),
    ('{"a": 1]}', '{"a": 1}', (C.EXTRA_CLOSER_REMOVED,), False),
    ("```json\n[1]\n```", "[1]", (C.MARKDOWN_FENCE_REMOVED,), False),
    ("```\n[1]\n```", "[1]", (C.MARKDOWN_FENCE_REMOVED,), False),
    ('~~~json {"a": 1}~~~', '{"a": 1}', (C.MARKDOWN_FENCE_REMOVED,), False),
    (
        'Here it is:\n```json\n{"a": 1}\n```\nEnjoy!',
        '{"a": 1}',
        (C.MARKDOWN_FENCE_REMOVED, C.SURROUNDING_TEXT_REMOVED),
        False,
    ),
    ('Sure! {"a": 1} Hope it helps.', '{"a": 1}', (C.SURROUNDING_TEXT_REMOVED,), False),
    ("The list [see below]: [1, 2]", "[1, 2]", (C.SURROUNDING_TEXT_REMOVED,), False),
    ("{'a': 'b'}", '{"a": "b"}', (C.SINGLE_QUOTES_REPLACED,), False),
    ("{'it\\'s': 'say \"hi\"'}", '{"it\'s": "say \\"hi\\""}', (C.SINGLE_QUOTES_REPLACED,), False),
    ('{"a": 1 /* one */}', '{"a": 1  }', (C.COMMENT_REMOVED,), False),
    ('{"a": 1, // one\n"b": 2}', '{"a": 1,  \n"b": 2}', (C.COMMENT_REMOVED,), False),
    ('{"a": 1, # one\n"b": 2}', '{"a": 1,  \n"b": 2}', (C.COMMENT_REMOVED,), False),
    (
        '{"a": True, "b": False, "c": None}',
        '{"a": true, "b": false, "c": null}',
        (C.PYTHON_LITERAL_REPLACED,),
        False,
    ),
    ('{"a": "line\nbreak\t"}', '{"a": "line\\nbreak\\t"}', (C.CONTROL_CHARACTER_ESCAPED,), False),
    (
        '{"a": "hel',
        '{"a": "hel"}',
        (C.TRUNCATED_STRING_CLOSED, C.MISSING_BRACE_ADDED),
        True,
    ),
    (
        '{"a": "x\\u00',
        '{"a": "x"}',
        (C.TRUNCATED_STRING_CLOSED, C.MISSING_BRACE_ADDED),
        True,
    ),
    ('{"a": 1, "b"', '{"a": 1}', (C.INCOMPLETE_MEMBER_REMOVED, C.MISSING_BRACE_ADDED), True),
    ('{"a": 1, "b": ', '{"a": 1}', (C.INCOMPLETE_MEMBER_REMOVED, C.MISSING_BRACE_ADDED), True),
    ('{"a": 1, "b": tr', '{"a": 1}', (C.INCOMPLETE_MEMBER_REMOVED, C.MISSING_BRACE_ADDED), True),
    ('{"a": 1, "ke', '{"a": 1}', (C.INCOMPLETE_MEMBER_REMOVED, C.MISSING_BRACE_ADDED), True),
    (
        "[1, 2, -",
        "[1, 2]",
        (C.INCOMPLETE_MEMBER_REMOVED, C.MISSING_BRACKET_ADDED),
        True,
    ),
    ("[1, 2,", "[1, 2]", (C.TRAILING_COMMA_REMOVED, C.MISSING_BRACKET_ADDED), True),
    ('"abc', '"abc"', (C.TRUNCATED_STRING_CLOSED,), True),
]


@pytest.mark.parametrize(("text", "corrected", "corrections", "truncated"), CASES)
def test_each_fault_is_repaired_and_reported(
    text: str, corrected: str, corrections: tuple[CorrectionType, ...], truncated: bool
) -> None:
    result = JSON.auto_correct(text)
    assert result == AutoCorrectResult(text, corrected, corrections, truncated)
    assert result.changed
    assert JSON.is_valid(result.corrected)
    assert auto_correct_json(text) == corrected


def test_valid_json_is_returned_untouched_and_reports_nothing() -> None:
    result = JSON.auto_correct(' \n{"a": [1, {"b": "c,}"}]}\n')
    assert result.corrected == '{"a": [1, {"b": "c,}"}]}'
    assert result.corrections == ()
    assert not result.changed and not result.truncated and result.success


@pytest.mark.parametrize(
    "text",
    ['{"a": 1 "b": 2}', '{"a":}', "NaN", "{a: 1}", "[1,,2]", "tr", "just words"],
)
def test_faults_beyond_repair_fail_with_the_reason(text: str) -> None:
    result = JSON.auto_correct(text)
    assert not result.success
    assert result.error and "not valid JSON" in result.error
    with pytest.raises(JSONParseError, match="Could not correct"):
        JSON.parse(text)


def test_empty_text_fails_clearly() -> None:
    result = JSON.auto_correct("   ")
    assert not result.success and result.error == "the text is empty: there is no JSON to correct"


def test_parse_returns_the_corrected_value() -> None:
    assert JSON.parse("```json\n{'a': [1, 2,], 'b': None}\n```") == {"a": [1, 2], "b": None}


def test_parse_refuses_a_truncated_document_unless_allowed() -> None:
    """The front of a cut-off object is never presented as the whole object."""
    text = '{"name": "Ada", "tags": ["x", "y"'
    with pytest.raises(JSONParseError, match="cut off") as caught:
        JSON.parse(text)
    assert caught.value.truncated
    assert isinstance(caught.value, l0.errors.Error)
    assert caught.value.code is l0.errors.ErrorCode.INVALID_ARGUMENT
    assert JSON.parse(text, allow_truncated=True) == {"name": "Ada", "tags": ["x", "y"]}
    assert JSON.auto_correct(text).truncated


def test_parse_without_auto_correct_is_strict() -> None:
    with pytest.raises(JSONParseError, match="trailing comma") as caught:
        JSON.parse('{"a": 1,}', auto_correct=False)
    assert caught.value.position == 8


def test_parse_strict_never_repairs_and_says_where() -> None:
    assert JSON.parse_strict(' {"a": [1, 2.5, "x"]} ') == {"a": [1, 2.5, "x"]}
    with pytest.raises(JSONParseError, match="ends before the JSON does") as caught:
        JSON.parse_strict('{"a": [1, 2')
    assert caught.value.truncated
    with pytest.raises(JSONParseError, match="not valid JSON"):
        JSON.parse_strict("NaN")
    with pytest.raises(JSONParseError, match="must be a str"):
        JSON.parse_strict(b"{}")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "arguments",
    [
        '{"path": "/tmp/rep',  # cut off: repairing would target another path
        '{"ids": [1, 2',  # cut off: repairing would drop ids
        '{"a": 1,}',  # a trailing comma is still not JSON
        "{'a': 1}",
        '```json\n{"a": 1}\n```',
        "",
    ],
)
def test_tool_call_arguments_are_never_repaired(arguments: str) -> None:
    with pytest.raises(JSONParseError, match="never auto-corrected"):
        JSON.parse_tool_arguments(arguments)


def test_tool_call_arguments_must_be_an_object() -> None:
    assert JSON.parse_tool_arguments('{"city": "Paris", "days": 3}') == {"city": "Paris", "days": 3}
    with pytest.raises(JSONParseError, match="must be a JSON object, got a JSON list"):
        JSON.parse_tool_arguments("[1, 2]")


def test_is_valid() -> None:
    assert JSON.is_valid('{"a": [true, null]}')
    assert not JSON.is_valid('{"a": 1,}')
    assert not JSON.is_valid("")


@pytest.mark.parametrize(
    ("text", "extracted"),
    [
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('```JSON\n{"a": 1}\n```', '{"a": 1}'),
        ("```python\nprint(1)\n```\n```\n[1]\n```", "[1]"),
        ('```python\nx = {"a": 1}\n```', '{"a": 1}'),  # no JSON fence: found amid the text
        ('```json\n{"a": 1}', '{"a": 1}'),  # never closed
        ('Result: {"a": {"b": [1]}} (done)', '{"a": {"b": [1]}}'),
        ('Use {"x": "}"} please', '{"x": "}"}'),  # brackets inside strings
        ("no json here", "no json here"),
        ("  42  ", "42"),
    ],
)
def test_extract(text: str, extracted: str) -> None:
    assert JSON.extract(text) == extracted
