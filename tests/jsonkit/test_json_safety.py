"""Hostile input: deep nesting is refused with a clear error, huge input is handled in one
pass, and streaming reads are throttled so a long stream is not re-read quadratically."""

from __future__ import annotations

import json
from typing import Any

import pytest

import l0.jsonkit.strict
from l0.errors import Error, ErrorCode
from l0.jsonkit import JSON, MAX_DEPTH, CorrectionType, JSONParseError, PartialJSONParser

DEEP = "[" * 100_000
FIVE_MB = 5 * 1024 * 1024


@pytest.mark.parametrize(
    "text",
    [DEEP, DEEP + "]" * 100_000, '{"a": ' * 100_000],
    ids=["open", "balanced", "objects"],
)
def test_deep_nesting_is_refused_with_a_clear_error(text: str) -> None:
    for attempt in (JSON.auto_correct, JSON.parse, JSON.parse_strict, JSON.parse_tool_arguments):
        with pytest.raises(JSONParseError, match=f"deeper than {MAX_DEPTH} levels") as caught:
            attempt(text)
        assert caught.value.too_deep
        assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert not JSON.is_valid(text)


def test_deep_nesting_is_refused_while_repairing() -> None:
    """Not JSON at all (single quotes), so only the repairer gets deep enough to refuse."""
    text = "[{'a': " * 50_000
    for attempt in (JSON.auto_correct, JSON.parse):
        with pytest.raises(JSONParseError, match=f"deeper than {MAX_DEPTH} levels") as caught:
            attempt(text)
        assert caught.value.too_deep


def test_deep_nesting_is_refused_while_streaming() -> None:
    parser = PartialJSONParser()
    with pytest.raises(JSONParseError, match="deeper than"):
        for start in range(0, len(DEEP), 1000):
            parser.feed(DEEP[start : start + 1000])


def test_nesting_up_to_the_limit_is_accepted() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert JSON.parse_strict(text) is not None
    result = JSON.auto_correct("[" * MAX_DEPTH)  # repaired: closed at the limit
    assert result.success and result.truncated
    assert result.corrected == text


def test_huge_valid_document_is_parsed() -> None:
    value = {"items": ["x" * 100] * (FIVE_MB // 100)}
    text = json.dumps(value)
    assert len(text) > FIVE_MB
    assert JSON.parse(text) == value


def test_huge_broken_document_is_repaired() -> None:
    """2 MB of faulty JSON goes through extraction and repair (one pass each)."""
    count = 2 * 1024 * 1024 // 16
    items = ", ".join(f"'item {i:07d}'" for i in range(count))
    text = f"Here you go:\n```json\n{{'items': [{items},\n"  # single quotes, cut off
    result = JSON.auto_correct(text)
    assert result.success and result.truncated
    assert set(result.corrections) == {
        CorrectionType.MARKDOWN_FENCE_REMOVED,
        CorrectionType.SURROUNDING_TEXT_REMOVED,
        CorrectionType.SINGLE_QUOTES_REPLACED,
        CorrectionType.TRAILING_COMMA_REMOVED,
        CorrectionType.MISSING_BRACKET_ADDED,
        CorrectionType.MISSING_BRACE_ADDED,
    }
    value = JSON.parse_strict(result.corrected)
    assert value["items"] == [f"item {i:07d}" for i in range(count)]


def test_huge_string_cut_off_is_closed() -> None:
    text = '{"blob": "' + "a" * FIVE_MB
    result = JSON.auto_correct(text)
    assert result.success and result.truncated
    assert CorrectionType.TRUNCATED_STRING_CLOSED in result.corrections


def test_streaming_reads_are_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Feeding n characters re-reads the text O(log n) times, not once per token."""
    reads: list[int] = []
    real_load = l0.jsonkit.strict.load

    def counting_load(text: str, **options: Any) -> Any:
        reads.append(len(text))
        return real_load(text, **options)

    monkeypatch.setattr("l0.jsonkit.partial.load", counting_load)
    text = json.dumps({"rows": [{"id": i, "name": f"row {i}"} for i in range(20_000)]})
    parser = PartialJSONParser(growth=0.05)
    for start in range(0, len(text), 7):  # about 100k small tokens
        parser.feed(text[start : start + 7])
    final = parser.latest
    assert final is not None and final.complete
    assert final.value == json.loads(text)
    assert len(reads) < 300  # 1.05 ** 300 > 2 ** 21: geometric growth, not per token
    assert sum(reads) < 25 * len(text)  # total work stays linear in the text


def test_growth_must_be_sensible() -> None:
    with pytest.raises(Error, match="growth must be between 0 and 10"):
        PartialJSONParser(growth=-1)
