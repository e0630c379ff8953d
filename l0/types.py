"""The shared vocabulary of l0: events a stream yields, the live run state, and the enums
every other module speaks in.

`Event` is what a consumer iterates. `State` is what a run knows about itself; the runtime
appends tokens to it on the hot path, so its content is kept as a list of parts that is joined
only when someone reads `content` (never quadratic string building).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from l0.guardrails.types import GuardrailViolation


class EventType(str, Enum):
    """Kinds of events a stream yields."""

    TOKEN = "token"  # a piece of text
    MESSAGE = "message"  # a whole message
    DATA = "data"  # structured or binary payload (multimodal)
    PROGRESS = "progress"  # progress of a long, non-text operation
    TOOL_CALL = "tool_call"  # a complete tool/function call
    ERROR = "error"  # the run failed; the next iteration raises
    COMPLETE = "complete"  # the run finished; carries usage
    # Not in the reference: a retry or fallback discarded text the consumer already saw.
    # `data` says how much: {"reason", "attempt", "fallback_index", "discarded", "kept"};
    # a consumer keeps the first `kept` characters it received and drops the rest.
    RESET = "reset"


_TOKEN = EventType.TOKEN
_MESSAGE = EventType.MESSAGE
_DATA = EventType.DATA
_PROGRESS = EventType.PROGRESS
_TOOL_CALL = EventType.TOOL_CALL
_ERROR = EventType.ERROR
_COMPLETE = EventType.COMPLETE
_RESET = EventType.RESET


@dataclass(slots=True)
class Event:
    """One normalized stream event. `timestamp` is Unix epoch seconds."""

    type: EventType
    text: str | None = None
    data: dict[str, Any] | None = None
    error: BaseException | None = None
    usage: dict[str, int] | None = None
    timestamp: float | None = None

    @property
    def is_token(self) -> bool:
        return self.type is _TOKEN

    @property
    def is_message(self) -> bool:
        return self.type is _MESSAGE

    @property
    def is_data(self) -> bool:
        return self.type is _DATA

    @property
    def is_progress(self) -> bool:
        return self.type is _PROGRESS

    @property
    def is_tool_call(self) -> bool:
        return self.type is _TOOL_CALL

    @property
    def is_error(self) -> bool:
        return self.type is _ERROR

    @property
    def is_complete(self) -> bool:
        return self.type is _COMPLETE

    @property
    def is_reset(self) -> bool:
        return self.type is _RESET


class ErrorCategory(str, Enum):
    """What kind of failure an error is; decides whether and how it is retried."""

    NETWORK = "network"  # connection drops, DNS, SSL, timeouts: retried, not counted
    TRANSIENT = "transient"  # 429, 5xx, empty output: retried, not counted
    MODEL = "model"  # the model misbehaved: retried, counted toward `attempts`
    CONTENT = "content"  # guardrail violation, drift: retried, counted toward `attempts`
    PROVIDER = "provider"  # other API errors (4xx): not retried, a fallback may help
    FATAL = "fatal"  # 401/403 and the like: never retried
    INTERNAL = "internal"  # a bug or a misuse: never retried


class RuntimeState(str, Enum):
    """The states of the runtime machine (declared in machines/runtime.toml)."""

    INIT = "init"
    WAITING_FOR_TOKEN = "waiting_for_token"
    STREAMING = "streaming"
    TOOL_CALL_DETECTED = "tool_call_detected"
    CONTINUATION_MATCHING = "continuation_matching"
    CHECKPOINT_VERIFYING = "checkpoint_verifying"
    RETRYING = "retrying"
    FALLBACK = "fallback"
    HEDGING = "hedging"  # the next route races a slow first token (run(hedge_after=...))
    FINALIZING = "finalizing"
    COMPLETE = "complete"
    ERROR = "error"


RuntimeStates = RuntimeState

_STATE_FIELDS = (
    "content",
    "checkpoint",
    "token_count",
    "model_retry_count",
    "network_retry_count",
    "fallback_index",
    "violations",
    "drift_detected",
    "completed",
    "aborted",
    "first_token_at",
    "last_token_at",
    "duration",
    "resumed",
    "network_errors",
    "resume_point",
    "resume_from",
    "continuation_used",
    "deduplication_applied",
    "overlap_removed",
    "model",
    "finish_reason",
    "usage",
    "tool_calls",
)


class State:
    """Everything a run knows about itself, live while it streams.

    Timestamps are Unix epoch seconds. `checkpoint` is always a prefix of `content`: the
    last position the streaming checks passed, where a continuation may resume.
    """

    __slots__ = (
        "_checkpoint",
        "_checkpoint_length",
        "_checkpoint_parts",
        "_joined",
        "_joined_count",
        "_length",
        "_measured",
        "_parts",
        "aborted",
        "completed",
        "continuation_used",
        "deduplication_applied",
        "drift_detected",
        "duration",
        "fallback_index",
        "finish_reason",
        "first_token_at",
        "last_token_at",
        "model",
        "model_retry_count",
        "network_errors",
        "network_retry_count",
        "overlap_removed",
        "resume_from",
        "resume_point",
        "resumed",
        "token_count",
        "tool_calls",
        "usage",
        "violations",
    )

    def __init__(
        self,
        *,
        content: str = "",
        checkpoint: str = "",
        token_count: int = 0,
        model_retry_count: int = 0,
        network_retry_count: int = 0,
        fallback_index: int = 0,
        violations: list[GuardrailViolation] | None = None,
        drift_detected: bool = False,
        completed: bool = False,
        aborted: bool = False,
        first_token_at: float | None = None,
        last_token_at: float | None = None,
        duration: float | None = None,
        resumed: bool = False,
        network_errors: list[Any] | None = None,
        resume_point: str | None = None,
        resume_from: int | None = None,
        continuation_used: bool = False,
        deduplication_applied: bool = False,
        overlap_removed: str | None = None,
        model: str | None = None,
        finish_reason: str | None = None,
        usage: dict[str, int] | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> None:
        self._parts: list[str] = [content] if content else []
        self._joined = content
        self._joined_count = self._measured = len(self._parts)
        self._length = len(content)
        self._checkpoint: str | None = checkpoint
        self._checkpoint_length = len(checkpoint)
        self._checkpoint_parts: int | None = None  # a checkpoint marked by piece count
        self.token_count = token_count
        self.model_retry_count = model_retry_count
        self.network_retry_count = network_retry_count
        self.fallback_index = fallback_index
        self.violations: list[GuardrailViolation] = [] if violations is None else violations
        self.drift_detected = drift_detected
        self.completed = completed
        self.aborted = aborted
        self.first_token_at = first_token_at
        self.last_token_at = last_token_at
        self.duration = duration
        self.resumed = resumed
        self.network_errors: list[Any] = [] if network_errors is None else network_errors
        self.resume_point = resume_point
        self.resume_from = resume_from
        self.continuation_used = continuation_used
        self.deduplication_applied = deduplication_applied
        self.overlap_removed = overlap_removed
        self.model = model
        self.finish_reason = finish_reason
        self.usage = usage
        self.tool_calls: list[dict[str, Any]] = [] if tool_calls is None else tool_calls

    # -- content: appended per token, joined on read ---------------------------------------
    #
    # `_parts` only grows while an attempt streams (the runtime holds `_parts.append`), so an
    # index into it stays valid: readers can take "the parts since index i" in one C-level
    # join. Reading `content` joins what is new onto a cached prefix.

    @property
    def content(self) -> str:
        parts = self._parts
        if self._joined_count != len(parts):
            self._joined += "".join(parts[self._joined_count :])
            self._joined_count = len(parts)
        return self._joined

    @content.setter
    def content(self, value: str) -> None:
        checkpoint_length = self.checkpoint_length  # measured before the pieces change
        self._parts[:] = (value,) if value else ()
        self._joined = value
        self._joined_count = self._measured = len(self._parts)
        self._length = len(value)
        if checkpoint_length > len(value):
            self._set_checkpoint_length(0)

    @property
    def content_length(self) -> int:
        """Length of `content` in characters, without joining it."""
        parts = self._parts
        if self._measured != len(parts):
            self._length += sum(map(len, parts[self._measured :]))
            self._measured = len(parts)
        return self._length

    @property
    def part_count(self) -> int:
        """How many pieces the content was appended in (see `parts_since`)."""
        return len(self._parts)

    def parts_since(self, index: int) -> str:
        """The text appended after the first `index` pieces."""
        return "".join(self._parts[index:])

    def text_since(self, offset: int) -> str:
        """The content after character `offset`, in O(len(result)) without a full join."""
        need = self.content_length - offset
        if need <= 0:
            return ""
        parts = self._parts
        index = len(parts)
        covered = 0
        while covered < need:
            index -= 1
            covered += len(parts[index])
        head = parts[index][covered - need :]
        return head + "".join(parts[index + 1 :]) if index + 1 < len(parts) else head

    def truncate(self, length: int) -> str:
        """Keep the first `length` characters of the content; return what was cut off."""
        content = self.content
        self.content = content[:length]
        return content[length:]

    # -- checkpoint: a prefix of content, stored as a length ---------------------------------

    @property
    def checkpoint(self) -> str:
        if self._checkpoint is None:
            self._checkpoint = self.content[: self.checkpoint_length]
        return self._checkpoint

    @checkpoint.setter
    def checkpoint(self, value: str) -> None:
        self._checkpoint = value
        self._checkpoint_length = len(value)
        self._checkpoint_parts = None

    @property
    def checkpoint_length(self) -> int:
        if self._checkpoint_parts is not None:
            # Measured only when asked: checkpoints are marked every few tokens, read rarely.
            self._checkpoint_length = sum(map(len, self._parts[: self._checkpoint_parts]))
            self._checkpoint_parts = None
        return self._checkpoint_length

    def _set_checkpoint_length(self, length: int) -> None:
        self._checkpoint_parts = None
        if length != self._checkpoint_length or self._checkpoint is not None:
            self._checkpoint_length = length
            self._checkpoint = None

    def _mark_checkpoint(self) -> None:
        """The checkpoint is everything appended so far (O(1): measured when read)."""
        self._checkpoint_parts = len(self._parts)
        self._checkpoint = None

    # -- plain-data behaviour -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The state as plain data (violations and errors included as they are)."""
        return {name: getattr(self, name) for name in _STATE_FIELDS}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        preview = self.content
        if len(preview) > 40:
            preview = preview[:37] + "..."
        return (
            f"State(content={preview!r}, token_count={self.token_count}, "
            f"model_retry_count={self.model_retry_count}, "
            f"network_retry_count={self.network_retry_count}, "
            f"fallback_index={self.fallback_index}, completed={self.completed}, "
            f"aborted={self.aborted})"
        )


__all__ = [
    "ErrorCategory",
    "Event",
    "EventType",
    "RuntimeState",
    "RuntimeStates",
    "State",
]
