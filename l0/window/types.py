"""The data of document windows: configuration, chunks, per-chunk processing results and the
statistics over both. Durations are milliseconds, as in the reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule
from l0.pipeline.run_options import checked_run_options
from l0.retry import Retry
from l0.runtime.options import RunOptions
from l0.timeout import Timeout

StrategyName = Literal["token", "char", "paragraph", "sentence"]
TokenCounter = Callable[[str], int]
"""Counts the tokens of a text (e.g. `lambda s: len(encoding.encode(s))`)."""


class ChunkingStrategy(str, Enum):
    """Where chunk boundaries may fall. `size`/`overlap` are tokens except for CHAR."""

    TOKEN = "token"  # between words
    CHAR = "char"  # anywhere; size and overlap are characters
    PARAGRAPH = "paragraph"  # after blank lines (then sentences, words) when paragraphs fit
    SENTENCE = "sentence"  # after sentence ends and line breaks (then words)


class ContextRestorationStrategy(str, Enum):
    """What a failed chunk is retried with."""

    ADJACENT = "adjacent"  # the chunk plus k neighbours on each side on the k-th retry
    FULL = "full"  # the whole document


@dataclass(frozen=True, slots=True)
class ContextRestorationOptions:
    """Retry a chunk whose processing failed, with more of the document around it.

    Up to `max_attempts` retries; `on_restore(original, restored)` is called before each.
    The retried chunk keeps the original `index`; its `metadata` has `context_restored`,
    `restoration_attempt` and the original `original_start_pos`/`original_end_pos`.
    """

    enabled: bool = True
    strategy: ContextRestorationStrategy = ContextRestorationStrategy.ADJACENT
    max_attempts: int = 1
    on_restore: Callable[[DocumentChunk, DocumentChunk], object] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", _enum(ContextRestorationStrategy, self.strategy))
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise _invalid(f"max_attempts must be an int >= 0, got {self.max_attempts!r}")
        if self.max_attempts < 0:
            raise _invalid(f"max_attempts must be an int >= 0, got {self.max_attempts!r}")


@dataclass(frozen=True, slots=True)
class WindowConfig:
    """How a document is cut. `size` and `overlap` count tokens (characters for the "char"
    strategy); `0 <= overlap < size`. `token_counter` None: tiktoken's cl100k_base when it
    is installed and its encoding is already on disk, else `estimate_tokens`."""

    size: int = 2000
    overlap: int = 200
    strategy: ChunkingStrategy = ChunkingStrategy.TOKEN
    token_counter: TokenCounter | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", _enum(ChunkingStrategy, self.strategy))
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise _invalid(f"size must be an int >= 1, got {self.size!r}")
        overlap = self.overlap
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise _invalid(f"overlap must be an int >= 0, got {overlap!r}")
        if overlap >= self.size:
            raise _invalid(
                f"overlap ({overlap}) must be smaller than size ({self.size}), "
                "or no chunk could move past the previous one"
            )
        if self.token_counter is not None and not callable(self.token_counter):
            raise _invalid("token_counter must be a callable taking a str and returning an int")


@dataclass(slots=True)
class DocumentChunk:
    index: int  # Position (0-based)
    content: str  # Chunk text: exactly document[start_pos:end_pos]
    start_pos: int  # Start position in original document
    end_pos: int  # End position in original document
    token_count: int  # Estimated tokens
    char_count: int  # Character count
    is_first: bool  # Is this the first chunk?
    is_last: bool  # Is this the last chunk?
    total_chunks: int  # Total number of chunks
    metadata: dict[str, Any] = field(default_factory=dict)  # Custom metadata


@dataclass(frozen=True, slots=True)
class WindowStats:
    """A window at a glance. `avg_chunk_size` is characters; token counts use the window's
    counter, so they are estimates unless it is exact."""

    total_chunks: int
    total_chars: int
    total_tokens: int
    avg_chunk_size: float
    avg_chunk_tokens: float
    overlap_size: int
    strategy: ChunkingStrategy


@dataclass(frozen=True, slots=True)
class ChunkProcessConfig:
    """What to run for one chunk: `l0.run(stream=stream, fallbacks=..., ...)`. The reference
    names four options; `run_options` (an `l0.RunOptions`, or a dict of `l0.run` keywords)
    carries any of the others, and the four named ones win over it. Checked when built;
    `options` is the one `RunOptions` the chunk's run is given."""

    stream: Callable[[], Any]
    fallbacks: Sequence[Callable[[], Any]] | None = None
    guardrails: Sequence[GuardrailRule] | None = None
    retry: Retry | None = None
    timeout: Timeout | None = None
    run_options: RunOptions | Mapping[str, Any] | None = None
    options: RunOptions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        named = RunOptions(
            fallbacks=self.fallbacks, guardrails=self.guardrails, retry=self.retry,
            timeout=self.timeout,
        )  # fmt: skip
        given = checked_run_options(self.run_options, where="ChunkProcessConfig.run_options")
        object.__setattr__(self, "options", given.merge(named))


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """One chunk's processing. `content` is the text produced (None on error); `duration`
    in ms covers every attempt; `attempts` counts context restorations too."""

    chunk: DocumentChunk
    status: Literal["success", "error"]
    content: str | None = None
    error: Exception | None = None
    duration: float = 0.0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class ProcessingStats:
    """Over a list of `ChunkResult`s: `success_rate` in percent, durations in ms."""

    total: int
    successful: int
    failed: int
    success_rate: float
    avg_duration: float
    total_duration: float


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _enum(kind: type[Any], value: object) -> Any:
    try:
        return kind(value)
    except ValueError:
        names = [member.value for member in kind]
        raise _invalid(f"{kind.__name__} must be one of {names}, got {value!r}") from None


__all__ = [
    "ChunkProcessConfig",
    "ChunkResult",
    "ChunkingStrategy",
    "ContextRestorationOptions",
    "ContextRestorationStrategy",
    "DocumentChunk",
    "ProcessingStats",
    "StrategyName",
    "TokenCounter",
    "WindowConfig",
    "WindowStats",
]
