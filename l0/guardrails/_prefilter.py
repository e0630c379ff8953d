"""The phrase scanner's pre-filter: where any of a set of patterns could match, found fast.

The scanner (`_scan`) first searches the pre-filter; only where it matches are the patterns
tried. A pre-filter must match at least at every position where one of the patterns
matches (it may match at more), and `re` must find that quickly:

- `relaxed` rewrites a pattern's leading `\\b` assertions (they keep `re` from skipping ahead
  to the letters a match starts with): moved behind the literal letters after them as a
  lookbehind (exact), or removed (it then matches more, never less);
- the relaxed patterns, split into their top-level alternatives, are grouped by the letter
  they start with, and each group is one alternation (`Prefilter`). `re` searches an
  alternation whose branches start with different letters by trying each position whose
  letter may start one, which costs about as much as searching for every branch on its own;
  one that starts with a single letter it finds as fast as a literal. A search of the
  pre-filter is the leftmost match of its groups, about twice as fast as one alternation of
  everything for the default phrases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol


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
    def match(self, string: str, pos: int = ...) -> Any: ...


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _leading_literal(pattern: str, index: int) -> str:
    """The literal word characters (ASCII letters, digits, `_`) that start at `index`, less
    a last one that a quantifier applies to."""
    end = index
    while end < len(pattern) and pattern[end] in _WORD_CHARS:
        end += 1
    if end < len(pattern) and pattern[end] in "*+?{":
        end -= 1
    return pattern[index:end]


def relaxed(pattern: str) -> str:
    """`pattern` rewritten so that `re` can skip ahead to the letters a match can start
    with: its leading `\\b` assertions (at its start, or at the start of a group or an
    alternative) moved or removed. A pattern that matches at least everything the original
    matches, at the same positions.

    A leading `\\b` before literal word characters `L` becomes a lookbehind after them,
    ``L(?<!\\w.{len(L)})``: the character before `L` is no word character, which is what
    `\\b` said there (`L` starts with one), so the pattern matches exactly where it did ("hi
    hope this helps" is no candidate for "\\bi hope this helps"), and `re` still sees `L` as
    the literal a match starts with. Any other leading `\\b` is removed: the pattern then
    matches more, never less. The other `\\b`s cost nothing to keep and keep near misses
    ("has an aim" for "as an ai") out. A `\\b` also stays where changing it would make the
    pattern match less: inside a negative lookaround (`(?!...)`, `(?<!...)`), whose inner
    pattern must stay as strict as it was; and inside character classes (where it means a
    backspace)."""
    out: list[str] = []
    groups: list[bool] = []  # for each open group: is it (inside) a lookaround?
    negatives: list[bool] = []  # ... a negative one?
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            pair = pattern[index : index + 2]
            negative = bool(negatives) and negatives[-1]
            leading = index == 0 or pattern.endswith(("(", "(?:", "|"), 0, index)
            if pair == "\\b" and leading and not in_class and not negative:
                literal = "" if groups and groups[-1] else _leading_literal(pattern, index + 2)
                if literal:
                    out.append(f"{literal}(?<!\\w{'.' * len(literal)})")
                index += 2 + len(literal)
                continue
            out.append(pair)
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern.startswith("]", index + 1) or pattern.startswith("^]", index + 1):
                # a leading "]" is a literal member of the class
                skip = 2 if pattern[index + 1] == "]" else 3
                out.append(pattern[index : index + skip])
                index += skip
                continue
        elif char == "(":
            around = pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), index)
            groups.append((bool(groups) and groups[-1]) or around)
            negatives.append(
                (bool(negatives) and negatives[-1]) or pattern.startswith(("(?!", "(?<!"), index)
            )
        elif char == ")" and groups:
            groups.pop()
            negatives.pop()
        out.append(char)
        index += 1
    return "".join(out)


def _outside_classes(pattern: str) -> Iterator[tuple[int, str]]:
    """Each character of `pattern` that is neither escaped nor inside a character class,
    with its index (a class's brackets are not yielded either)."""
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", index + 1) or pattern.startswith("^]", index + 1):
                index += 2 if pattern[index + 1] == "]" else 3  # a leading ] is a literal
                continue
        else:
            yield index, char
        index += 1


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of `pattern` (split at each `|` outside groups and
    character classes), each unwrapped from groups that hold the whole of it, recursively,
    while they are plain non-capturing groups."""
    parts: list[str] = []
    depth, begin = 0, 0
    for index, char in _outside_classes(pattern):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[begin:index])
            begin = index + 1
    parts.append(pattern[begin:])
    if len(parts) == 1 and _wrapped(pattern):
        return alternatives(pattern[3:-1])
    return parts


def _wrapped(pattern: str) -> bool:
    """Whether `pattern` is one plain non-capturing group `(?:...)` from end to end."""
    if not (pattern.startswith("(?:") and pattern.endswith(")")):
        return False
    depth = 0
    for index, char in _outside_classes(pattern):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index == len(pattern) - 1
    return False
    depth, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", index + 1) or pattern.startswith("^]", index + 1):
                index += 2 if pattern[index + 1] == "]" else 3
                continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index == len(pattern) - 1
        index += 1
    return False


def _first_letter(alternative: str) -> str | None:
    """The literal word character a match of `alternative` starts with, when it plainly has
    one (after any opening non-capturing groups); None otherwise."""
    index = 0
    while alternative.startswith("(?:", index):
        index += 3
    if index < len(alternative) and alternative[index] in _WORD_CHARS:
        after = alternative[index + 1 : index + 2]
        if after not in ("*", "?", "{"):
            return alternative[index]
    return None


SHORT = 64  # characters: shorter text is searched with one alternation (see Prefilter)
_VERBOSE_FLAG = re.compile(r"\(\?[a-zA-Z-]*x")  # an inline (?x): "#" starts comments


class Prefilter:
    """The relaxed patterns as a few alternations (module docstring); `search` is the
    leftmost match of any of them. Text shorter than `SHORT` characters is searched with
    one alternation of everything instead: one call costs less than a few there."""

    __slots__ = ("parts", "whole")

    def __init__(self, parts: Sequence[Searchable], whole: Searchable) -> None:
        self.parts = tuple(parts)
        self.whole = whole

    @classmethod
    def build(
        cls, patterns: Sequence[Searchable], compile: Callable[[str, int], Searchable]
    ) -> Prefilter | None:
        """The pre-filter of `patterns`, compiled with `compile`; None when there can be none
        (their flags differ, or they have groups, which an alternation would renumber)."""
        if not patterns or len({p.flags for p in patterns}) != 1 or any(
            p.groups for p in patterns
        ):
            return None
        flags = patterns[0].flags
        sources = [relaxed(p.pattern) for p in patterns]
        if flags & re.VERBOSE or any(_VERBOSE_FLAG.search(source) for source in sources):
            groups: dict[str | None, list[str]] = {None: sources}  # "|" may sit in a comment
        else:
            groups = {}
            for source in sources:
                for alternative in alternatives(source):
                    groups.setdefault(_first_letter(alternative), []).append(alternative)
        try:
            parts = [
                compile("|".join(f"(?:{member})" for member in members), flags)
                for members in groups.values()
            ]
            whole = parts[0] if len(parts) == 1 else compile(
                "|".join(f"(?:{source})" for source in sources), flags
            )
        except Exception:  # e.g. a global flag like "(?i)" inside an alternation
            return None
        return cls(parts, whole)

    def search(self, string: str, pos: int = 0) -> Any:
        """The leftmost match of any part from `pos` (None: no pattern matches there)."""
        if len(string) - pos < SHORT:
            return self.whole.search(string, pos)
        best = None
        for part in self.parts:
            found = part.search(string, pos)
            if found is not None and (best is None or found.start() < best.start()):
                best = found
        return best


__all__ = ["Prefilter", "Searchable", "alternatives", "relaxed"]
