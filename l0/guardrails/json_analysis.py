"""Incremental JSON structure analysis: bracket depth, strings and escapes, as text streams in.

`JsonAnalysis` is fed pieces of text in order and keeps only a stack of open brackets and
whether it is inside a string (and after a backslash there). It does not parse values: it
answers "is this structure still possible, and is it closed?" in O(len(piece)) per piece.
Regexes jump straight to the characters that matter (`{}[]"` outside strings, `"` and `\\`
inside), so plain text between them costs no Python work per character.

A closing bracket with nothing open, or of the wrong kind, can never become valid JSON: that
is recorded as `error` the moment it is seen and the analysis stops. Unclosed brackets or an
unterminated string are only a problem once the text is complete (`is_balanced`).
"""

from __future__ import annotations

import re

_OUTSIDE_STRING = re.compile(r'[{}\[\]"]')
_INSIDE_STRING = re.compile(r'["\\]')
_CLOSER_FOR = {"{": "}", "[": "]"}


class JsonAnalysis:
    """Incremental view of a JSON text's structure (see the module docstring)."""

    __slots__ = (
        "_after_backslash",
        "_open_positions",
        "_stack",
        "error",
        "error_position",
        "first_char",
        "in_string",
        "length",
    )

    def __init__(self) -> None:
        self._stack: list[str] = []
        self._open_positions: list[int] = []
        self._after_backslash = False
        self.in_string = False
        self.length = 0
        self.first_char: str | None = None  # first non-whitespace character
        self.error: str | None = None  # first impossible structure, if any
        self.error_position: int | None = None

    @classmethod
    def analyze(cls, text: str) -> JsonAnalysis:
        """Analyze a complete text in one call."""
        analysis = cls()
        analysis.feed(text)
        return analysis

    # -- queries ------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """How many brackets are open."""
        return len(self._stack)

    @property
    def open_brackets(self) -> str:
        """The open brackets, outermost first, e.g. ``"{["``."""
        return "".join(self._stack)

    @property
    def looks_like_json(self) -> bool:
        """Whether the text starts (after whitespace) with ``{`` or ``[``."""
        return self.first_char is not None and self.first_char in "{["

    @property
    def is_balanced(self) -> bool:
        """No impossible structure, no open bracket, not inside a string."""
        return self.error is None and not self._stack and not self.in_string

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Analyze the next piece of text."""
        base = self.length
        self.length += len(text)
        if self.first_char is None:
            stripped = text.lstrip()
            if stripped:
                self.first_char = stripped[0]
        if self.error is not None or not text:
            return
        index = 0
        end = len(text)
        if self._after_backslash:
            self._after_backslash = False
            index = 1  # the escaped character, whatever it is
        stack = self._stack
        while index < end:
            if self.in_string:
                match = _INSIDE_STRING.search(text, index)
                if match is None:
                    return
                index = match.start()
                if text[index] == '"':
                    self.in_string = False
                    index += 1
                elif index + 1 < end:
                    index += 2
                else:
                    self._after_backslash = True
                    return
                continue
            match = _OUTSIDE_STRING.search(text, index)
            if match is None:
                return
            index = match.start()
            char = text[index]
            if char == '"':
                self.in_string = True
            elif char in "{[":
                stack.append(char)
                self._open_positions.append(base + index)
            elif not stack:
                self._fail(f"unexpected {char!r}: no bracket is open", base + index)
                return
            elif _CLOSER_FOR[stack[-1]] != char:
                opened = self._open_positions[-1]
                self._fail(
                    f"unexpected {char!r}: expected {_CLOSER_FOR[stack[-1]]!r} to close the "
                    f"{stack[-1]!r} opened at position {opened}",
                    base + index,
                )
                return
            else:
                stack.pop()
                self._open_positions.pop()
            index += 1

    def _fail(self, message: str, position: int) -> None:
        self.error = f"{message} (position {position})"
        self.error_position = position

    def __repr__(self) -> str:
        return (
            f"JsonAnalysis(depth={self.depth}, open_brackets={self.open_brackets!r}, "
            f"in_string={self.in_string}, error={self.error!r})"
        )


__all__ = ["JsonAnalysis"]
