"""Line splitting for the line-based analyzers, and the issue record they produce.

`LineSplitter` turns a stream of arbitrary text pieces into complete lines. A partial line is
kept as a list of pieces and joined once, when its newline arrives, so a very long line costs
O(its length) in total however many pieces it came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple


class StructureIssue(NamedTuple):
    """One problem an analyzer found: what kind, a readable message, and where.

    `position` is the character offset (in everything fed so far) where the problem starts;
    `line` is its 1-based line number.
    """

    kind: str
    message: str
    position: int
    line: int


class LineSplitter:
    """Feeds text in, yields `(line, start_offset, line_number)` for each complete line."""

    __slots__ = ("_line_number", "_line_start", "_pending", "length")

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._line_start = 0
        self._line_number = 0
        self.length = 0  # characters fed so far

    @property
    def line_count(self) -> int:
        """Complete lines seen so far."""
        return self._line_number

    def feed(self, text: str) -> Iterator[tuple[str, int, int]]:
        self.length += len(text)
        newline = text.find("\n")
        if newline < 0:
            if text:
                self._pending.append(text)
            return
        start = 0
        while newline >= 0:
            piece = text[start:newline]
            if self._pending:
                self._pending.append(piece)
                piece = "".join(self._pending)
                self._pending.clear()
            yield from self._emit(piece)
            start = newline + 1
            newline = text.find("\n", start)
        if start < len(text):
            self._pending.append(text[start:])

    def finish(self) -> Iterator[tuple[str, int, int]]:
        """The last line, if the text did not end with a newline."""
        if self._pending:
            piece = "".join(self._pending)
            self._pending.clear()
            yield from self._emit(piece)

    def _emit(self, piece: str) -> Iterator[tuple[str, int, int]]:
        start = self._line_start
        self._line_start += len(piece) + 1
        self._line_number += 1
        yield piece.removesuffix("\r"), start, self._line_number
