"""String similarity metrics, each a number in [0, 1] where 1.0 means identical.

Edit-distance metrics (Levenshtein, Jaro-Winkler) come from `rapidfuzz`: a maintained C++
library whose bit-parallel algorithms stay fast on the long texts LLMs produce, where a
pure-Python O(n·m) table takes seconds. It is imported on first use so `import l0` stays
fast. The token metrics (cosine over word counts, Jaccard over word sets) are a few lines of
counting and are written here.

Every metric first applies the same normalization (`StringComparisonOptions`): optional
whitespace collapsing, trimming of punctuation at the ends, and case folding. Words, for the
token metrics, are runs of `\\w` characters, so punctuation never makes two words differ.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from l0.compare.types import StringAlgorithm, StringComparisonOptions

_DEFAULT = StringComparisonOptions()
_WORD = re.compile(r"\w+")
# Stripped by `trim_punctuation` (with whitespace, so "Paris. " and "**Paris**" trim fully).
_EDGE_PUNCTUATION = ".,;:!?…\"'“”‘’«»()[]{}*_` \t\r\n"


def normalize(text: str, options: StringComparisonOptions | None = None) -> str:
    """`text` as the metrics see it under `options`."""
    options = options or _DEFAULT
    if options.normalize_whitespace:
        text = " ".join(text.split())
    if options.trim_punctuation:
        text = text.strip(_EDGE_PUNCTUATION)
    if not options.case_sensitive:
        text = text.casefold()
    return text


def levenshtein_distance(a: str, b: str, options: StringComparisonOptions | None = None) -> int:
    """The number of single-character insertions, deletions and substitutions from a to b."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(normalize(a, options), normalize(b, options)))


def levenshtein_similarity(a: str, b: str, options: StringComparisonOptions | None = None) -> float:
    """1 - distance / length of the longer string (1.0 for two empty strings)."""
    from rapidfuzz.distance import Levenshtein

    return float(Levenshtein.normalized_similarity(normalize(a, options), normalize(b, options)))


def jaro_winkler(a: str, b: str, options: StringComparisonOptions | None = None) -> float:
    """Jaro similarity boosted for a shared prefix (prefix weight 0.1, up to 4 characters)."""
    from rapidfuzz.distance import JaroWinkler

    return float(JaroWinkler.similarity(normalize(a, options), normalize(b, options)))


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _without_words(a: str, b: str) -> float:
    # Strings without any word (punctuation, spaces) can only be compared as they are.
    return 1.0 if a == b else 0.0


def cosine_similarity(a: str, b: str, options: StringComparisonOptions | None = None) -> float:
    """Cosine of the angle between the two texts' word-count vectors."""
    a, b = normalize(a, options), normalize(b, options)
    left, right = Counter(_words(a)), Counter(_words(b))
    if not left or not right:
        return _without_words(a, b) if not left and not right else 0.0
    dot = sum(count * right[word] for word, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values()) * sum(c * c for c in right.values()))
    return min(1.0, dot / norm)


def jaccard_similarity(a: str, b: str, options: StringComparisonOptions | None = None) -> float:
    """Shared words over all words, counting each distinct word once."""
    a, b = normalize(a, options), normalize(b, options)
    left, right = set(_words(a)), set(_words(b))
    if not left or not right:
        return _without_words(a, b) if not left and not right else 0.0
    return len(left & right) / len(left | right)


_METRICS: dict[StringAlgorithm, Callable[[str, str, StringComparisonOptions | None], float]] = {
    "levenshtein": levenshtein_similarity,
    "jaro_winkler": jaro_winkler,
    "cosine": cosine_similarity,
    "jaccard": jaccard_similarity,
}


def similarity(a: str, b: str, options: StringComparisonOptions | None = None) -> float:
    """Similarity of a and b with the metric `options.algorithm` (Levenshtein by default)."""
    options = options or _DEFAULT
    if a == b:
        return 1.0
    return _METRICS[options.algorithm](a, b, options)


__all__ = [
    "cosine_similarity",
    "jaccard_similarity",
    "jaro_winkler",
    "levenshtein_distance",
    "levenshtein_similarity",
    "normalize",
    "similarity",
]
