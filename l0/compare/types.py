"""The vocabulary of comparisons: options for strings and objects, and one found difference."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, get_args

from l0.errors import Error, ErrorCode

StringAlgorithm = Literal["levenshtein", "jaro_winkler", "cosine", "jaccard"]
STRING_ALGORITHMS: tuple[StringAlgorithm, ...] = get_args(StringAlgorithm)


class DifferenceType(str, Enum):
    """How a value in `actual` differs from the one at the same path in `expected`."""

    ADDED = "added"  # only in actual
    REMOVED = "removed"  # only in expected
    CHANGED = "changed"  # same kind of value, different value
    TYPE_MISMATCH = "type_mismatch"  # different kinds (string vs number, list vs dict, ...)


class DifferenceSeverity(str, Enum):
    """How much a difference matters (the rules are in `l0.compare.objects`)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StringComparisonOptions:
    """How two strings are compared.

    Normalization happens before any metric: `case_sensitive=False` folds case,
    `normalize_whitespace=True` turns every run of whitespace into one space and strips both
    ends, `trim_punctuation=True` strips sentence punctuation, quotes, brackets and markdown
    emphasis (`.,;:!?…"'“”‘’«»()[]{}*_`` ` ``) at both ends, so `**Paris.**` reads as
    `Paris`; inner punctuation (`3.14`) is kept. `algorithm` picks the metric of
    `Compare.strings`.
    """

    case_sensitive: bool = True
    normalize_whitespace: bool = False
    trim_punctuation: bool = False
    algorithm: StringAlgorithm = "levenshtein"

    def __post_init__(self) -> None:
        if self.algorithm not in STRING_ALGORITHMS:
            raise Error(
                f"StringComparisonOptions.algorithm must be one of {list(STRING_ALGORITHMS)}, "
                f"got {self.algorithm!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


@dataclass(frozen=True, slots=True)
class ObjectComparisonOptions:
    """How two nested values (dicts, lists, Pydantic models, dataclasses, scalars) are compared.

    - `numeric_tolerance`: numbers closer than this (absolute) are equal.
    - `ignore_keys`: mapping keys skipped at every depth.
    - `ignore_order`: lists compare as multisets (an element matches any equal element).
    - `string_options`: normalization (and metric) used for strings; None compares exactly.
    - `string_threshold`: strings whose similarity is at least this are equal (1.0: only
      strings that are identical after normalization).
    """

    numeric_tolerance: float = 0.0
    ignore_keys: tuple[str, ...] = ()
    ignore_order: bool = False
    string_options: StringComparisonOptions | None = None
    string_threshold: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.numeric_tolerance, bool) or not (
            isinstance(self.numeric_tolerance, (int, float)) and self.numeric_tolerance >= 0
        ):
            raise Error(
                "ObjectComparisonOptions.numeric_tolerance must be a number >= 0, "
                f"got {self.numeric_tolerance!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        check_threshold(self.string_threshold, "ObjectComparisonOptions.string_threshold")


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between `expected` and `actual`, at `path` (like `a.b[2].c`; `""` is
    the root). `expected`/`actual` are None where the value is absent (added/removed)."""

    path: str
    type: DifferenceType
    severity: DifferenceSeverity
    expected: Any
    actual: Any
    message: str


def check_threshold(value: object, name: str) -> None:
    """Raise a clear error unless `value` is a similarity threshold in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise Error(
            f"{name} must be a number between 0 and 1, got {value!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )


__all__ = [
    "STRING_ALGORITHMS",
    "Difference",
    "DifferenceSeverity",
    "DifferenceType",
    "ObjectComparisonOptions",
    "StringAlgorithm",
    "StringComparisonOptions",
    "check_threshold",
]
