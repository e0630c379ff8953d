"""Continuation from a checkpoint, and removal of the text a model repeats when it resumes.

When a stream fails after some text, l0 can resume from the last checkpoint instead of
starting over. A resumed model often repeats the end of what it already said; the overlap is
the longest suffix of the checkpoint that is also a prefix of the continuation, at least
`min_overlap` and at most `max_overlap` characters long. Only the text after it is new.

Matching happens on *prepared* text: with `normalize_whitespace` every run of whitespace is
one space, and with `case_sensitive=False` letters are lower-cased (one character for one,
final sigma as sigma). Lengths and limits count prepared characters; the overlap removed is
the matching stretch of the original continuation, whitespace runs included whole.

The search itself is a few C-level string operations: find each place where the
continuation's first `min_overlap` characters occur in the checkpoint's tail, leftmost
first, and take the first one from which the whole rest of the tail starts the continuation.

`OverlapMatcher` does the same on a live stream. It buffers the continuation until the
overlap is decided: when the buffered (prepared) text no longer occurs inside the tail other
than flush against its end, or is as long as the tail, no later text can change the answer.
With `normalize_whitespace` it also waits while the overlap ends with a whitespace run at the
end of the buffer, since more whitespace would belong to the same run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from l0.errors import Error, ErrorCode

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class DeduplicationOptions:
    min_overlap: int = 2
    max_overlap: int = 500
    case_sensitive: bool = True
    normalize_whitespace: bool = False

    def __post_init__(self) -> None:
        for name in ("min_overlap", "max_overlap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise Error(
                    f"DeduplicationOptions.{name} must be an int, got {value!r}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
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
        interval = self.checkpoint_interval
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise Error(
                f"ContinuationConfig.checkpoint_interval must be an int >= 1, got {interval!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        if not isinstance(self.deduplication_options, DeduplicationOptions):
            raise Error(
                "ContinuationConfig.deduplication_options must be a DeduplicationOptions, got "
                f"{type(self.deduplication_options).__name__}",
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
    overlap_length: int  # characters of the continuation that repeat the checkpoint
    overlap_text: str
    deduplicated: str  # the continuation without them


DEFAULT_OPTIONS = DeduplicationOptions()


def _prepare(text: str, options: DeduplicationOptions) -> str:
    """`text` as it is matched (see the module docstring)."""
    if options.normalize_whitespace:
        text = _WHITESPACE.sub(" ", text)
    if not options.case_sensitive:
        lower = text.lower()
        if len(lower) != len(text):  # e.g. "İ" lowers to two characters: keep those as they are
            lower = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
        text = lower.replace("ς", "σ")
    return text


def _prepared_tail(checkpoint: str, options: DeduplicationOptions) -> str:
    """The last `max_overlap` prepared characters of the checkpoint."""
    size = options.max_overlap
    take = size
    while True:
        tail = _prepare(checkpoint[-take:], options)
        if len(tail) >= size or take >= len(checkpoint):
            return tail[-size:]
        take *= 2  # collapsed whitespace: read further back


def _original_length(original: str, prepared_length: int, options: DeduplicationOptions) -> int:
    """How many characters of `original` make its first `prepared_length` prepared ones."""
    if not options.normalize_whitespace:
        return prepared_length
    original_at = prepared_at = 0
    for run in _WHITESPACE.finditer(original):
        run_at = prepared_at + run.start() - original_at  # where the run's space is prepared
        if prepared_length <= run_at:
            break
        original_at, prepared_at = run.end(), run_at + 1
    return original_at + prepared_length - prepared_at


def _longest_overlap(tail: str, head: str, min_overlap: int) -> int:
    """Length of the longest suffix of `tail` (at least `min_overlap`) that prefixes `head`."""
    if len(head) < min_overlap or len(tail) < min_overlap:
        return 0
    probe = head[:min_overlap]
    at = tail.find(probe, max(0, len(tail) - len(head)))
    while at != -1:
        if head.startswith(tail[at:]):
            return len(tail) - at
        at = tail.find(probe, at + 1)
    return 0


def _resolve(tail: str, continuation: str, options: DeduplicationOptions) -> OverlapResult:
    head = _prepare(continuation[: options.max_overlap], options)
    if options.normalize_whitespace and len(head) < options.max_overlap:
        head = _prepare(continuation, options)[: options.max_overlap]
    size = _longest_overlap(tail, head, options.min_overlap)
    if size == 0:
        return OverlapResult(False, 0, "", continuation)
    end = _original_length(continuation, size, options)
    return OverlapResult(True, end, continuation[:end], continuation[end:])


def detect_overlap(
    checkpoint: str,
    continuation: str,
    options: DeduplicationOptions | None = None,
) -> OverlapResult:
    """Find where `continuation` repeats the end of `checkpoint` (see the module docstring)."""
    options = options or DEFAULT_OPTIONS
    if not checkpoint or not continuation:
        return OverlapResult(False, 0, "", continuation)
    return _resolve(_prepared_tail(checkpoint, options), continuation, options)


def deduplicate(
    checkpoint: str,
    continuation: str,
    options: DeduplicationOptions | None = None,
) -> str:
    """The part of `continuation` that is new after `checkpoint`."""
    return detect_overlap(checkpoint, continuation, options).deduplicated


class OverlapMatcher:
    """Buffers a resumed stream until its overlap with the checkpoint is decided.

    `feed` each piece of the continuation; it returns None while undecided, then the
    `OverlapResult` for everything buffered (its `deduplicated` text is what to emit). Later
    pieces are new text: pass them on as they are (`feed` returns them unchanged, as a result
    without overlap). `finish` decides with what has arrived, when the stream ends early.
    """

    __slots__ = ("_buffer", "_options", "_prepared", "_tail", "_verdict")

    def __init__(self, checkpoint: str, options: DeduplicationOptions | None = None) -> None:
        self._options = options or DEFAULT_OPTIONS
        self._tail = _prepared_tail(checkpoint, self._options) if checkpoint else ""
        self._buffer: list[str] = []
        self._prepared = ""  # the buffer, prepared; shorter than the tail while undecided
        self._verdict: OverlapResult | None = None

    @property
    def decided(self) -> bool:
        return self._verdict is not None

    def feed(self, text: str) -> OverlapResult | None:
        """Add continuation text; the verdict once the overlap is decided, else None."""
        if self._verdict is not None:
            return OverlapResult(False, 0, "", text)
        self._buffer.append(text)
        options = self._options
        piece = _prepare(text, options)
        if options.normalize_whitespace and piece[:1] == " " and self._prepared[-1:] == " ":
            piece = piece[1:]  # the same whitespace run goes on
        prepared = self._prepared + piece
        self._prepared = prepared
        tail = self._tail
        if len(prepared) < len(tail) and (
            not prepared or tail.find(prepared, 0, len(tail) - 1) >= 0
        ):
            return None  # the buffer may still grow into a longer overlap
        buffered = "".join(self._buffer)
        verdict = _resolve(tail, buffered, options) if tail else OverlapResult(
            False, 0, "", buffered
        )
        if (
            options.normalize_whitespace
            and verdict.overlap_length == len(buffered)
            and buffered[-1:].isspace()
        ):
            return None  # more whitespace would belong to the overlap's last run
        self._buffer.clear()
        self._verdict = verdict
        return verdict

    def finish(self) -> OverlapResult:
        """Decide with what has arrived (the stream ended or the overlap is settled)."""
        if self._verdict is None:
            buffered = "".join(self._buffer)
            self._buffer.clear()
            if not self._tail or not buffered:
                self._verdict = OverlapResult(False, 0, "", buffered)
            else:
                self._verdict = _resolve(self._tail, buffered, self._options)
        return self._verdict


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
