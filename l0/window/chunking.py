"""Cutting a document into overlapping chunks, each an exact slice of the document.

1. Units. The document is split into units at the strategy's boundaries: after blank lines
   (paragraph), after sentence ends and line breaks (sentence), after whitespace (token, so
   a unit is a word with its trailing whitespace), or between characters (char). A unit
   larger than `size` is split again at the next finer boundary, down to characters.
   Nothing is dropped: the units tile the document.
2. Packing. A chunk takes as many whole units as fit in `size`. The next chunk starts on
   the last units of the previous one that fit in `overlap` (and still leave room for a
   new unit), so every chunk starts and ends later than the one before, chunks never
   leave gaps, and consecutive chunks share at most `overlap`. The overlap is whole units:
   with long paragraphs, paragraph chunks may share nothing.

Sizes are measured by a meter: characters for the char strategy; otherwise tokens, where
the default estimate is measured exactly on any slice in O(1) (prefix sums) and any other
counter is applied to each unit and summed (so a chunk's exact count can differ slightly).
Both searches (how far a chunk reaches, where the next one starts) are binary searches, as
the measure of a slice only grows with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import accumulate, pairwise

from l0.window.tokens import estimate_tokens
from l0.window.types import ChunkingStrategy, DocumentChunk, TokenCounter

_PARAGRAPH_END = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n\s*")
_WORD_END = re.compile(r"\s+")

# The boundaries each strategy tries, coarsest first; characters come after the last.
_LEVELS: dict[ChunkingStrategy, tuple[re.Pattern[str], ...]] = {
    ChunkingStrategy.PARAGRAPH: (_PARAGRAPH_END, _SENTENCE_END, _WORD_END),
    ChunkingStrategy.SENTENCE: (_SENTENCE_END, _WORD_END),
    ChunkingStrategy.TOKEN: (_WORD_END,),
    ChunkingStrategy.CHAR: (),
}

Measure = Callable[[int, int], int]  # size of the slice document[lo:hi]


def estimate_meter(text: str) -> Measure:
    """`estimate_tokens(text[lo:hi])` in O(1) per call."""
    if text.isascii():
        return lambda lo, hi: -(-(hi - lo) // 4)
    wide = list(accumulate((ord(ch) > 127 for ch in text), initial=0))

    def measure(lo: int, hi: int) -> int:
        non_ascii = wide[hi] - wide[lo]
        return -(-(hi - lo - non_ascii) // 4) + non_ascii

    return measure


def _units(text: str, levels: Sequence[re.Pattern[str]], measure: Measure, size: int) -> list[int]:
    """Unit boundaries: 0, the end of each unit, len(text) last."""
    bounds = [0]

    def split(lo: int, hi: int, depth: int) -> None:
        if depth == len(levels):
            bounds.extend(range(lo + 1, hi + 1))
            return
        ends = [m.end() for m in levels[depth].finditer(text, lo, hi) if m.end() < hi]
        previous = lo
        for end in [*ends, hi]:
            if measure(previous, end) > size:
                split(previous, end, depth + 1)
            else:
                bounds.append(end)
            previous = end

    if text:
        split(0, len(text), 0)
    return bounds


def _first_true(lo: int, hi: int, predicate: Callable[[int], bool]) -> int:
    """The smallest x in [lo, hi] where a monotone (False..True) predicate holds, else hi+1."""
    while lo <= hi:
        middle = (lo + hi) // 2
        if predicate(middle):
            hi = middle - 1
        else:
            lo = middle + 1
    return lo


def _reach(first: int, count: int, cost: Measure, size: int) -> int:
    """The last unit end a chunk starting at unit `first` can take (at least one unit)."""
    past = _first_true(first + 1, count, lambda end: cost(first, end) > size)
    return max(first + 1, past - 1)


def _next_start(first: int, end: int, cost: Measure, budget: int) -> int:
    """The earliest unit after `first` from which the units up to `end` fit in `budget`."""
    return _first_true(first + 1, end, lambda start: cost(start, end) <= budget)


def _pack(count: int, cost: Measure, size: int, overlap: int) -> list[tuple[int, int]]:
    """Chunks as (first unit, end unit) over `count` units measured by `cost(a, b)`."""
    spans: list[tuple[int, int]] = []
    first = 0
    while first < count:
        end = _reach(first, count, cost, size)
        spans.append((first, end))
        if end == count:
            break
        # Leave room for the next unit, so the next chunk always ends later than this one.
        budget = max(0, min(overlap, size - cost(end, end + 1)))
        first = _next_start(first, end, cost, budget)
    return spans


def chunk_document(
    document: str,
    *,
    size: int,
    overlap: int,
    strategy: ChunkingStrategy,
    counter: TokenCounter,
) -> list[DocumentChunk]:
    """The chunks of `document` (none for an empty document); see the module docstring."""
    measure: Measure
    if strategy is ChunkingStrategy.CHAR:
        measure = lambda lo, hi: hi - lo  # noqa: E731
    elif counter is estimate_tokens:
        measure = estimate_meter(document)
    else:
        measure = lambda lo, hi: max(0, int(counter(document[lo:hi])))  # noqa: E731
    bounds = _units(document, _LEVELS[strategy], measure, size)
    if strategy is ChunkingStrategy.CHAR or counter is estimate_tokens:
        cost: Measure = lambda a, b: measure(bounds[a], bounds[b])  # noqa: E731
    else:
        sums = list(accumulate((measure(a, b) for a, b in pairwise(bounds)), initial=0))
        cost = lambda a, b: sums[b] - sums[a]  # noqa: E731
    spans = _pack(len(bounds) - 1, cost, size, overlap)
    chunks = []
    for index, (first, end) in enumerate(spans):
        start_pos, end_pos = bounds[first], bounds[end]
        content = document[start_pos:end_pos]
        chunks.append(
            DocumentChunk(
                index=index,
                content=content,
                start_pos=start_pos,
                end_pos=end_pos,
                token_count=counter(content),
                char_count=end_pos - start_pos,
                is_first=index == 0,
                is_last=index == len(spans) - 1,
                total_chunks=len(spans),
            )
        )
    return chunks


def merge_chunks(chunks: Sequence[DocumentChunk]) -> str:
    """The text the chunks cover, each overlap kept once, using their positions.

    Chunks are taken in document order; a chunk inside text already covered adds nothing;
    gaps between chunks (when some are left out) are not filled.
    """
    parts: list[str] = []
    covered = None
    for chunk in sorted(chunks, key=lambda c: (c.start_pos, c.end_pos)):
        if covered is None:
            parts.append(chunk.content)
        elif chunk.end_pos > covered:
            parts.append(chunk.content[max(0, covered - chunk.start_pos) :])
        else:
            continue
        covered = chunk.end_pos
    return "".join(parts)


__all__ = ["chunk_document", "estimate_meter", "merge_chunks"]
