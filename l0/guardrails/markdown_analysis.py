"""Incremental Markdown structure analysis: code fences, tables and lists, line by line.

`MarkdownAnalysis` is fed pieces of text in order and looks at each line once, when the line
is complete (`finish()` handles a last line without a newline). It keeps only the state the
next line needs: the open fence, the current table's column count, and the last item of each
open list level. Problems become `issues` (`StructureIssue`):

- ``unclosed_fence``: a code fence still open when the text ends (only known at `finish`);
- ``table_columns``: a table's delimiter row or a body row with a different number of cells
  than its header (one issue per table);
- ``list_marker``: a bullet list that switches marker (``-`` then ``*``) or an ordered list
  that switches delimiter (``1.`` then ``2)``) at the same level;
- ``list_numbering``: an ordered item that is neither the previous number plus one nor the
  same number again (``1. 1. 1.`` is a common, valid style).

Lines inside code fences are never analyzed as Markdown.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from l0.guardrails._lines import LineSplitter, StructureIssue

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"( *)([-*+]|(\d{1,9})([.)]))(?:[ \t]+|$)")
_DELIMITER_ROW = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def count_cells(row: str) -> int:
    """Cells in a table row: unescaped pipes, not counting an outer pipe on either side."""
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return len(_UNESCAPED_PIPE.findall(row)) + 1


class _ListLevel(NamedTuple):
    marker: str  # "-", "*", "+" for bullets, "." or ")" for ordered items
    number: int | None  # None for bullets


class _Fence(NamedTuple):
    char: str
    size: int
    info: str
    position: int
    line: int


class MarkdownAnalysis:
    """Incremental view of a Markdown text's structure (see the module docstring)."""

    __slots__ = (
        "_fence",
        "_levels",
        "_lines",
        "_previous_line",
        "_table_columns",
        "_table_reported",
        "code_blocks",
        "finished",
        "issues",
        "tables",
    )

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._fence: _Fence | None = None
        self._levels: dict[int, _ListLevel] = {}  # indent -> last item at that indent
        self._previous_line: str | None = None
        self._table_columns: int | None = None
        self._table_reported = False
        self.code_blocks = 0  # closed code fences
        self.tables = 0
        self.issues: list[StructureIssue] = []
        self.finished = False

    @classmethod
    def analyze(cls, text: str) -> MarkdownAnalysis:
        """Analyze a complete text in one call."""
        analysis = cls()
        analysis.feed(text)
        analysis.finish()
        return analysis

    # -- queries ------------------------------------------------------------------------------

    @property
    def in_fence(self) -> bool:
        """Whether a code fence is open (as of the last complete line)."""
        return self._fence is not None

    @property
    def fence_info(self) -> str | None:
        """The info string (usually the language) of the open fence, if any."""
        return None if self._fence is None else self._fence.info

    @property
    def in_table(self) -> bool:
        return self._table_columns is not None

    @property
    def list_depth(self) -> int:
        """How many list levels are open."""
        return len(self._levels)

    @property
    def line_count(self) -> int:
        return self._lines.line_count

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Analyze the next piece of text (complete lines are analyzed at once)."""
        for line, position, number in self._lines.feed(text):
            self._line(line, position, number)

    def finish(self) -> None:
        """The text is complete: analyze the last line and report what is left open."""
        if self.finished:
            return
        self.finished = True
        for line, position, number in self._lines.finish():
            self._line(line, position, number)
        fence = self._fence
        if fence is not None:
            self._issue(
                "unclosed_fence",
                f"code fence {fence.char * fence.size}{fence.info} opened on line "
                f"{fence.line} is never closed",
                fence.position,
                fence.line,
            )

    # -- one line -----------------------------------------------------------------------------

    def _line(self, line: str, position: int, number: int) -> None:
        fence = self._fence
        if fence is not None:
            if self._closes(fence, line):
                self._fence = None
                self.code_blocks += 1
            return
        opened = _FENCE.match(line)
        if opened is not None and not (opened[1][0] == "`" and "`" in opened[2]):
            self._fence = _Fence(opened[1][0], len(opened[1]), opened[2].strip(), position, number)
            self._end_table()
            self._previous_line = None
            return
        if not line.strip():
            self._end_table()
            self._previous_line = None
            return
        if self._table_columns is not None:
            if "|" in line:
                self._table_row(line, position, number)
                return
            self._end_table()
        elif (
            "|" in line
            and self._previous_line is not None
            and "|" in self._previous_line
            and _DELIMITER_ROW.match(line)
        ):
            self._start_table(self._previous_line, line, position, number)
            return
        self._previous_line = line
        if _THEMATIC_BREAK.match(line):
            self._levels.clear()
            return
        item = _LIST_ITEM.match(line)
        if item is not None:
            self._list_item(item, position, number)
        elif len(line) - len(line.lstrip(" ")) < 2:
            self._levels.clear()  # a paragraph at the margin ends every list

    @staticmethod
    def _closes(fence: _Fence, line: str) -> bool:
        closing = _FENCE.match(line)
        return (
            closing is not None
            and closing[1][0] == fence.char
            and len(closing[1]) >= fence.size
            and not closing[2].strip()
        )

    def _start_table(self, header: str, delimiter: str, position: int, number: int) -> None:
        self.tables += 1
        self._levels.clear()
        columns = count_cells(header)
        self._table_columns = columns
        self._table_reported = False
        self._previous_line = None
        found = count_cells(delimiter)
        if found != columns:
            self._table_issue(f"table delimiter row has {found} cells, header has {columns}",
                              position, number)

    def _table_row(self, line: str, position: int, number: int) -> None:
        found = count_cells(line)
        if found != self._table_columns:
            self._table_issue(f"table row has {found} cells, header has {self._table_columns}",
                              position, number)

    def _table_issue(self, message: str, position: int, number: int) -> None:
        if not self._table_reported:
            self._table_reported = True
            self._issue("table_columns", f"{message} (line {number})", position, number)

    def _end_table(self) -> None:
        self._table_columns = None

    def _list_item(self, item: re.Match[str], position: int, number: int) -> None:
        indent = len(item[1])
        levels = self._levels
        for deeper in [level for level in levels if level > indent]:
            del levels[deeper]
        ordinal = None if item[3] is None else int(item[3])
        marker = item[2] if ordinal is None else item[4]
        previous = levels.get(indent)
        levels[indent] = _ListLevel(marker, ordinal)
        if previous is None or (previous.number is None) != (ordinal is None):
            return  # a new list (or a bullet list next to an ordered one)
        if previous.marker != marker:
            kind = "bullet" if ordinal is None else "number delimiter"
            self._issue("list_marker",
                        f"list switches {kind} from {previous.marker!r} to {marker!r} "
                        f"(line {number})", position, number)
        elif ordinal is not None and previous.number is not None and ordinal not in (
            previous.number + 1,
            previous.number,
        ):
            self._issue("list_numbering",
                        f"ordered list jumps from {previous.number} to {ordinal} (line {number})",
                        position, number)

    def _issue(self, kind: str, message: str, position: int, line: int) -> None:
        self.issues.append(StructureIssue(kind, message, position, line))

    def __repr__(self) -> str:
        return (
            f"MarkdownAnalysis(in_fence={self.in_fence}, code_blocks={self.code_blocks}, "
            f"tables={self.tables}, list_depth={self.list_depth}, issues={len(self.issues)})"
        )


__all__ = ["MarkdownAnalysis", "count_cells"]
