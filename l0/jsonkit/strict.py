"""Strict JSON parsing: RFC 8259 and nothing else, through jiter.

jiter (the Rust parser Pydantic is built on) parses in linear time without Python
recursion, refuses nesting deeper than `MAX_DEPTH`, and has a partial mode for streams. Its
`ValueError`s are mapped here, once, to `JSONParseError` with the offset of the problem and
whether the text merely ended too soon. NaN and Infinity are refused (they are not JSON).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import jiter

from l0.jsonkit.types import MAX_DEPTH, JSONParseError

PartialMode = Literal["off", "on", "trailing-strings"]

_WHERE = re.compile(r" at line (\d+) column (\d+)\Z")


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    return max(0, min(len(text), start + column - 1))


def _error(exc: ValueError, text: str, what: str) -> JSONParseError:
    reason = str(exc)
    where = _WHERE.search(reason)
    position = _offset(text, int(where.group(1)), int(where.group(2))) if where else None
    if where:
        reason = reason[: where.start()]
    if reason.startswith("recursion limit exceeded"):
        return JSONParseError(
            f"{what} is nested deeper than {MAX_DEPTH} levels; l0 refuses it rather than "
            "risk a recursion error",
            position=position,
            too_deep=True,
        )
    truncated = reason.startswith("EOF while parsing")
    hint = "; the text ends before the JSON does" if truncated else ""
    return JSONParseError(
        f"{what} is not valid JSON: {reason} at character {position}{hint}",
        position=position,
        truncated=truncated,
    )


def load(text: str, *, partial: PartialMode = "off", what: str = "the text") -> Any:
    """Parse `text` with jiter; `partial` lets an unfinished document through (see jiter)."""
    if not isinstance(text, str):
        raise JSONParseError(f"{what} must be a str, got {type(text).__name__}")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JSONParseError(
            f"{what} holds a lone surrogate character at {exc.start}; it cannot be JSON",
            position=exc.start,
        ) from exc
    try:
        return jiter.from_json(data, allow_inf_nan=False, partial_mode=partial)
    except ValueError as exc:
        raise _error(exc, text, what) from exc


def parse_strict(text: str) -> Any:
    """Parse `text` as strict JSON; raise `JSONParseError` on anything else. Never repairs."""
    return load(text)


__all__ = ["PartialMode", "load", "parse_strict"]
