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
end of the buffer, since more whitespace would belong to the same run. The matcher also
recognises a provider that starts its answer over, however long the repeat (see
`OverlapMatcher`); `detect_overlap` is the overlap rule alone, as the reference shows it.
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


def _common_prefix(piece: str, head: str, at: int) -> int:
    """How many first characters of `piece` equal `head` from position `at`."""
    size = 0
    for ours, theirs in zip(piece, head[at : at + len(piece)], strict=False):
        if ours != theirs:
            break
        size += 1
    return size


class OverlapMatcher:
    """Buffers a resumed stream until its overlap with the checkpoint is decided.

    `feed` each piece of the continuation; it returns None while undecided, then the
    `OverlapResult` for everything buffered (its `deduplicated` text is what to emit). Later
    pieces are new text: pass them on as they are (`feed` returns them unchanged, as a result
    without overlap). `finish` decides with what has arrived, when the stream ends early.

    A provider that starts its answer over repeats the checkpoint from its *beginning*, which
    the overlap rule (a suffix of at most `max_overlap` characters) cannot see once the
    answer is longer. While the continuation repeats the checkpoint's start, the matcher
    keeps holding it (comparing each piece in place, O(piece)); it is a *restart* once that
    repeat covers the whole checkpoint, or `max_overlap` characters of a longer one (and at
    least `min_overlap`). A checkpoint of at most `max_overlap` characters repeated whole is
    exactly the longest overlap, so for those nothing changes:

    - the whole checkpoint again: the repeat is removed like any overlap, the rest is new;
    - a restart that differs from the checkpoint after k characters (or ends there): the
      restarted answer replaces the kept text from there on. `rewind_to` is then set: the
      number of checkpoint characters to keep (the caller takes back the rest, with a
      RESET), and `deduplicated` is the restarted answer after them.
    """

    __slots__ = (
        "_buffer",
        "_checkpoint",
        "_head",
        "_options",
        "_prepared",
        "_repeated",
        "_restarting",
        "_settled",
        "_space",
        "_tail",
        "_verdict",
        "rewind_to",
    )

    def __init__(self, checkpoint: str, options: DeduplicationOptions | None = None) -> None:
        options = self._options = options or DEFAULT_OPTIONS
        self._checkpoint = checkpoint
        self._tail = _prepared_tail(checkpoint, options) if checkpoint else ""
        self._head = _prepare(checkpoint, options) if checkpoint else ""  # for restarts
        self._buffer: list[str] = []
        self._prepared = ""  # the buffer, prepared, while the overlap rule is undecided
        self._settled = False  # the overlap rule can decide (the buffer cannot grow into more)
        self._repeated = 0  # prepared characters that repeat the checkpoint from its start
        self._restarting = bool(self._head)  # everything so far repeats the checkpoint's start
        self._space = False  # the prepared continuation ends with a (collapsed) space
        self._verdict: OverlapResult | None = None
        self.rewind_to: int | None = None  # set by a restart that differs from the checkpoint

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
        if options.normalize_whitespace:
            if piece[:1] == " " and self._space:
                piece = piece[1:]  # the same whitespace run goes on
            if piece:
                self._space = piece[-1] == " "
        if self._restarting:
            at = self._repeated
            if self._head.startswith(piece, at):
                self._repeated = at + len(piece)
            else:
                self._repeated = at + _common_prefix(piece, self._head, at)
                self._restarting = False
        if not self._settled:
            prepared = self._prepared + piece
            tail = self._tail
            if len(prepared) < len(tail) and (
                not prepared or tail.find(prepared, 0, len(tail) - 1) >= 0
            ):
                self._prepared = prepared  # the buffer may still grow into a longer overlap
            else:
                self._settled, self._prepared = True, ""
        return self._decide(final=False)

    def finish(self) -> OverlapResult:
        """Decide with what has arrived (the stream ended or the overlap is settled)."""
        if self._verdict is None:
            self._decide(final=True)  # always decides when final
        assert self._verdict is not None
        return self._verdict

    def _decide(self, *, final: bool) -> OverlapResult | None:
        head, repeated, options = self._head, self._repeated, self._options
        restart = repeated >= max(options.min_overlap, min(len(head), options.max_overlap))
        if restart and (final or repeated >= len(head) or not self._restarting):
            return self._restart_verdict(final=final)
        if self._restarting and not final:
            return None  # still repeating the checkpoint's start: it may be a restart
        if not self._settled and not final:
            return None  # the buffer may still grow into a longer overlap
        buffered = "".join(self._buffer)
        tail = self._tail
        if tail and buffered:
            verdict = _resolve(tail, buffered, options)
        else:
            verdict = OverlapResult(False, 0, "", buffered)
        if (
            not final
            and options.normalize_whitespace
            and verdict.overlap_length == len(buffered)
            and buffered[-1:].isspace()
        ):
            return None  # more whitespace would belong to the overlap's last run
        return self._settle(verdict)

    def _restart_verdict(self, *, final: bool) -> OverlapResult | None:
        buffered = "".join(self._buffer)
        options = self._options
        repeated = min(self._repeated, len(self._head))
        end = _original_length(buffered, repeated, options)
        if (
            not final
            and options.normalize_whitespace
            and end == len(buffered)
            and buffered[-1:].isspace()
        ):
            return None  # more whitespace would belong to the repeat's last run
        if repeated < len(self._head):  # the restarted answer differs from here on
            self.rewind_to = _original_length(self._checkpoint, repeated, options)
        return self._settle(OverlapResult(True, end, buffered[:end], buffered[end:]))

    def _settle(self, verdict: OverlapResult) -> OverlapResult:
        self._buffer.clear()
        self._verdict = verdict
        return verdict


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
