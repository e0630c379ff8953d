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
the text arrives whole or in pieces. A pre-filter (`_prefilter`: the patterns relaxed, in a
few alternations, built when the patterns share their flags and have no groups) is searched
first: when it finds nothing, no pattern can match and the per-pattern searches are skipped
(the common case). Where it does match, the patterns are tried only at the positions it
matched (see `_first_matches`).
Patterns written in lower case can be matched against lower-cased text, which Python's
``re`` does several times faster than ``re.IGNORECASE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from l0.guardrails._prefilter import Prefilter, Searchable, relaxed

LOOKAROUND = 16
BATCH = 256


class PatternSet(NamedTuple):
    patterns: tuple[Searchable, ...]
    # All patterns, relaxed, in a few alternations, when their flags agree and they have no
    # groups of their own (`_prefilter`).
    prefilter: Prefilter | None
    lowercase: bool  # patterns are meant for lower-cased text
    max_match: int  # longest match the incremental scan is guaranteed to find
    # To match at a position the pre-filter found, compiled when first needed: tails[i] is
    # the patterns after pattern i as one alternation of capturing groups (tails[-1]: all of
    # them), tails[-2] all of them as they are, in one alternation.
    tails: dict[int, Searchable | None]
    # How the set's patterns were compiled: the alternations above are compiled the same way
    # (a user's patterns keep their time limit in them too).
    compile: Callable[[str, int], Searchable]

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
        return cls(compiled, Prefilter.build(compiled, compile), lowercase, max_match, {},
                   compile)

    def tail(self, index: int) -> Searchable | None:
        """The relaxed patterns after `index` as one alternation whose group i + 1 is the
        i-th of them (None after the last). Only for anchored matches: capturing groups
        would take away the literal-prefix skipping that makes the pre-filter's search
        fast."""
        if index not in self.tails:
            rest = self.patterns[index + 1 :]
            self.tails[index] = _alternation(rest, self.compile) if rest else None
        return self.tails[index]

    def any_at(self) -> Searchable:
        """All the patterns (not relaxed) as one alternation: `.match(text, at)` says whether
        any of them matches at `at`."""
        strict = self.tails.get(-2)
        if strict is None:
            joined = "|".join(f"(?:{p.pattern})" for p in self.patterns)
            strict = self.tails[-2] = self.compile(joined, self.patterns[0].flags)
        return strict

    def lowered(self, text: str) -> str:
        """`text` prepared for matching: lower-cased character by character when the set
        asks for it (one-to-one, so match positions are positions in `text`)."""
        if not self.lowercase:
            return text
        lower = text.lower()
        if len(lower) == len(text):
            return lower
        return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)


def _alternation(
    patterns: Sequence[Searchable], compile: Callable[[str, int], Searchable]
) -> Searchable:
    """The relaxed `patterns` as one alternation of capturing groups."""
    joined = "|".join(f"({relaxed(p.pattern)})" for p in patterns)
    return compile(joined, patterns[0].flags)


class PhraseMatch(NamedTuple):
    pattern: int  # which pattern of the set (its index)
    text: str  # the matched text, as written (not lower-cased)
    position: int  # where it starts in the whole stream


class PhraseScanner:
    """Per-stream scanner reporting each pattern's first occurrence once (module docstring)."""

    __slots__ = ("_batch", "_clean", "_keep", "_pending", "_pending_size", "_remaining", "_set",
                 "_tail", "_tail_start")

    def __init__(self, pattern_set: PatternSet, *, batch: int = BATCH) -> None:
        self._set = pattern_set
        self._batch = batch
        self._keep = pattern_set.max_match + 2 * LOOKAROUND
        self._tail = ""
        self._tail_start = 0  # offset of the tail's first character in the stream
        self._pending: list[str] = []  # text not scanned yet
        self._pending_size = 0
        self._remaining = list(range(len(pattern_set.patterns)))
        # The pre-filter found nothing in the last window scanned, which ends with the tail:
        # then neither can the final scan of the tail, and `finish` skips it.
        self._clean = False

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
        if self._tail and not self._clean:
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
        firsts: dict[int, re.Match[str] | None]
        if prefilter is None:
            patterns = pattern_set.patterns
            firsts = {i: patterns[i].search(haystack, start) for i in self._remaining}
        else:
            candidate = prefilter.search(haystack, start)
            self._clean = candidate is None
            if candidate is None:
                return []  # the common case: no pattern can match in this window
            firsts = _first_matches(pattern_set, self._remaining, haystack, candidate)
            if not firsts:
                return []
        limit = len(window) if final else len(window) - LOOKAROUND
        found: list[PhraseMatch] = []
        for index in list(self._remaining):
            match = firsts.get(index)
            if match is not None and match.end() <= limit and match.end() > match.start():
                self._remaining.remove(index)
                found.append(
                    PhraseMatch(index, window[match.start() : match.end()],
                                self._tail_start + match.start())
                )
        found.sort(key=lambda m: (m.position, m.pattern))
        return found


# Candidate positions tried one by one before the remaining patterns search on their own.
MAX_CANDIDATES = 16


def _first_matches(
    pattern_set: PatternSet, remaining: list[int], haystack: str, candidate: re.Match[str]
) -> dict[int, re.Match[str] | None]:
    """Each remaining pattern's first match in `haystack` from where the pre-filter's first
    match (`candidate`) starts (the patterns without one are left out).

    Every match of a pattern is also a match of the pre-filter at the same position (the
    pre-filter is the alternation of the patterns, relaxed), so a pattern's first match
    starts at one of the positions where the pre-filter matches. At such a position one
    anchored alternation of all the patterns says whether any matches there at all (most
    often none: a near miss); if one does, an anchored alternation of the relaxed patterns,
    in capturing groups, tells which relaxed pattern matches first: the
    ones before it do not (so neither do they, strictly); that one is tried, anchored, and
    the alternation of the ones after it (`tail`) finds the next one there. This finds
    exactly what `search` from `start` finds, without each pattern reading the window.
    Text with many candidates (a pattern that matches almost anywhere) goes back to
    searching after MAX_CANDIDATES of them."""
    prefilter = pattern_set.prefilter
    assert prefilter is not None
    patterns = pattern_set.patterns
    firsts: dict[int, re.Match[str] | None] = {}
    pending = set(remaining)
    end = len(haystack)
    any_at = pattern_set.any_at().match
    found: re.Match[str] | None = candidate
    position = candidate.start()
    for _ in range(MAX_CANDIDATES):
        if found is None:
            found = prefilter.search(haystack, position)
            if found is None:
                return firsts
        at = found.start()
        found = None
        position = at + 1
        if any_at(haystack, at) is None:  # a near miss: the usual case
            if position > end:
                return firsts
            continue
        index = -1  # which patterns match here: those the tails find, from the first on
        while True:
            tail = pattern_set.tail(index)
            after = None if tail is None else tail.match(haystack, at)
            if after is None:
                break
            index += after.lastindex or 1
            if index in pending:
                match = patterns[index].match(haystack, at)
                if match is not None:
                    firsts[index] = match
                    pending.discard(index)
                    if not pending:
                        return firsts
        if position > end:
            return firsts
    for index in sorted(pending):  # no pattern matches before `position`
        match = patterns[index].search(haystack, position)
        if match is not None:
            firsts[index] = match
    return firsts


def scan_all(pattern_set: PatternSet, text: str, *, complete: bool) -> list[PhraseMatch]:
    """What a scanner fed `text` in one piece reports (plus `finish` when `complete`)."""
    scanner = PhraseScanner(pattern_set)
    found = scanner.feed(text)
    if complete:
        found.extend(scanner.finish())
    return found


__all__ = ["LOOKAROUND", "PatternSet", "PhraseMatch", "PhraseScanner", "Searchable", "scan_all"]
