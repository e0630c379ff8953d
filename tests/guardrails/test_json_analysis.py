"""JsonAnalysis: incremental bracket/string structure."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from l0.guardrails.json_analysis import JsonAnalysis


def feed_in_pieces(text: str, size: int) -> JsonAnalysis:
    analysis = JsonAnalysis()
    for start in range(0, len(text), size):
        analysis.feed(text[start : start + size])
    return analysis


def test_depth_and_open_brackets_follow_the_text() -> None:
    analysis = JsonAnalysis()
    analysis.feed('{"a": [1, {"b": ')
    assert analysis.depth == 3
    assert analysis.open_brackets == "{[{"
    assert not analysis.in_string
    assert not analysis.is_balanced
    analysis.feed("2}]}")
    assert analysis.depth == 0
    assert analysis.is_balanced


def test_brackets_inside_strings_are_ignored() -> None:
    analysis = JsonAnalysis.analyze('{"text": "a } and a ] and a {"}')
    assert analysis.is_balanced
    assert analysis.error is None


def test_escaped_quotes_do_not_end_a_string() -> None:
    analysis = JsonAnalysis.analyze(r'{"q": "say \"}\" now", "b": "\\"}')
    assert analysis.is_balanced


def test_escape_split_across_pieces() -> None:
    analysis = JsonAnalysis()
    analysis.feed('{"q": "a\\')  # the backslash ends this piece
    assert analysis.in_string
    analysis.feed('"}')  # the escaped quote: still inside the string
    assert analysis.in_string
    assert analysis.depth == 1
    analysis.feed('"}')
    assert analysis.is_balanced


def test_string_state_is_visible_mid_stream() -> None:
    analysis = JsonAnalysis()
    analysis.feed('{"name": "Ada')
    assert analysis.in_string
    analysis.feed('"')
    assert not analysis.in_string


def test_unexpected_closer_is_an_error_at_once() -> None:
    analysis = JsonAnalysis.analyze('{"a": 1}}')
    assert analysis.error is not None
    assert "unexpected '}'" in analysis.error
    assert analysis.error_position == 8


def test_mismatched_closer_is_an_error() -> None:
    analysis = JsonAnalysis.analyze('{"a": [1, 2}')
    assert analysis.error is not None
    assert "expected ']'" in analysis.error
    assert analysis.error_position == 11


def test_analysis_stops_after_an_error() -> None:
    analysis = JsonAnalysis()
    analysis.feed("]")
    first = analysis.error
    analysis.feed("}}}")
    assert analysis.error == first
    assert analysis.length == 4


def test_looks_like_json_skips_leading_whitespace() -> None:
    assert JsonAnalysis.analyze("  \n [1]").looks_like_json
    assert not JsonAnalysis.analyze("Sure! {}").looks_like_json
    assert not JsonAnalysis.analyze("   ").looks_like_json
    analysis = JsonAnalysis()
    analysis.feed("  ")
    assert analysis.first_char is None
    analysis.feed(" {")
    assert analysis.first_char == "{"


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='ab{}[]"\\ ,:'),
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet='ab{}"\\'), inner, max_size=4),
        max_leaves=12,
    ),
    st.integers(1, 7),
)
def test_valid_json_is_balanced_whatever_the_split(value: object, size: int) -> None:
    text = json.dumps(value)
    analysis = feed_in_pieces(text, size)
    assert analysis.error is None
    assert analysis.is_balanced


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet='{}[]"\\ab'), st.integers(1, 5))
def test_any_split_gives_the_same_analysis(text: str, size: int) -> None:
    whole = JsonAnalysis.analyze(text)
    pieces = feed_in_pieces(text, size)
    assert (pieces.depth, pieces.open_brackets, pieces.in_string, pieces.error) == (
        whole.depth,
        whole.open_brackets,
        whole.in_string,
        whole.error,
    )
