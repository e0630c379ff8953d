"""Text normalization: each step, its options, and idempotence of the whole."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from l0.errors import Error, ErrorCode
from l0.text import UNICODE_FORMS, NormalizeOptions, Text, WhitespaceOptions


def test_default_normalize() -> None:
    raw = "\ufeff  Cafe\u0301\u200b  is\r\nopen\t\tnow  "
    assert Text.normalize(raw) == "Café is\nopen now"


def test_nfkc_folds_compatibility_characters() -> None:
    options = NormalizeOptions(unicode="NFKC")
    assert Text.normalize("ｆｕｌｌ ﬁle ①", options) == "full file 1"
    assert Text.normalize("ｆｕｌｌ", NormalizeOptions()) == "ｆｕｌｌ"  # NFC keeps them


def test_casefold_and_quotes() -> None:
    options = NormalizeOptions(casefold=True, quotes=True)
    assert Text.normalize("“Straße” ‘Ok’ «x» 5′ 6″", options) == '"strasse" \'ok\' "x" 5\' 6"'


def test_invisible_removal_keeps_joiners() -> None:
    family = "👨\u200d👩\u200d👧"
    assert Text.remove_invisible(f"a\u200bb\u2060c\ufeff{family}") == f"abc{family}"
    options = NormalizeOptions(remove_invisible=False)
    assert Text.normalize("a\u200bb", options) == "a\u200bb"


def test_line_endings() -> None:
    raw = "a\r\nb\rc\x85d\u2028e\u2029f\ng"
    assert Text.normalize_line_endings(raw) == "a\nb\nc\nd\ne\nf\ng"
    assert Text.normalize_line_endings("a\nb\r\nc", "\r\n") == "a\r\nb\r\nc"
    assert Text.normalize("a\r\nb", NormalizeOptions(line_endings=False, whitespace=None)) == (
        "a\r\nb"
    )


def test_whitespace_options() -> None:
    raw = "  a  \t b \n\n\n\n  c   \n"
    assert Text.normalize_whitespace(raw) == "a b \n\n\n\n c"
    keep_runs = WhitespaceOptions(collapse_spaces=False, trim=False)
    assert Text.normalize_whitespace(raw, keep_runs) == raw
    tidy = WhitespaceOptions(trim_lines=True, max_blank_lines=1)
    assert Text.normalize_whitespace(raw, tidy) == "a b\n\nc"
    one_line = WhitespaceOptions(newlines_to_spaces=True)
    assert Text.normalize_whitespace(raw, one_line) == "a b c"


def test_whitespace_collapse_keeps_line_breaks_and_unicode_spaces_count() -> None:
    assert Text.normalize_whitespace("a\u00a0\u2003 b\nc") == "a b\nc"


def test_normalize_unicode_forms() -> None:
    assert Text.normalize_unicode("e\u0301") == "é"
    assert Text.normalize_unicode("é", "NFD") == "e\u0301"
    with pytest.raises(Error) as info:
        Text.normalize_unicode("x", "NFX")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_ARGUMENT


def test_options_are_validated() -> None:
    with pytest.raises(Error):
        NormalizeOptions(unicode="nfc")  # type: ignore[arg-type]
    with pytest.raises(Error):
        WhitespaceOptions(max_blank_lines=-1)


whitespace_options = st.none() | st.builds(
    WhitespaceOptions,
    collapse_spaces=st.booleans(),
    newlines_to_spaces=st.booleans(),
    trim_lines=st.booleans(),
    max_blank_lines=st.none() | st.integers(min_value=0, max_value=2),
    trim=st.booleans(),
)
normalize_options = st.builds(
    NormalizeOptions,
    unicode=st.none() | st.sampled_from(UNICODE_FORMS),
    line_endings=st.booleans(),
    remove_invisible=st.booleans(),
    casefold=st.booleans(),
    quotes=st.booleans(),
    whitespace=whitespace_options,
)
# Text rich in what normalization touches: spaces of all kinds, line breaks, combining
# marks, compatibility characters, quotes, invisible characters, case.
tricky_text = (
    st.text(
        alphabet=st.sampled_from(
            list(" \t\n\r\x0b\x0c\x85\u00a0\u2003\u2028\u2029\u200b\u200d\u2060\ufeff")
            + list("aAeEßİﬁｆ①\u0301\u0307\u0327“”‘’«»′″'\"")
        )
    )
    | st.text()
)


@settings(max_examples=200)
@given(tricky_text, normalize_options)
def test_normalize_is_idempotent(text: str, options: NormalizeOptions) -> None:
    once = Text.normalize(text, options)
    assert Text.normalize(once, options) == once


@settings(max_examples=200)
@given(tricky_text, whitespace_options)
def test_normalize_whitespace_is_idempotent(text: str, options: WhitespaceOptions | None) -> None:
    once = Text.normalize_whitespace(text, options)
    assert Text.normalize_whitespace(once, options) == once
