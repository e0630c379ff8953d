"""Bounds on what a replay builds from a recording: a recording is input, maybe hostile.

A replay rebuilds classes (exception replicas, foreign chunk types), lists (one stand-in per
fallback, one rule per guardrail) and nested data (chains of causes) from what a file says.
A crafted file could ask for an exception class with thousands of bases (minutes of class
creation), a cause chain deep enough to exhaust the stack, a billion fallbacks. Each is
checked here against a bound far above what l0 itself ever writes, and refused with an
`l0.Error` (INVALID_ARGUMENT) that says which bound was passed.
"""

from __future__ import annotations

from typing import Any

from l0.errors import Error, ErrorCode

MAX_BASES = 32  # class names between an exception and its standard-library base
MAX_CAUSES = 16  # a chain of causes (l0 writes at most 6)
MAX_NAME = 200  # characters of a class or module name
MAX_FALLBACKS = 256
MAX_RULES = 1024  # guardrail rules of a plan


class RecordingRefused(Error):
    """A recording that asks replay for more than these bounds allow."""


def refuse(message: str) -> Error:
    return RecordingRefused(
        f"The recording is refused: {message}. It was not written by l0 (or was edited).",
        code=ErrorCode.INVALID_ARGUMENT,
    )


def check_name(value: Any, what: str, *, dotted: bool = False) -> str:
    """A class (or, `dotted`, module) name: text, not too long, made of identifiers."""
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise refuse(f"{what} must be a name of at most {MAX_NAME} characters")
    parts = value.split(".") if dotted else [value]
    if not all(part.isidentifier() for part in parts):
        raise refuse(f"{what} {value[:40]!r} is not a Python name")
    return value


def check_count(value: Any, limit: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise refuse(f"{what} must be a whole number from 0 to {limit}, got {str(value)[:40]}")
    return value


def check_length(value: Any, limit: int, what: str) -> list[Any]:
    if not isinstance(value, (list, tuple)) or len(value) > limit:
        raise refuse(f"{what} must be a list of at most {limit} items")
    return list(value)


__all__ = [
    "MAX_BASES",
    "MAX_CAUSES",
    "MAX_FALLBACKS",
    "MAX_NAME",
    "MAX_RULES",
    "RecordingRefused",
    "check_count",
    "check_length",
    "check_name",
    "refuse",
]
