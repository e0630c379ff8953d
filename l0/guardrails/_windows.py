"""Measures of one window of text, for drift detection: informal markers and entropy.

`informal_markers` counts slang ("lol", "gonna", "haha"), runs of "!!", emoji and ":)" in
lower-cased text, by four cheap searches (one regex with all of them is several times
slower, and no marker of one kind can overlap one of another). `entropy` is the Shannon
entropy of the characters, in bits per character (a C-level count plus a table of
``c * log2(c)``). `entropy_is_meaningful` says whether a high entropy means garbage: not for
text mostly in CJK, kana, Hangul or emoji, nor for a window holding a data token (base64,
hex, keys). `WindowBaseline` keeps running sums of earlier windows, so comparing a window
with them is O(1).

Measuring a window's entropy (a `Counter` of its characters) costs about four times what
telling its distinct characters does (a `set`), and a window with at most
`MAX_DISTINCT_BELOW_FLOOR` distinct characters cannot reach `ENTROPY_FLOOR`
(entropy <= log2(distinct)), so it can never be a spike. Such windows join the baseline
unmeasured: their entropies are needed only for the mean a later window that could spike is
compared with, and are measured then, in order, so the running sum is the same float the
eager sum would be. Prose never gets there; up to `MAX_UNMEASURED` characters wait (a bounded
copy of the text, 100,000 characters), then they are measured at once.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter

ENTROPY_FLOOR = 5.5  # bits per character; prose and code stay well below
# A window with at most this many distinct characters has entropy <= log2(45) < 5.5 bits.
MAX_DISTINCT_BELOW_FLOOR = math.ceil(2**ENTROPY_FLOOR) - 1
MAX_UNMEASURED = 100_000  # characters of windows waiting to be measured, at most
_WIDE_SHARE = 0.3  # more than this share of wide characters: entropy means nothing
_A = "['’]"
_SLANG = re.compile(
    r"\b(?:lol|lmao|rofl|omg|wtf|gonna|wanna|gotta|dude|bruh|yolo|nah|yep|yup|kinda|sorta"
    rf"|y{_A}all|ain{_A}t|ha(?:ha)+)\b"
)
# Every slang match contains one of these words: a window without any (most windows) is
# not searched for slang at all. Substring tests, in C, cost half the pre-check regex.
_SLANG_WORDS = (
    "lol", "lmao", "rofl", "omg", "wtf", "gonna", "wanna", "gotta", "dude", "bruh", "yolo",
    "nah", "yep", "yup", "kinda", "sorta", "y'all", "y’all", "ain't", "ain’t", "haha",
)  # fmt: skip
_BANGS = re.compile(r"!{2,}")
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF]")
# ":)" after whitespace; the lookbehind after the colon, not before it, lets `re` skip ahead
# to the colons (four times faster on text with colons that are not emoticons).
_EMOTICON = re.compile(r"[:;](?<=\s[:;])-?[()](?=\s|$)")
_BLOB = re.compile(r"[A-Za-z0-9+/=_\-]{40,}")  # base64, hex, keys, hashes: data, not prose



@functools.cache
def _wide() -> re.Pattern[str]:
    """CJK, kana, Hangul, emoji (compiled on first use: its big ranges take milliseconds)."""
    return re.compile(r"[\u2e80-\ud7ff\uf900-\ufaff\U0001F300-\U0001FAFF\U00020000-\U0003FFFF]")


def entropy_is_meaningful(window: str) -> bool:
    """Whether a window's entropy means anything: not mostly wide characters (CJK, emoji),
    no long data token (base64, hex)."""
    if not window.isascii() and len(_wide().findall(window)) > _WIDE_SHARE * len(window):
        return False
    return _BLOB.search(window) is None


def _may_have_slang(lowered: str) -> bool:
    for word in _SLANG_WORDS:  # noqa: SIM110 (a plain loop: any() over a generator costs more)
        if word in lowered:
            return True
    return False


def informal_markers(lowered: str) -> int:
    count = len(_SLANG.findall(lowered)) if _may_have_slang(lowered) else 0
    if "!!" in lowered:
        count += len(_BANGS.findall(lowered))
    if not lowered.isascii():
        count += len(_EMOJI.findall(lowered))
    if ":" in lowered or ";" in lowered:
        count += len(_EMOTICON.findall(lowered))
    return count


@functools.lru_cache(maxsize=8)
def _c_log_c(size: int) -> tuple[float, ...]:
    """c * log2(c) for every count c a window of `size` characters can have."""
    return (0.0, *(c * math.log2(c) for c in range(1, size + 1)))


def entropy(text: str) -> float:
    """Shannon entropy of the characters of `text`, in bits per character."""
    size = len(text)
    table = _c_log_c(size)
    return math.log2(size) - sum(map(table.__getitem__, Counter(text).values())) / size


class WindowBaseline:
    """Running sums over the judged windows, to compare a new window with the earlier ones
    in O(1). The last window is kept apart: the final window overlaps it. Windows that
    cannot spike wait unmeasured (module docstring); `lazy=False` measures every window at
    once (the reference the lazy form is tested against)."""

    __slots__ = ("entropies", "entropy_sum", "last", "lazy", "marker_sum", "unmeasured",
                 "unmeasured_size", "windows")

    def __init__(self, *, lazy: bool = True) -> None:
        self.windows = 0
        self.marker_sum = 0
        self.entropies = 0
        self.entropy_sum = 0.0
        self.lazy = lazy
        self.unmeasured: list[str] = []  # windows whose entropy counts but is not summed yet
        self.unmeasured_size = 0  # their characters
        # (markers, entropy) of the last window; entropy None: not measured (or not tracked)
        self.last: tuple[int, float | None] | None = None

    def may_spike(self, window: str) -> bool:
        """Whether `window`'s entropy could reach ENTROPY_FLOOR (always True when not lazy)."""
        return not self.lazy or len(set(window)) > MAX_DISTINCT_BELOW_FLOOR

    def add(self, markers: int, entropy: float | None) -> None:
        """A judged window, its entropy measured (None: entropy is not tracked)."""
        if self.unmeasured:
            self.measure()
        self.windows += 1
        self.marker_sum += markers
        if entropy is not None:
            self.entropies += 1
            self.entropy_sum += entropy
        self.last = (markers, entropy)

    def add_unmeasured(self, markers: int, window: str) -> None:
        """A judged window that cannot spike: its entropy is measured when needed."""
        self.windows += 1
        self.marker_sum += markers
        self.unmeasured.append(window)
        self.unmeasured_size += len(window)
        self.last = (markers, None)
        if self.unmeasured_size >= MAX_UNMEASURED:
            self.measure()

    def measure(self) -> None:
        """Measure the waiting windows into the sums, oldest first (as `add` would have)."""
        entropy_sum, value = self.entropy_sum, 0.0
        for window in self.unmeasured:
            value = entropy(window)
            entropy_sum += value
        self.entropies += len(self.unmeasured)
        self.entropy_sum = entropy_sum
        if self.last is not None and self.unmeasured:  # the last window waited too
            self.last = (self.last[0], value)
        self.unmeasured.clear()
        self.unmeasured_size = 0

    def before(self, *, skip_last: bool) -> tuple[float | None, float | None]:
        """Mean markers and mean entropy of the earlier windows (None when there are none)."""
        if self.unmeasured:
            self.measure()
        windows, markers = self.windows, self.marker_sum
        entropies, entropy_sum = self.entropies, self.entropy_sum
        if skip_last and self.last is not None:
            windows -= 1
            markers -= self.last[0]
            if self.last[1] is not None:
                entropies -= 1
                entropy_sum -= self.last[1]
        return (
            markers / windows if windows else None,
            entropy_sum / entropies if entropies else None,
        )

    def mean_markers(self, *, skip_last: bool) -> float | None:
        """Mean markers of the earlier windows, measuring nothing."""
        windows, markers = self.windows, self.marker_sum
        if skip_last and self.last is not None:
            windows -= 1
            markers -= self.last[0]
        return markers / windows if windows else None



__all__ = [
    "ENTROPY_FLOOR",
    "MAX_DISTINCT_BELOW_FLOOR",
    "WindowBaseline",
    "entropy",
    "entropy_is_meaningful",
    "informal_markers",
]
