"""Incremental regex scanning: the first occurrence of each pattern in a stream of text.

A `PatternSet` (immutable, shared) holds compiled patterns and a `PhraseScanner` (one per
stream) scans each new piece of text together with a bounded tail of what came before, so a
phrase split across pieces is still found, at O(tail + piece) per feed:

- the tail keeps the last ``max_match + 2 * LOOKAROUND`` characters;
- the search starts ``LOOKAROUND`` characters into the window, so ``\\b`` and lookbehinds see
  real context (``re`` honours text before ``pos``);
- a match ending within ``LOOKAROUND`` characters of the window's end is deferred to the next
  feed (a ``\\b`` or lookahead there would be judging text that has not arrived yet).

New text is scanned once at least `batch` characters of it have arrived (or at `flush` or
`finish`), so the tail is re-read once per batch rather than once per token; a match is reported at
most ``batch + LOOKAROUND`` characters after it completes.

With those rules a pattern whose matches are at most ``max_match`` characters long and decided
by ``LOOKAROUND`` characters of context on each side is found at the same position whether
the text arrives whole or in pieces. One combined alternation (built when the patterns share
their flags and have no groups) is tried first: when it finds nothing, no pattern can match
and the per-pattern searches are skipped (the common case). It leaves out the patterns' word
boundaries (`\\b`): that only widens what it matches, and lets `re` skip ahead to the letters
a phrase can start with, about twice as fast.
Patterns written in lower case can be matched against lower-cased text, which Python's
``re`` does several times faster than ``re.IGNORECASE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

LOOKAROUND = 16
BATCH = 256


class Searchable(Protocol):
    """What the scanner needs of a compiled pattern (`re.Pattern`, or a user's
    `TimedPattern`)."""

    @property
    def pattern(self) -> str: ...
    @property
    def flags(self) -> int: ...
    @property
    def groups(self) -> int: ...
    def search(self, string: str, pos: int = ...) -> Any: ...


class PatternSet(NamedTuple):
    patterns: tuple[Searchable, ...]
    prefilter: Searchable | None  # all patterns as one alternation, when flags agree
    lowercase: bool  # patterns are meant for lower-cased text
    max_match: int  # longest match the incremental scan is guaranteed to find

    @classmethod
    def build(
        cls,
        patterns: Sequence[str | Searchable],
        *,
        lowercase: bool,
        max_match: int,
        flags: int = 0,
        compile: Callable[[str, int], Searchable] = re.compile,
    ) -> PatternSet:
        """Compile `patterns` (strings with `compile(pattern, flags)`; compiled ones are kept)
        and their prefilter (with `compile` too)."""
        compiled = tuple(compile(p, flags) if isinstance(p, str) else p for p in patterns)
        prefilter = None
        # Groups would be renumbered (or clash, if named) in one alternation: no prefilter then.
        if compiled and len({p.flags for p in compiled}) == 1 and not any(
            p.groups for p in compiled
        ):
            joined = "|".join(f"(?:{_without_word_boundaries(p.pattern)})" for p in compiled)
            try:
                prefilter = compile(joined, compiled[0].flags)
            except Exception:  # e.g. a global flag like "(?i)" inside the alternation
                prefilter = None
        return cls(compiled, prefilter, lowercase, max_match)

    def lowered(self, text: str) -> str:
        """`text` prepared for matching: lower-cased character by character when the set
        asks for it (one-to-one, so match positions are positions in `text`)."""
        if not self.lowercase:
            return text
        lower = text.lower()
        if len(lower) == len(text):
            return lower
        return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


def _without_word_boundaries(pattern: str) -> str:
    """`pattern` with its `\\b` assertions removed (outside character classes, where `\\b` means
    a backspace): a pattern that matches at least everything the original matches."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            pair = pattern[index : index + 2]
            if not (pair == "\\b" and not in_class):
                out.append(pair)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


class PhraseMatch(NamedTuple):
    pattern: int  # which pattern of the set (its index)
    text: str  # the matched text, as written (not lower-cased)
    position: int  # where it starts in the whole stream


class PhraseScanner:
    """Per-stream scanner reporting each pattern's first occurrence once (module docstring)."""

    __slots__ = ("_batch", "_keep", "_pending", "_pending_size", "_remaining", "_set", "_tail",
                 "_tail_start")

    def __init__(self, pattern_set: PatternSet, *, batch: int = BATCH) -> None:
        self._set = pattern_set
        self._batch = batch
        self._keep = pattern_set.max_match + 2 * LOOKAROUND
        self._tail = ""
        self._tail_start = 0  # offset of the tail's first character in the stream
        self._pending: list[str] = []  # text not scanned yet
        self._pending_size = 0
        self._remaining = list(range(len(pattern_set.patterns)))

    def feed(self, text: str) -> list[PhraseMatch]:
        """Add the next piece; the first occurrences found in the text scanned now."""
        if not self._remaining or not text:
            return []
        self._pending.append(text)
        self._pending_size += len(text)
        if self._pending_size < self._batch:
            return []
        return self._advance()

    def flush(self) -> list[PhraseMatch]:
        """Scan the text not scanned yet now, without waiting for a full batch (the stream
        goes on: a match near the end still waits for its context)."""
        if not self._remaining or not self._pending:
            return []
        return self._advance()

    def finish(self) -> list[PhraseMatch]:
        """The stream ended: scan what is left, then accept the matches that were waiting
        for more context."""
        if not self._remaining:
            return []
        found = self._advance() if self._pending else []
        if self._tail:
            found.extend(self._scan(self._tail, final=True))
        return found

    def _advance(self) -> list[PhraseMatch]:
        self._pending.insert(0, self._tail)
        window = "".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        found = self._scan(window, final=False)
        keep = self._keep
        if len(window) > keep:
            self._tail_start += len(window) - keep
            self._tail = window[-keep:]
        else:
            self._tail = window
        return found

    def _scan(self, window: str, *, final: bool) -> list[PhraseMatch]:
        pattern_set = self._set
        haystack = pattern_set.lowered(window)
        start = LOOKAROUND if self._tail_start else 0
        prefilter = pattern_set.prefilter
        if prefilter is not None and prefilter.search(haystack, start) is None:
            return []
        limit = len(window) if final else len(window) - LOOKAROUND
        found: list[PhraseMatch] = []
        for index in list(self._remaining):
            match = pattern_set.patterns[index].search(haystack, start)
            if match is not None and match.end() <= limit and match.end() > match.start():
                self._remaining.remove(index)
                found.append(
                    PhraseMatch(index, window[match.start() : match.end()],
                                self._tail_start + match.start())
                )
        found.sort(key=lambda m: (m.position, m.pattern))
        return found


def scan_all(pattern_set: PatternSet, text: str, *, complete: bool) -> list[PhraseMatch]:
    """What a scanner fed `text` in one piece reports (plus `finish` when `complete`)."""
    scanner = PhraseScanner(pattern_set)
    found = scanner.feed(text)
    if complete:
        found.extend(scanner.finish())
    return found


__all__ = ["LOOKAROUND", "PatternSet", "PhraseMatch", "PhraseScanner", "scan_all"]
