"""Repair the common faults of model-written JSON in one pass, reporting each one.

The text is cut into regex tokens (strings, comments, punctuation, bare words) and walked
once with an explicit stack of open containers, each remembering what it expects next (a
key, a colon, a value, a comma) and where its current member began in the output. That is
enough to fix, in place and without recursion:

- comments (dropped), single-quoted strings (requoted), True/False/None (lowercased), raw
  control characters inside strings (escaped);
- a comma right before a closer (dropped); a closer that closes nothing (dropped); a closer
  that skips open containers (the skipped ones are closed first);
- at the end of the text: a string cut short (closed), a member cut short (a dangling key,
  colon or half-written number/literal: removed with its comma), containers left open
  (closed, innermost first). These mean the text was truncated, and the result says so.

Anything else (a missing comma, an unquoted key, NaN) is left as it is, for the strict parse
that follows to reject. Nesting deeper than `MAX_DEPTH` is refused as soon as it is seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from l0.jsonkit.lexer import (
    BLOCK_COMMENT,
    DQ_BODY,
    LINE_COMMENT,
    LITERALS,
    NUMBER,
    PYTHON_LITERALS,
    SQ_BODY,
    is_cut_scalar,
)
from l0.jsonkit.types import MAX_DEPTH, CorrectionType, JSONParseError

# Whitespace before a token is matched with it (half as many tokens to walk).
_TOKEN = re.compile(
    rf"""
      (?P<tail>\s+\Z)
    | (?P<lead>\s*)
      (?:
        "(?P<dq>{DQ_BODY})(?P<dq_end>")?
      | '(?P<sq>{SQ_BODY})(?P<sq_end>')?
      | (?P<comment>{LINE_COMMENT}|{BLOCK_COMMENT})
      | (?P<punct>[{{}}\[\]:,])
      | (?P<bare>[^\s{{}}\[\]:,"'/\#]+)
      | (?P<other>.)
      )
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROL = re.compile(r"[\x00-\x1f]")
_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_SINGLE_QUOTED_ESCAPE = re.compile(r"\\(.)|\"", re.DOTALL)
_CUT_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{0,3}\Z")

# What a container expects next.
_KEY, _COLON, _VALUE, _COMMA, _DONE = range(5)
_CLOSERS = {"{": "}", "[": "]"}
_MISSING = {"}": CorrectionType.MISSING_BRACE_ADDED, "]": CorrectionType.MISSING_BRACKET_ADDED}


@dataclass(frozen=True, slots=True)
class Repair:
    text: str
    corrections: tuple[CorrectionType, ...]
    truncated: bool


class _Frame:
    """An open container (or the document itself, whose closer is empty)."""

    __slots__ = ("closer", "comma_at", "expect", "member_start")

    def __init__(self, closer: str, member_start: int) -> None:
        self.closer = closer
        self.expect = _KEY if closer == "}" else _VALUE
        self.member_start = member_start  # output index where the current member began
        self.comma_at = -1  # output index of the comma before the expected member

    def value_done(self) -> None:
        self.expect = _DONE if not self.closer else _COMMA
        self.comma_at = -1


def _escape_controls(body: str) -> str:
    return _CONTROL.sub(lambda m: _CONTROL_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), body)


def _requote_single(body: str) -> str:
    def swap(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped is None:
            return '\\"'
        return "'" if escaped == "'" else match.group()

    return _SINGLE_QUOTED_ESCAPE.sub(swap, body)


def _drop_cut_escape(body: str) -> str:
    """Remove an escape sequence the end of the text cut in half (`\\` or `\\u12`)."""
    cut_unicode = _CUT_UNICODE_ESCAPE.search(body, max(0, len(body) - 6))
    end = cut_unicode.start() + 1 if cut_unicode else len(body)
    head = body[:end]
    if (len(head) - len(head.rstrip("\\"))) % 2 == 1:
        return body[: end - 1]
    return body


class _Repairer:
    def __init__(self, *, keep_cut_strings: bool) -> None:
        self.keep_cut_strings = keep_cut_strings
        self.out: list[str] = []
        self.stack = [_Frame("", 0)]
        self.fixes: dict[CorrectionType, None] = {}  # an ordered set
        self.truncated = False
        self.cut_string = False  # the text ends inside a string value that is to be dropped

    def fix(self, correction: CorrectionType) -> None:
        self.fixes.setdefault(correction, None)

    def run(self, text: str) -> Repair:
        out = self.out
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup
            if kind == "dq_end" and not _CONTROL.search(match.group("dq")):
                out.append(match.group())  # the common case: a well-formed string
                self.string_done(self.stack[-1])
            elif kind == "punct":
                out.append(match.group("lead"))
                self.punctuation(match.group("punct"), match.start("punct"))
            elif kind == "bare":
                out.append(match.group("lead"))
                self.bare(match.group("bare"))
            elif kind == "dq_end" or kind == "sq_end":
                out.append(match.group("lead"))
                self.string(match, quote=kind[:2])
            elif kind == "dq" or kind == "sq":  # no closing quote: only at the end of the text
                out.append(match.group("lead"))
                self.string(match, quote=kind)
            elif kind == "comment":
                self.fix(CorrectionType.COMMENT_REMOVED)
                out.append(match.group("lead") + " ")  # keeps the tokens either side apart
            else:
                out.append(match.group())
        self.finish()
        return Repair("".join(out).strip(), tuple(self.fixes), self.truncated)

    def string_done(self, frame: _Frame) -> None:
        if frame.expect == _KEY:
            frame.expect = _COLON
            frame.comma_at = -1
        elif frame.expect == _VALUE:
            frame.value_done()

    def string(self, match: re.Match[str], quote: str) -> None:
        body = match.group(quote)
        closed = match.group(quote + "_end") is not None
        if quote == "sq":
            self.fix(CorrectionType.SINGLE_QUOTES_REPLACED)
            body = _requote_single(body)
        if _CONTROL.search(body):
            self.fix(CorrectionType.CONTROL_CHARACTER_ESCAPED)
            body = _escape_controls(body)
        frame = self.stack[-1]
        if not closed and frame.expect == _KEY:
            frame.expect, frame.comma_at = _COLON, -1  # a key cut short: `finish` drops it
            return
        if not closed and not self.keep_cut_strings:
            self.cut_string = frame.expect == _VALUE  # `finish` drops the member
        elif not closed:
            self.fix(CorrectionType.TRUNCATED_STRING_CLOSED)
            self.truncated = True
            body = _drop_cut_escape(body)
        self.out.append(f'"{body}"')
        self.string_done(frame)

    def bare(self, token: str) -> None:
        frame = self.stack[-1]
        python = PYTHON_LITERALS.get(token)
        if python is not None:
            self.fix(CorrectionType.PYTHON_LITERAL_REPLACED)
            token = python
        self.out.append(token)
        if frame.expect == _VALUE:
            frame.value_done()

    def punctuation(self, char: str, position: int) -> None:
        frame = self.stack[-1]
        if char == "{" or char == "[":
            if len(self.stack) > MAX_DEPTH:
                raise JSONParseError(
                    f"JSON nested deeper than {MAX_DEPTH} levels (at character {position}); "
                    "l0 refuses it rather than risk a recursion error",
                    position=position,
                    too_deep=True,
                )
            self.out.append(char)
            self.stack.append(_Frame(_CLOSERS[char], len(self.out)))
        elif char == "}" or char == "]":
            self.close(char)
        elif char == ":" and frame.expect == _COLON:
            frame.expect = _VALUE
            self.out.append(char)
        elif char == "," and frame.expect == _COMMA:
            frame.member_start = frame.comma_at = len(self.out)
            frame.expect = _KEY if frame.closer == "}" else _VALUE
            self.out.append(char)
        else:
            self.out.append(char)  # out of place: left for the strict parse to reject

    def close(self, closer: str) -> None:
        depth = next(
            (i for i in range(len(self.stack) - 1, 0, -1) if self.stack[i].closer == closer), 0
        )
        if depth == 0:
            self.fix(CorrectionType.EXTRA_CLOSER_REMOVED)
            return
        while len(self.stack) - 1 > depth:  # containers this closer skips over
            self.close_frame(at_end=False)
            self.fix(_MISSING[self.out[-1]])
        self.close_frame(at_end=False)

    def close_frame(self, *, at_end: bool, cut: bool = False) -> None:
        frame = self.stack.pop()
        dangling = frame.expect in (_COLON, _VALUE) and frame.comma_at < 0
        if frame.expect == _VALUE and frame.closer == "]":
            dangling = False  # an array waiting for its first value is just empty
        if at_end and (dangling or cut):
            self.fix(CorrectionType.INCOMPLETE_MEMBER_REMOVED)
            del self.out[frame.member_start :]
        elif frame.comma_at >= 0:
            self.fix(CorrectionType.TRAILING_COMMA_REMOVED)
            self.out[frame.comma_at] = ""
        self.out.append(frame.closer)
        self.stack[-1].value_done()

    def ends_with_cut_scalar(self) -> bool:
        """True when the last token is a number or literal the end of the text cut short."""
        last = next((piece for piece in reversed(self.out) if piece.strip()), "")
        if last in LITERALS or NUMBER.match(last):
            return False
        return is_cut_scalar(last)

    def finish(self) -> None:
        if len(self.stack) == 1:
            return
        self.truncated = True
        cut = self.cut_string or self.ends_with_cut_scalar()
        self.close_frame(at_end=True, cut=cut)  # only the innermost member can be cut
        self.fix(_MISSING[self.out[-1]])
        while len(self.stack) > 1:
            self.close_frame(at_end=True)
            self.fix(_MISSING[self.out[-1]])


def repair(text: str, *, keep_cut_strings: bool = True) -> Repair:
    """Repair `text` (see the module docstring); raises `JSONParseError` when too deep.

    With `keep_cut_strings=False` a string value cut by the end of the text is removed with
    its member instead of being closed (for partial values that must not show half a string).
    """
    return _Repairer(keep_cut_strings=keep_cut_strings).run(text)


__all__ = ["Repair", "repair"]
