"""Drift's window measures against plain reference computations."""

from __future__ import annotations

import math
import re
from collections import Counter

from hypothesis import given, settings, strategies as st

from l0.guardrails._windows import (
    _BANGS,
    _EMOJI,
    _EMOTICON,
    _SLANG,
    ENTROPY_FLOOR,
    MAX_DISTINCT_BELOW_FLOOR,
    entropy,
    informal_markers,
)

pieces = st.sampled_from(
    ["lol", "lo", "l", "ha", "haha", "y'all", "y’all", "ain't", "gonna", "dude", "s", " ", "x",
     "!", "!!", ":)", ";-(", "🙂", "nah", "yup", "kinda", "omg", "w", "tf", "\n", "."]
)
texts = st.lists(pieces, max_size=60).map("".join)


@settings(max_examples=500)
@given(text=texts)
def test_informal_markers_counts_every_marker(text: str) -> None:
    """The slang pre-check never hides a match: the count is the four plain counts."""
    expected = (
        len(_SLANG.findall(text))
        + len(_BANGS.findall(text))
        + len(_EMOJI.findall(text))
        + len(_EMOTICON.findall(text))
    )
    assert informal_markers(text) == expected


@given(text=st.text(min_size=1, max_size=300))
def test_entropy_is_shannon_entropy(text: str) -> None:
    counts = Counter(text).values()
    expected = -sum(c / len(text) * math.log2(c / len(text)) for c in counts)
    assert math.isclose(entropy(text), expected, abs_tol=1e-9)


@settings(max_examples=300)
@given(
    alphabet=st.lists(st.characters(), min_size=1, max_size=MAX_DISTINCT_BELOW_FLOOR, unique=True),
    picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=400),
)
def test_a_window_with_few_distinct_characters_stays_below_the_entropy_floor(
    alphabet: list[str], picks: list[int]
) -> None:
    """What lets drift leave such windows unmeasured: entropy <= log2(distinct) < floor,
    also for every character used equally often (the most entropy there is)."""
    text = "".join(alphabet[i % len(alphabet)] for i in picks)
    assert entropy(text) < ENTROPY_FLOOR
    assert entropy("".join(alphabet) * 3) < ENTROPY_FLOOR
    assert MAX_DISTINCT_BELOW_FLOOR == 45 and math.log2(46) > ENTROPY_FLOOR


@settings(max_examples=500)
@given(
    text=st.lists(
        st.sampled_from([":", ";", "-", "(", ")", " ", "\n", "x", ":)", " :-(", "a:", "\t;"]),
        max_size=40,
    ).map("".join)
)
def test_emoticons_are_found_as_the_plain_pattern_finds_them(text: str) -> None:
    """`_EMOTICON` checks the whitespace before the colon after it (faster): same matches."""
    plain = re.compile(r"(?<=\s)[:;]-?[()](?=\s|$)")
    assert [m.span() for m in _EMOTICON.finditer(text)] == [
        m.span() for m in plain.finditer(text)
    ]
