"""User patterns run on the `regex` engine with a time limit per search.

Python's `re` backtracks: a pattern such as `(x+x+)+y` takes exponential time on a few dozen
characters it nearly matches, and a guardrail runs on the event loop, so one such pattern
would freeze every stream and every timeout of the process. Patterns that l0 ships are
written not to (and stay linear in the text: the scanner reads bounded windows); a user's
pattern is compiled with the `regex` package instead, which accepts the same syntax as `re`
(groups, backreferences, lookarounds, Unicode `\\b`), avoids much of `re`'s backtracking, and
stops a search after `TIME_LIMIT` seconds. A search that runs out of time raises `l0.Error`
with INVALID_ARGUMENT naming the pattern: the run fails at once, is not retried, and the
event loop was held for about `TIME_LIMIT` at most. (An engine that cannot backtrack at all,
RE2, would refuse backreferences and lookarounds, which `Guardrails.pattern` documents.)
A pattern `regex` cannot compile is refused with INVALID_ARGUMENT when the rule is built.
"""

from __future__ import annotations

import re
from typing import Any

from l0.errors import Error, ErrorCode

TIME_LIMIT = 0.1  # seconds one search of one window may take

# `re` flags as `regex` spells them (their numeric values differ, e.g. ASCII).
_FLAG_NAMES = ("IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII", "UNICODE", "LOCALE")


def _regex_flags(flags: int) -> int:
    import regex

    converted = 0
    for name in _FLAG_NAMES:
        if flags & getattr(re, name):
            converted |= int(getattr(regex, name))
    return converted


class TimedPattern:
    """A compiled user pattern whose `search` gives up after `TIME_LIMIT` seconds."""

    __slots__ = ("_compiled", "flags", "groups", "pattern")

    def __init__(self, pattern: str, flags: int) -> None:
        import regex

        try:
            self._compiled: Any = regex.compile(pattern, _regex_flags(flags))
        except regex.error as exc:
            raise Error(
                f"Guardrails.pattern: invalid regex {pattern!r}: {exc}",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from exc
        self.pattern = pattern
        self.flags = flags  # as `re` spells them: PatternSet compares them
        self.groups: int = self._compiled.groups

    def search(self, text: str, pos: int = 0) -> Any:
        try:
            return self._compiled.search(text, pos, timeout=TIME_LIMIT)
        except TimeoutError:
            raise self._too_slow(text, pos) from None

    def match(self, text: str, pos: int = 0) -> Any:
        try:
            return self._compiled.match(text, pos, timeout=TIME_LIMIT)
        except TimeoutError:
            raise self._too_slow(text, pos) from None

    def _too_slow(self, text: str, pos: int) -> Error:
        return Error(
            f"Guardrails.pattern: the pattern {self.pattern!r} took more than "
            f"{TIME_LIMIT:g}s on {len(text) - pos} characters (catastrophic "
            "backtracking, e.g. nested repetition like (a+)+); rewrite it so that each "
            "character can be matched one way only",
            code=ErrorCode.INVALID_ARGUMENT,
        )

    def __repr__(self) -> str:
        return f"TimedPattern({self.pattern!r})"


def compile_user_pattern(pattern: str | re.Pattern[str], flags: int) -> TimedPattern:
    """`pattern` (a string, compiled with `flags`, or a compiled pattern keeping its own)."""
    if isinstance(pattern, re.Pattern):
        return TimedPattern(pattern.pattern, pattern.flags & ~re.UNICODE)
    return TimedPattern(pattern, flags)


__all__ = ["TIME_LIMIT", "TimedPattern", "compile_user_pattern"]
