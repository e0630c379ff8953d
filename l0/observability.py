"""Lifecycle events: what happened in a run, for logs, metrics and replay — the vocabulary.

Every event carries the run's `stream_id` (a UUIDv7), a copy of the user's `context` taken
when the run started (so mutating the dict afterwards cannot rewrite history), `ts` in Unix
epoch milliseconds, and event-specific `meta`. `l0.event_bus.EventBus` (public as
`l0.EventBus`) delivers them; the run core sees a bus only as an `EventSink`, so this module
reads no clock and imports no I/O: the sans-I/O core may depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class ObservabilityEventType(str, Enum):
    SESSION_START = "SESSION_START"
    SESSION_END = "SESSION_END"
    STREAM_INIT = "STREAM_INIT"
    STREAM_READY = "STREAM_READY"
    RETRY_START = "RETRY_START"
    RETRY_ATTEMPT = "RETRY_ATTEMPT"
    RETRY_END = "RETRY_END"
    RETRY_GIVE_UP = "RETRY_GIVE_UP"
    FALLBACK_START = "FALLBACK_START"
    FALLBACK_END = "FALLBACK_END"
    GUARDRAIL_PHASE_START = "GUARDRAIL_PHASE_START"
    GUARDRAIL_RULE_RESULT = "GUARDRAIL_RULE_RESULT"
    GUARDRAIL_PHASE_END = "GUARDRAIL_PHASE_END"
    DRIFT_CHECK_RESULT = "DRIFT_CHECK_RESULT"
    NETWORK_ERROR = "NETWORK_ERROR"
    NETWORK_RECOVERY = "NETWORK_RECOVERY"
    CHECKPOINT_SAVED = "CHECKPOINT_SAVED"
    COMPLETE = "COMPLETE"
    ERROR = "ERROR"


@dataclass(slots=True)
class ObservabilityEvent:
    type: ObservabilityEventType
    ts: float  # Unix epoch milliseconds
    stream_id: str
    context: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


EventHandler = Callable[[ObservabilityEvent], Any]


class EventSink(Protocol):
    """What the run core needs from a bus (the driver hands it an `EventBus`)."""

    # Whether anyone listens: events are not built when nobody does.
    active: bool

    @property
    def stream_id(self) -> str: ...

    @property
    def context(self) -> dict[str, Any]: ...

    def add_handler(self, handler: EventHandler) -> None: ...

    def emit(
        self, event_type: ObservabilityEventType, *, ts: float | None = None, **meta: Any
    ) -> ObservabilityEvent | None: ...


__all__ = [
    "EventHandler",
    "EventSink",
    "ObservabilityEvent",
    "ObservabilityEventType",
]
