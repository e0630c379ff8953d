"""Partial JSON for streams: the value so far, from the text so far, cheaply.

`PartialJSONParser.feed(delta)` runs a small incremental scanner over the new text only
(O(delta)): it skips anything before the first `{` or `[` (a fence, a preamble), and tracks
whether the text ends inside a string (a key or a value), inside a bare number or literal,
and when the top-level value closes (anything after it is ignored). From that it knows the
last point where every value so far is whole: a string or number still being written is
left out (`1` may still become `12`), so each partial value is a prefix of the final one
(objects gain members, arrays gain items, and the last member may itself still grow). With
`include_pending_string=True` the string being written is included, and flagged.

The value is read by jiter's partial mode (fast C code), falling back to l0's repairer when
the text so far has faults jiter refuses (single quotes, comments...). Reading the whole
text is O(n), so reads are throttled: a new read happens only when a value has changed and
the text has grown by `growth` (5%) since the last read, which bounds the total work for a
stream of n characters by about n/growth. The top-level value closing is always read at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from l0.errors import Error, ErrorCode
from l0.jsonkit.correct import correct
from l0.jsonkit.strict import load
from l0.jsonkit.types import MAX_DEPTH, CorrectionType, JSONParseError

_OUTSIDE = re.compile(r'\s+|[{}\[\]:,"]|[^\s{}\[\]:,"]+')
_STRING_STOP = re.compile(r'["\\]')
_OPENER = re.compile(r"[{\[]")


@dataclass(frozen=True, slots=True)
class PartialJSON:
    """The value read from the text so far.

    `complete` is true once the top-level value has closed (it still needs validating);
    `pending_string` when `value` ends with a string that is still being written; `repaired`
    when the text so far needed auto-correction to be read; `length` is how many characters
    of the text the value was read from.
    """

    value: Any
    complete: bool
    pending_string: bool = False
    repaired: bool = False
    length: int = 0


class PartialJSONParser:
    """Reads a JSON document while it streams in; see the module docstring."""

    def __init__(self, *, include_pending_string: bool = False, growth: float = 0.05) -> None:
        if not 0 <= growth <= 10:
            raise Error(
                f"growth must be between 0 and 10 (a fraction of the text), got {growth!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self._include_pending = include_pending_string
        self._growth = growth
        self._parts: list[str] = []
        self._length = 0
        self._start = -1  # offset of the first { or [
        self._end = -1  # offset just past the top-level value, once it has closed
        self._containers: list[bool] = []  # True for an object
        self._expect_key = False
        self._in_string = False
        self._string_is_key = False
        self._string_start = -1
        self._escape = False  # the text so far ends right after a backslash in a string
        self._bare_start = -1  # offset of a number or literal not yet ended
        self._dirty = False  # the value may have changed since the last read
        self._read_at = 0  # text length at the last read
        self._latest: PartialJSON | None = None

    @property
    def text(self) -> str:
        """Everything fed so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def latest(self) -> PartialJSON | None:
        """The last value read (None before the first)."""
        return self._latest

    @property
    def complete(self) -> bool:
        """True once the top-level value has closed."""
        return self._end >= 0

    def feed(self, delta: str) -> PartialJSON | None:
        """Add text; return the new partial value when it changed, else None."""
        if not delta:
            return None
        base = self._length
        self._parts.append(delta)
        self._length += len(delta)
        if self._end < 0:
            self._scan(delta, base)
        due = self._length - self._read_at >= max(1, self._read_at * self._growth)
        if self._dirty and (due or self._end >= 0):
            return self._read()
        return None

    def snapshot(self) -> PartialJSON | None:
        """Read the value now, whatever the throttle says; None when nothing can be read."""
        if self._dirty:
            self._read()
        return self._latest

    def _read(self) -> PartialJSON | None:
        self._dirty = False
        self._read_at = self._length
        if self._start < 0:
            return None
        text = self.text
        end, pending = self._end, False
        if end < 0:
            end = len(text)
            if self._in_string:
                pending = self._include_pending and not self._string_is_key
                if not pending:
                    end = self._string_start
            elif self._bare_start >= 0:
                end = self._bare_start
        candidate = text[self._start : end]
        repaired = False
        try:
            value = load(candidate, partial="trailing-strings" if pending else "on")
        except JSONParseError as exc:
            if exc.too_deep:
                raise
            result, value = correct(candidate, keep_cut_strings=pending)
            if not result.success:
                return None
            repaired = True
            pending = CorrectionType.TRUNCATED_STRING_CLOSED in result.corrections
        complete = self._end >= 0
        latest = self._latest
        if latest is not None and (latest.value, latest.pending_string, latest.complete) == (
            value,
            pending,
            complete,
        ):
            return None
        self._latest = PartialJSON(value, complete, pending, repaired, end)
        return self._latest

    def _scan(self, delta: str, base: int) -> None:
        i, n = 0, len(delta)
        while i < n:
            if self._in_string:
                i = self._scan_string(delta, i)
                continue
            if self._start < 0:
                opener = _OPENER.search(delta, i)
                if opener is None:
                    return
                i = opener.start()
                self._start = base + i
            token = _OUTSIDE.match(delta, i)
            assert token is not None  # the pattern matches any character
            char = delta[i]
            i = token.end()
            if char not in '{}[]:,"' and not char.isspace():
                if self._bare_start < 0:
                    self._bare_start = base + token.start()
                continue
            if self._bare_start >= 0:
                self._bare_start = -1
                self._dirty = True
            if char in "{[":
                if len(self._containers) >= MAX_DEPTH:
                    raise JSONParseError(
                        f"the streamed JSON nests deeper than {MAX_DEPTH} levels; l0 refuses "
                        "it rather than risk a recursion error",
                        position=base + token.start(),
                        too_deep=True,
                    )
                self._containers.append(char == "{")
                self._expect_key = char == "{"
                self._dirty = True
            elif char in "}]":
                self._dirty = True
                if self._containers:
                    self._containers.pop()
                self._expect_key = False
                if not self._containers:
                    self._end = base + i
                    return
            elif char == ":":
                self._expect_key = False
            elif char == ",":
                self._expect_key = bool(self._containers) and self._containers[-1]
            elif char == '"':
                self._in_string = True
                self._string_is_key = self._expect_key
                self._string_start = base + token.start()

    def _scan_string(self, delta: str, i: int) -> int:
        """Advance through a string; return where scanning continues."""
        if self._escape:
            self._escape = False
            return i + 1
        if self._include_pending and not self._string_is_key:
            self._dirty = True
        stop = _STRING_STOP.search(delta, i)
        if stop is None:
            return len(delta)
        if stop.group() == "\\":
            if stop.end() == len(delta):
                self._escape = True
            return stop.end() + 1
        self._in_string = False
        if not self._string_is_key:
            self._dirty = True
        return stop.end()


def parse_partial(text: str, *, include_pending_string: bool = False) -> PartialJSON | None:
    """The value of a JSON text that may be cut short (None when nothing can be read yet)."""
    parser = PartialJSONParser(include_pending_string=include_pending_string)
    parser.feed(text)
    return parser.snapshot()


__all__ = ["PartialJSON", "PartialJSONParser", "parse_partial"]
