"""Drift's window measures against plain reference computations."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given, settings, strategies as st

from l0.guardrails._windows import _BANGS, _EMOJI, _EMOTICON, _SLANG, entropy, informal_markers

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
