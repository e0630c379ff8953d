"""The loop detector against a reference that searches the whole window for the needle.

`LoopDetector._check` looks for the needle's earlier copies only as far back as a loop's
period can be (a `threshold`-th of the window); the reference is the same detector reading
the whole window. On any text, split anywhere, both must report the same loop at the same
feed.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from l0.guardrails._loops import _CANDIDATES, _NEEDLE, _WORD, Loop, LoopDetector, _word_aligned


class WholeWindowLoopDetector(LoopDetector):
    """The detector as it was before the search was bounded: rfind from `lowest`."""

    def _check(self, window: str, end: int, offset: int) -> Loop | None:
        lowest = max(0, end - self.window)
        if end - lowest < 2 * _NEEDLE:
            return None
        needle = window[end - _NEEDLE : end]
        search_end = end - 1
        for _ in range(_CANDIDATES):
            found = window.rfind(needle, lowest, search_end)
            if found < 0:
                return None
            period = end - _NEEDLE - found
            unit_size = period * -(-self.min_unit // period)
            span = unit_size * self.threshold
            if end - span < lowest:
                return None
            if window[end - span : end - period] == window[end - span + period : end]:
                unit = _word_aligned(window[end - unit_size : end])
                if len({word.lower() for word in _WORD.findall(unit)}) >= 2:
                    return Loop(offset + end - span, unit, self.threshold, offset + end)
            search_end = found + _NEEDLE - 1
        return None


# Units of several lengths, some near-copies, so periods fall on both sides of the bound.
UNITS = [
    "We will review the numbers again. ", "the cat sat on the mat, ", "ab cd ", "ab ce ",
    "x" * 30, "Check the logs again now. ", "a long line that is about fifty characters long. ",
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen. ",
]
texts = st.lists(
    st.tuples(st.sampled_from(UNITS), st.integers(1, 6)).map(lambda pair: pair[0] * pair[1]),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    sizes=st.lists(st.integers(1, 120), max_size=30),
    window=st.sampled_from([40, 100, 333, 1000]),
    threshold=st.sampled_from([2, 3, 5]),
)
def test_the_bounded_search_finds_what_searching_the_whole_window_finds(
    text: str, sizes: list[int], window: int, threshold: int
) -> None:
    bounded = LoopDetector(window=window, threshold=threshold)
    whole = WholeWindowLoopDetector(window=window, threshold=threshold)
    at = 0
    for size in [*sizes, len(text)]:
        piece = text[at : at + size]
        at += size
        assert bounded.feed(piece) == whole.feed(piece)
    assert bounded.finish() == whole.finish()


def test_a_loop_is_found() -> None:
    """The generator makes loops (the property above is not about texts without any)."""
    detector = LoopDetector(window=1000, threshold=3)
    pieces = ["Intro text here. ", *["We will review the numbers again. "] * 4]
    found = [detector.feed(piece) for piece in pieces]
    loop = next(item for item in found if item is not None)
    assert loop.unit == "We will review the numbers again. "
    assert loop.copies == 3
