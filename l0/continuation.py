"""Continuation from a checkpoint, and removal of the text a model repeats when it resumes.

When a stream fails after some text, l0 can resume from the last checkpoint instead of
starting over. A resumed model often repeats the end of what it already said; the overlap is
the longest suffix of the checkpoint that is also a prefix of the continuation (at least
`min_overlap`, at most `max_overlap` characters), optionally ignoring case and treating runs
of whitespace as one space. Only the text after the overlap is new.

`OverlapMatcher` does the same on a live stream: it buffers the continuation until the
overlap can be decided (it may span many tokens), then releases only the new text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from l0.errors import Error, ErrorCode


@dataclass(frozen=True, slots=True)
class DeduplicationOptions:
    min_overlap: int = 2
    max_overlap: int = 500
    case_sensitive: bool = True
    normalize_whitespace: bool = False

    def __post_init__(self) -> None:
        if self.min_overlap < 1 or self.max_overlap < self.min_overlap:
            raise Error(
                "DeduplicationOptions needs 1 <= min_overlap <= max_overlap, got "
                f"min_overlap={self.min_overlap}, max_overlap={self.max_overlap}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


@dataclass(frozen=True, slots=True)
class ContinuationConfig:
    enabled: bool = True
    checkpoint_interval: int = 5  # tokens between checkpoints
    deduplicate: bool = True
    deduplication_options: DeduplicationOptions = field(default_factory=DeduplicationOptions)
    validate_checkpoint: bool = True  # run the guardrails over a checkpoint before resuming

    def __post_init__(self) -> None:
        if not isinstance(self.checkpoint_interval, int) or self.checkpoint_interval < 1:
            raise Error(
                f"ContinuationConfig.checkpoint_interval must be an int >= 1, "
                f"got {self.checkpoint_interval!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )

    @classmethod
    def from_option(cls, value: bool | ContinuationConfig | None) -> ContinuationConfig | None:
        """Normalize `continue_from_last_good_token`: None when continuation is off."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, ContinuationConfig):
            return value if value.enabled else None
        raise Error(
            "continue_from_last_good_token must be a bool or a ContinuationConfig, "
            f"got {type(value).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )


@dataclass(frozen=True, slots=True)
class OverlapResult:
    has_overlap: bool
    overlap_length: int
    overlap_text: str
    deduplicated: str


DEFAULT_OPTIONS = DeduplicationOptions()


class _Comparable:
    """A string prepared for matching: folded case and/or collapsed whitespace, plus, for
    every character of the prepared form, the index just past it in the original."""

    __slots__ = ("ends", "text")

    def __init__(self, original: str, options: DeduplicationOptions) -> None:
        chars: list[str] = []
        ends: list[int] = []
        in_space = False
        for index, ch in enumerate(original):
            if options.normalize_whitespace and ch.isspace():
                if in_space:
                    ends[-1] = index + 1  # the run grows; it still counts as one space
                    continue
                in_space = True
                ch = " "
            else:
                in_space = False
            if not options.case_sensitive:
                folded = ch.lower()
                ch = folded if len(folded) == 1 else ch
            chars.append(ch)
            ends.append(index + 1)
        self.text = "".join(chars)
        self.ends = ends


def _longest_overlap(tail: str, head: str, options: DeduplicationOptions) -> int:
    """Length (in prepared characters) of the longest suffix of `tail` that prefixes `head`."""
    for size in range(min(len(tail), len(head), options.max_overlap), options.min_overlap - 1, -1):
        if tail.endswith(head[:size]):
            return size
    return 0


def detect_overlap(
    checkpoint: str,
    continuation: str,
    options: DeduplicationOptions | None = None,
) -> OverlapResult:
    """Find where `continuation` repeats the end of `checkpoint` (see the module docstring)."""
    options = options or DEFAULT_OPTIONS
    if not checkpoint or not continuation:
        return OverlapResult(False, 0, "", continuation)
    tail = _Comparable(checkpoint[-options.max_overlap * 4 :], options)
    head = _Comparable(continuation[: options.max_overlap * 4], options)
    size = _longest_overlap(tail.text[-options.max_overlap :], head.text, options)
    if size == 0:
        return OverlapResult(False, 0, "", continuation)
    end = head.ends[size - 1]
    return OverlapResult(True, end, continuation[:end], continuation[end:])


def deduplicate(
    checkpoint: str,
    continuation: str,
    options: DeduplicationOptions | None = None,
) -> str:
    """The part of `continuation` that is new after `checkpoint`."""
    return detect_overlap(checkpoint, continuation, options).deduplicated


class OverlapMatcher:
    """Buffers a resumed stream until its overlap with the checkpoint is decided."""

    __slots__ = ("_buffer", "_checkpoint", "_options", "_tail")

    def __init__(self, checkpoint: str, options: DeduplicationOptions | None = None) -> None:
        self._options = options or DEFAULT_OPTIONS
        self._checkpoint = checkpoint
        self._tail = _Comparable(checkpoint[-self._options.max_overlap * 4 :], self._options).text[
            -self._options.max_overlap :
        ]
        self._buffer: list[str] = []

    def feed(self, text: str) -> OverlapResult | None:
        """Add continuation text; the verdict once the overlap is decided, else None."""
        self._buffer.append(text)
        buffered = "".join(self._buffer)
        prepared = _Comparable(buffered, self._options).text
        if len(prepared) < len(self._tail) and self._could_grow(prepared):
            return None
        return self.finish()

    def finish(self) -> OverlapResult:
        """Decide with what has arrived (the stream ended or the overlap is settled)."""
        buffered = "".join(self._buffer)
        self._buffer = [buffered]
        return detect_overlap(self._checkpoint, buffered, self._options)

    def _could_grow(self, prepared: str) -> bool:
        """Whether a longer overlap is still possible: `prepared` occurs in the tail somewhere
        other than flush against its end, so more text could extend the match."""
        if not prepared:
            return True
        tail = self._tail
        start = tail.find(prepared)
        while start != -1:
            if start + len(prepared) < len(tail):
                return True
            start = tail.find(prepared, start + 1)
        return False


class Continuation:
    """The overlap utilities under one name, as the reference shows them."""

    detect_overlap = staticmethod(detect_overlap)
    deduplicate = staticmethod(deduplicate)


__all__ = [
    "Continuation",
    "ContinuationConfig",
    "DeduplicationOptions",
    "OverlapMatcher",
    "OverlapResult",
    "deduplicate",
    "detect_overlap",
]
