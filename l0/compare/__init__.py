"""Compare strings (similarity metrics) and nested values (differences with paths).

    >>> Compare.strings("kitten", "sitting")            # Levenshtein similarity
    0.5714285714285714
    >>> [d.path for d in Compare.objects({"a": {"b": [1, 2, {"c": 3}]}},
    ...                                  {"a": {"b": [1, 2, {"c": 4}]}})]
    ['a.b[2].c']

Consensus groups answers with these functions; they are equally usable on their own.
"""

from __future__ import annotations

from l0.compare import objects as _objects, strings as _strings
from l0.compare.types import (
    Difference,
    DifferenceSeverity,
    DifferenceType,
    ObjectComparisonOptions,
    StringComparisonOptions,
    check_threshold,
)


class Compare:
    """The comparison toolkit. Every string metric returns a similarity in [0, 1]."""

    levenshtein_distance = staticmethod(_strings.levenshtein_distance)
    levenshtein_similarity = staticmethod(_strings.levenshtein_similarity)
    jaro_winkler = staticmethod(_strings.jaro_winkler)
    cosine_similarity = staticmethod(_strings.cosine_similarity)
    jaccard_similarity = staticmethod(_strings.jaccard_similarity)
    normalize = staticmethod(_strings.normalize)
    objects = staticmethod(_objects.differences)
    deep_equal = staticmethod(_objects.deep_equal)

    @staticmethod
    def strings(a: str, b: str, options: StringComparisonOptions | None = None) -> float:
        """Similarity of two strings with `options.algorithm` (Levenshtein by default)."""
        return _strings.similarity(a, b, options)

    @staticmethod
    def is_similar(
        a: str,
        b: str,
        *,
        threshold: float = 0.8,
        options: StringComparisonOptions | None = None,
    ) -> bool:
        """True when `Compare.strings(a, b, options)` is at least `threshold`."""
        check_threshold(threshold, "threshold")
        return _strings.similarity(a, b, options) >= threshold


__all__ = [
    "Compare",
    "Difference",
    "DifferenceSeverity",
    "DifferenceType",
    "ObjectComparisonOptions",
    "StringComparisonOptions",
]
