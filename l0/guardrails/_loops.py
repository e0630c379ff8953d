"""Incremental loop detection: the text has started repeating the same passage over and over.

A model stuck in a loop emits the same passage again and again, so the end of its text is
periodic. `LoopDetector` tests that at fixed points of the text (every `step` characters, and
at the very end once the text is complete), which makes the result independent of how the
text was split into pieces. At a test point it takes the last 12 characters as a needle,
finds their nearest earlier occurrences (`str.rfind`, in C) within `window` characters, and
for each candidate distance ``d`` checks whether the last ``threshold`` copies of a unit of
``d`` (repeated up to at least `min_unit` characters) are identical (only distances up to a
`threshold`-th of the window leave room for `threshold` copies, so only that far back is
searched). A unit must contain at least two different words, so rules (``-----``), rows of
numbers and lists like ``None, None, None`` never count as a loop (a model repeating one
word is not caught).

A loop is reported once `threshold` copies are complete and at most `step` more characters
of it have arrived. Cost: a list append per feed, and per test point one join of the kept
tail (`window` characters) with the new text plus a few C-level searches.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_WORD = re.compile(r"[^\W\d_]+")
_NEEDLE = 12
_CANDIDATES = 4


class Loop(NamedTuple):
    position: int  # where the repeated copies start
    unit: str  # the passage that repeats
    copies: int  # how many identical copies end at `end`
    end: int


class LoopDetector:
    """Per-stream loop detector (see the module docstring); reports the first loop once."""

    __slots__ = ("_length", "_next_point", "_pending", "_tail", "found", "min_unit",
                 "step", "threshold", "window")

    def __init__(
        self, *, window: int, threshold: int, min_unit: int = 20, step: int = 64
    ) -> None:
        self.window = window
        self.threshold = threshold
        self.min_unit = min_unit
        self.step = step
        self._tail = ""  # the last `window` characters before the pending text
        self._pending: list[str] = []  # text since the tail
        self._length = 0  # characters fed
        self._next_point = step
        self.found: Loop | None = None

    def feed(self, text: str) -> Loop | None:
        """Check the test points inside `text`; the first loop, when this piece reveals it."""
        if self.found is not None:
            return None
        length = self._length = self._length + len(text)
        pending = self._pending
        pending.append(text)
        point = self._next_point
        if length < point:
            return None  # no test point yet: nothing to join
        pending.insert(0, self._tail)
        window = "".join(pending)
        pending.clear()
        offset = length - len(window)  # stream offset of window[0]
        size, threshold = self.window, self.threshold
        while point <= length:
            end = point - offset
            point += self.step
            # `_check`'s first search, inlined: most test points end there (no earlier copy
            # of the needle), so they cost no call.
            reach = end if end < size else size
            if reach >= 2 * _NEEDLE and window.rfind(
                window[end - _NEEDLE : end], end - _NEEDLE - reach // threshold, end - 1
            ) >= 0:
                loop = self._check(window, end, offset)
                if loop is not None:
                    self._next_point = point
                    self.found = loop
                    return loop
        self._next_point = point
        self._tail = window[-size:]
        return None

    def finish(self) -> Loop | None:
        """The text is complete: test its very end too."""
        if self.found is None and (self._tail or self._pending):
            window = self._tail + "".join(self._pending)
            self.found = self._check(window, len(window), self._length - len(window))
        return self.found

    def _check(self, window: str, end: int, offset: int) -> Loop | None:
        lowest = max(0, end - self.window)
        if end - lowest < 2 * _NEEDLE:
            return None
        needle = window[end - _NEEDLE : end]
        # `threshold` copies of a unit at least as long as the period fit between `lowest`
        # and `end`, so the needle's earlier copy is at most that share of it back: a copy
        # further back would fail the span test below, so rfind need not read that far.
        nearest = end - _NEEDLE - (end - lowest) // self.threshold
        search_end = end - 1
        for _ in range(_CANDIDATES):
            found = window.rfind(needle, nearest, search_end)
            if found < 0:
                return None
            period = end - _NEEDLE - found
            unit_size = period * -(-self.min_unit // period)
            span = unit_size * self.threshold
            if end - span < lowest:
                return None
            if window[end - span : end - period] == window[end - span + period : end]:
                unit = _word_aligned(window[end - unit_size : end])
                if len({word.lower() for word in _WORD.findall(unit)}) >= 2:
                    return Loop(offset + end - span, unit, self.threshold, offset + end)
            search_end = found + _NEEDLE - 1
        return None


_SENTENCE_END = re.compile(r"[.!?]\s+")
_SPACE = re.compile(r"\s+")


def _word_aligned(unit: str) -> str:
    """The unit rotated to start at a sentence, else a word (a test point may fall mid-word:
    "s again. We will review the number" reads "We will review the numbers again. ")."""
    match = _SENTENCE_END.search(unit) or _SPACE.search(unit)
    if match is None or match.end() == len(unit):
        return unit
    return unit[match.end() :] + unit[: match.end()]


__all__ = ["Loop", "LoopDetector"]
