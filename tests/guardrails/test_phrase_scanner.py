"""The phrase scanner's pre-filter never changes what it finds.

`PhraseScanner` first searches one relaxed alternation of all the patterns (the pre-filter)
and then tries the patterns only at the positions where it matched. The reference model is
the same scanner with no pre-filter, where every remaining pattern searches the whole
window: on any text, split anywhere, scanned in any batch size, both must report the same
matches at the same moments.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.drift import _meta_patterns
from l0.guardrails._prefilter import SHORT, Prefilter, alternatives, relaxed as _relaxed
from l0.guardrails._scan import MAX_CANDIDATES, PatternSet, PhraseScanner
from l0.guardrails._user_patterns import compile_user_pattern
from l0.guardrails.content_rules import DEFAULT_PATTERNS, _default_pattern_set
from l0.types import State

# Pieces of text that make, nearly make, or break the default phrases.
FRAGMENTS = [
    "as", " an", " ai", " AI", "h", "has", " aim", "-", " researcher", "s", "z", " I'm",
    " i", " am", " just", " only", " a", " language", " model", " my", " training data",
    " knowledge cutoff", " hope", " this", " helps", " delve into", " it's", " important",
    " to note that", " feel free to ask", ".", ",", " ", "\n", "  ", "’", "'m", " can't",
    " help with that", " sorry", " but", " the", " word", "hi", "re", "en", "ali", "_", "2",
]
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)


def scan(pattern_set: PatternSet, pieces: list[str], batch: int) -> list[list[object]]:
    scanner = PhraseScanner(pattern_set, batch=batch)
    steps: list[list[object]] = [list(scanner.feed(piece)) for piece in pieces]
    steps.append(list(scanner.flush()))
    steps.append(list(scanner.finish()))
    return steps


@st.composite
def split(draw: st.DrawFn) -> list[str]:
    text = draw(texts)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300)
@given(pieces=split(), batch=st.sampled_from([1, 7, 64, 256]))
def test_the_default_phrases_are_found_as_without_the_prefilter(
    pieces: list[str], batch: int
) -> None:
    pattern_set = _default_pattern_set()
    assert pattern_set.prefilter is not None
    reference = pattern_set._replace(prefilter=None)
    assert scan(pattern_set, pieces, batch) == scan(reference, pieces, batch)


user_patterns = st.lists(
    st.sampled_from(
        [
            r"\bcat\b", r"ca", r"a", r"\d+", r"(?!cat\b)c\w", r"\bdog(?!\bs)", r"o\b", r"x?",
            r"\bcats?", r"\bdo+g", r"(?:\bca|\bdo)g\b", r"\bc(?=a)", r"(?<=\bc)at", r"\b1\d",
            r"s\b|\bsa", r"\bc{1,2}at",
        ]
    ),
    min_size=1,
    max_size=5,
    unique=True,
)
letters = st.lists(st.sampled_from(["cat", "dog", "s", " ", "a", "1", "c", "o", "x"]), max_size=80)


@settings(max_examples=300)
@given(
    patterns=user_patterns,
    words=letters,
    batch=st.sampled_from([1, 16, 256]),
    user=st.booleans(),
)
def test_any_patterns_are_found_as_without_the_prefilter(
    patterns: list[str], words: list[str], batch: int, user: bool
) -> None:
    """Including patterns that match almost everywhere (more than MAX_CANDIDATES positions)
    and ones that can match the empty string; compiled by `re`, or by `regex` with a time
    limit as a user's patterns are."""
    compile = compile_user_pattern if user else re.compile
    pattern_set = PatternSet.build(patterns, lowercase=True, max_match=40, compile=compile)
    assert pattern_set.prefilter is not None
    reference = pattern_set._replace(prefilter=None)
    text = "".join(words)
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    assert scan(pattern_set, pieces, batch) == scan(reference, pieces, batch)
    assert MAX_CANDIDATES < 80  # the texts are long enough to pass it


def test_a_word_boundary_inside_a_negative_lookahead_is_kept() -> None:
    """Relaxing `\\b` inside `(?!...)` would make the pre-filter stricter than the pattern:
    it used to skip "As an AI researcherz", which the pattern matches."""
    assert _relaxed(r"\bai(?! x\b)") == r"ai(?<!\w..)(?! x\b)"
    violations = l0.Guardrails.pattern().check(
        State(content="As an AI researcherz, I think so.", completed=True)
    )
    assert [v.context["match"] for v in violations if v.context] == ["As an AI"]
    assert re.search(_default_pattern_set().patterns[0], "as an ai researcherz")


# Patterns with leading `\b`s before literal letters (some quantified, some in groups and
# alternatives), which `_relaxed` turns into lookbehinds after the letters.
BOUNDED = [
    r"\bcat", r"\bcats?", r"\bca+t", r"\bcc{1,2}at", r"(?:\bca|\bdo)g", r"\bdo(?:g|t)\b",
    r"x|\bcat\b", r"\b1\d", r"\b_o", r"(?:a|\bo)s",
]


@settings(max_examples=300)
@given(
    pattern=st.sampled_from([*BOUNDED, *DEFAULT_PATTERNS]),
    text=st.lists(
        st.sampled_from(["cat", "cats", "ccat", "dog", "do", "s", " ", "a", "o", "1", "12", "_",
                         "x", "as an ai", "i hope this helps", "hi", "my", "delve into", "-"]),
        max_size=30,
    ).map("".join),
    compile=st.sampled_from([re.compile, compile_user_pattern]),
)
def test_a_moved_word_boundary_matches_exactly_where_it_did(
    pattern: str, text: str, compile: Callable[[str, int], Any]
) -> None:
    """`\\bL` and `L(?<!\\w.{len(L)})` say the same: at every position the relaxed
    pattern matches the same span as the original, also when the search starts there (the
    lookbehind reads the text before it, as `\\b` does)."""
    relaxed = _relaxed(pattern)
    assert relaxed != pattern and "(?<!\\w" in relaxed  # a boundary was moved
    strict, moved = compile(pattern, 0), compile(relaxed, 0)
    for at in range(len(text) + 1):
        a, b = strict.match(text, at), moved.match(text, at)
        assert (a and a.span()) == (b and b.span())
        a, b = strict.search(text, at), moved.search(text, at)
        assert (a and a.span()) == (b and b.span())


def test_a_near_miss_at_a_word_boundary_is_no_candidate() -> None:
    """The default phrases' pre-filter skips "hi hope this helps" (before, the scanner then
    tried the patterns there) and still finds "i hope this helps"."""
    prefilter = _default_pattern_set().prefilter
    assert prefilter is not None
    assert prefilter.search("oh hi hope this helps, canvas a language model.") is None
    found = prefilter.search("oh, i hope this helps.")
    assert found is not None and found.group() == "i hope this helps"


# Alternatives in groups and classes, escaped bars, optional first letters, flags.
SPLITTABLE = [
    r"[|(]x|y", r"(?:a|b)c|d", r"a\|b|c", r"[]|]z|s", r"(?:(?:ca|do)g|x)", r"a?b|ab",
    r"\bcat|\bdog|(?i:s)", r"x{2}|\d+|c(?=a)", r"(?:\bca|\bdo)g", r"o\b|\bo",
]


@settings(max_examples=300)
@given(
    patterns=st.lists(
        st.sampled_from([*SPLITTABLE, *BOUNDED, *DEFAULT_PATTERNS]), min_size=1, max_size=6,
        unique=True,
    ),
    text=st.lists(
        st.sampled_from(["cat", "dog", "cag", "s", " ", "a", "b", "o", "1", "|", "(", "]", "x",
                         "xx", "as an ai", "i hope this helps", "hi", "my", "delve into", "S"]),
        max_size=60,
    ).map("".join),
    compile=st.sampled_from([re.compile, compile_user_pattern]),
)
def test_the_grouped_prefilter_matches_where_one_alternation_does(
    patterns: list[str], text: str, compile: Callable[[str, int], Any]
) -> None:
    """Split into top-level alternatives and grouped by first letter, the pre-filter finds,
    from every position, its next match where one alternation of the relaxed patterns does
    (the scanner tries the patterns only there). Within SHORT characters of the end it
    searches one alternation itself: both ways are exercised."""
    compiled = [compile(p, 0) for p in patterns]
    prefilter = Prefilter.build(compiled, compile)
    assert prefilter is not None
    whole = compile("|".join(f"(?:{_relaxed(p)})" for p in patterns), 0)
    text = text * (1 + SHORT // max(1, len(text)))  # longer than SHORT: the groups are searched
    for at in range(len(text) + 1):
        a, b = whole.search(text, at), prefilter.search(text, at)
        assert (a and a.start()) == (b and b.start())


@pytest.mark.parametrize("pattern", [*SPLITTABLE, *DEFAULT_PATTERNS])
def test_alternatives_are_the_top_level_branches(pattern: str) -> None:
    parts = alternatives(pattern)
    assert all(re.compile(part) for part in parts)
    text = "cat dog cag x|y [z ab b xx 12 s as an ai i'm an ai delve into it"
    joined = re.compile("|".join(f"(?:{part})" for part in parts))
    original = re.compile(pattern)
    assert [m.span() for m in joined.finditer(text)] == [m.span() for m in original.finditer(text)]


def test_the_default_phrases_are_grouped_by_first_letter() -> None:
    """Six groups (as, i, my, let, feel, delve): each `re` finds by its literal start."""
    prefilter = _default_pattern_set().prefilter
    assert prefilter is not None and len(prefilter.parts) == 6
    meta = _meta_patterns().prefilter
    assert meta is not None and len(meta.parts) == 3  # one pattern of seven alternatives
