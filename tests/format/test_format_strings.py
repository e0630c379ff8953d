"""String utilities: properties (round-trips, limits, words kept) and edge cases."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from l0.errors import Error, ErrorCode
from l0.format import Format

# -- escaping -----------------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.text())
def test_unescape_inverts_escape(s: str) -> None:
    assert Format.unescape(Format.escape(s)) == s


@settings(max_examples=200)
@given(st.text())
def test_escape_output_has_no_control_characters_or_bare_quotes(s: str) -> None:
    escaped = Format.escape(s)
    assert not re.search(r"[\x00-\x1f\x7f]", escaped)
    assert re.fullmatch(r'(?:[^\\"]|\\.)*', escaped, flags=re.DOTALL)


@settings(max_examples=200)
@given(st.text())
def test_unescape_html_inverts_escape_html(s: str) -> None:
    assert Format.unescape_html(Format.escape_html(s)) == s


def test_escape_specifics() -> None:
    assert Format.escape('say "hi"\\\t\x01') == 'say \\"hi\\"\\\\\\t\\x01'
    assert Format.escape_html("a & 'b' \"c\"") == "a &amp; &#x27;b&#x27; &quot;c&quot;"


def test_unescape_reads_extra_forms_and_leaves_unknown_ones() -> None:
    assert Format.unescape("it\\'s \\u00e9 \\q \\") == "it's é \\q \\"


@settings(max_examples=100)
@given(st.text())
def test_escape_regex_matches_the_text_literally(s: str) -> None:
    assert re.fullmatch(Format.escape_regex(s), s)


# -- truncation ---------------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.text(), st.integers(min_value=0, max_value=50), st.text(max_size=5))
def test_truncate_never_exceeds_its_limit(s: str, limit: int, suffix: str) -> None:
    out = Format.truncate(s, limit, suffix=suffix)
    assert len(out) <= limit
    if len(s) <= limit:
        assert out == s


@settings(max_examples=200)
@given(st.text(), st.integers(min_value=0, max_value=50))
def test_truncate_words_never_exceeds_its_limit(s: str, limit: int) -> None:
    out = Format.truncate_words(s, limit)
    assert len(out) <= limit
    if len(s) > limit and limit >= 3:
        assert out.endswith("...") and s.startswith(out[:-3])


def test_truncate_words_cuts_at_a_boundary_or_hard_for_one_long_word() -> None:
    assert Format.truncate_words("Hello World", 10) == "Hello..."
    assert Format.truncate_words("Supercalifragilistic", 8) == "Super..."
    assert Format.truncate("Hello", 2) == "He"  # no room for the suffix: hard cut


def test_truncate_rejects_negative_limits() -> None:
    with pytest.raises(Error) as info:
        Format.truncate("x", -1)
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


# -- wrapping and padding -----------------------------------------------------------------------


@settings(max_examples=200)
@given(st.text(), st.integers(min_value=1, max_value=40))
def test_wrap_keeps_every_word(s: str, width: int) -> None:
    assert Format.wrap(s, width).split() == s.split()


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from("ab \n-")), st.integers(min_value=1, max_value=20))
def test_wrap_lines_fit_unless_a_single_word_is_too_long(s: str, width: int) -> None:
    for line in Format.wrap(s, width).split("\n"):
        assert len(line) <= width or len(line.split()) == 1


def test_wrap_keeps_existing_line_breaks() -> None:
    assert Format.wrap("one two three\n\nfour", 8) == "one two\nthree\n\nfour"


def test_pad_alignments() -> None:
    assert Format.pad("hi", 5) == "hi   "
    assert Format.pad("hi", 5, align="right", char=".") == "...hi"
    assert Format.pad("toolong", 3) == "toolong"
    with pytest.raises(Error):
        Format.pad("hi", 5, char="ab")
    with pytest.raises(Error):
        Format.pad("hi", 5, align="middle")  # type: ignore[arg-type]


# -- cleaning -----------------------------------------------------------------------------------


def test_sanitize_keeps_tabs_and_line_breaks() -> None:
    assert Format.sanitize("a\tb\r\nc\x07\x1b\x7f\x85d") == "a\tb\r\ncd"


def test_remove_ansi_handles_csi_osc_and_short_escapes() -> None:
    text = "\x1b]0;title\x07\x1b[1;32mgreen\x1b[0m \x1b[2K\x1bMdone\x9b31mx"
    assert Format.remove_ansi(text) == "green donex"
