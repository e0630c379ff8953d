"""The data of a recording: what was recorded, in what envelope, about which stream.

A recording is the sequence of *inputs* one run's core received, in order: an `INIT` record
(the run's configuration, clock origin, random seed, stream id and redacted context), then
one record per fact the driver reported (`START`, `TOKEN`, `CHUNK`, `FAILED`, `WOKE`, ...),
each with the driver-clock `now` it carried, plus the answers of user code the core consulted
(guardrail outcomes, `calculate_delay` results), the points where the driver delivered the
core's queued events (`DRAIN`), and, for verification, the lifecycle events the run emitted
(`LIFECYCLE`). Each record travels in an `EventEnvelope` (stream id + sequence number).

Everything here is plain data with `to_dict`/`from_dict`, so recordings survive JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from l0.eventsourcing.errors import redact_record
from l0.types import State

FORMAT_VERSION = 1


class RecordedEventType(str, Enum):
    """What a record is. Facts are replayed in order; the rest support them."""

    INIT = "init"  # the run's configuration (first record)
    # facts, as the driver reported them to the core
    START = "start"
    OPENED = "opened"
    TOKEN = "token"
    CHUNK = "chunk"  # a non-text chunk: an l0.Event, or something l0 cannot read
    END = "end"
    FAILED = "failed"
    CONSULTED = "consulted"  # the answer of Retry.should_retry
    WOKE = "woke"
    TIMED_OUT = "timed_out"
    ABORT_REQUESTED = "abort_requested"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    CHECK = "check"  # an off-loop guardrail check ran (its outcome)
    CHECKED = "checked"  # ... and its result was handed to the core
    QUIET = "quiet"  # the consumer stopped (or started) looking at token events
    HEDGE = "hedge"  # no first token by hedge_after: the next route races (run(hedge_after=))
    HEDGE_DROPPED = "hedge_dropped"  # a racer failed before any first token
    HEDGE_SETTLED = "hedge_settled"  # the racer kept
    LEFT = "left"  # the run stopped short: cancelled, closed, or a BaseException went through
    # what the driver did with the core's output
    DRAIN = "drain"  # queued events were delivered to the consumer here
    # answers of user code called from inside the core, consumed in order on replay
    GUARDRAIL = "guardrail"  # the outcome of one guardrail evaluation
    DELAY = "delay"  # the result of Retry.calculate_delay
    # for verification only
    LIFECYCLE = "lifecycle"  # a lifecycle event as the live run emitted it


FACTS = frozenset(
    {
        RecordedEventType.START,
        RecordedEventType.OPENED,
        RecordedEventType.TOKEN,
        RecordedEventType.CHUNK,
        RecordedEventType.END,
        RecordedEventType.FAILED,
        RecordedEventType.CONSULTED,
        RecordedEventType.WOKE,
        RecordedEventType.TIMED_OUT,
        RecordedEventType.ABORT_REQUESTED,
        RecordedEventType.ABORTED,
        RecordedEventType.INTERRUPTED,
        RecordedEventType.CHECK,
        RecordedEventType.CHECKED,
        RecordedEventType.QUIET,
        RecordedEventType.LEFT,
        RecordedEventType.DRAIN,
        RecordedEventType.HEDGE,
        RecordedEventType.HEDGE_DROPPED,
        RecordedEventType.HEDGE_SETTLED,
    }
)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One record: its type, the driver-clock `now` it carried (None for records without
    one), and its payload."""

    type: RecordedEventType
    now: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_fact(self) -> bool:
        return self.type in FACTS


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """A record as stored: which stream, which position (0-based, gapless)."""

    stream_id: str
    sequence: int
    event: RecordedEvent

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "seq": self.sequence,
            "type": self.event.type.value,
            "now": self.event.now,
            "data": dict(self.event.data),
        }

    @classmethod
    def from_row(cls, stream_id: str, seq: Any, kind: Any, now: Any, data: str) -> EventEnvelope:
        """An envelope from a database row (`seq, type, now, data` as JSON text), as the
        SQLite and PostgreSQL stores keep them."""
        return cls.from_dict(
            {"stream_id": stream_id, "seq": seq, "type": kind, "now": now, "data": json.loads(data)}
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventEnvelope:
        return cls(
            stream_id=data["stream_id"],
            sequence=_sequence_number(data["seq"]),
            event=RecordedEvent(
                RecordedEventType(data["type"]), data.get("now"), dict(data.get("data") or {})
            ),
        )


def _sequence_number(value: Any) -> int:
    """A recorded sequence number. Anything else (inf, NaN, text) is a damaged line: a
    ValueError, as for any other malformed field, which the readers report as such."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"a sequence number must be an integer, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class StreamMetadata:
    """A summary of one recorded run, for listing and choosing recordings."""

    stream_id: str
    created_at: float  # Unix epoch seconds, when the run started
    ended_at: float | None = None
    # "running" until the run's last batch is written; then how it ended: "completed",
    # "failed", "aborted" (by its consumer) or "cancelled" (its task, or its consumer left)
    status: str = "running"
    event_count: int = 0
    token_count: int = 0
    content_length: int = 0
    retries: int = 0
    fallback_index: int = 0
    error: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    l0_version: str = ""
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "event_count": self.event_count,
            "token_count": self.token_count,
            "content_length": self.content_length,
            "retries": self.retries,
            "fallback_index": self.fallback_index,
            "error": self.error,
            "context": redact_record(self.context),
            "l0_version": self.l0_version,
            "format_version": self.format_version,
        }

    @property
    def finished(self) -> bool:
        """The run ended and its recording was written to the end."""
        return self.status in FINISHED_STATUSES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamMetadata:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        if "status" in values:
            values["status"] = _OLD_STATUSES.get(values["status"], values["status"])
        return cls(**values)


FINISHED_STATUSES = frozenset({"completed", "failed", "aborted", "cancelled"})
# what recordings made before progressive writing called them
_OLD_STATUSES = {"complete": "completed", "error": "failed", "incomplete": "running"}


# The State fields as plain data; `errors` and `violations` keep their structure as dicts.
_STATE_FIELDS = tuple(State().to_dict())


@dataclass(frozen=True, slots=True)
class ReplayedState:
    """A run's `State` (and machine phase) as plain, comparable, redacted data.

    `l0.State` holds live objects (exceptions, violations); two runs that did the same thing
    have equal `ReplayedState`s. `to_state()` turns it back into an `l0.State`.
    """

    phase: str
    values: Mapping[str, Any]

    @classmethod
    def from_state(cls, state: State, *, phase: str) -> ReplayedState:
        return cls(phase=phase, values=redact_record(state.to_dict()))

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, **self.values}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplayedState:
        values = {k: v for k, v in data.items() if k != "phase"}
        return cls(phase=str(data.get("phase", "")), values=values)

    def to_state(self) -> State:
        """An `l0.State` with these values (errors and violations rebuilt)."""
        from l0.eventsourcing.errors import SerializedError
        from l0.guardrails.types import GuardrailViolation

        values = {k: v for k, v in self.values.items() if k in _STATE_FIELDS}
        values["violations"] = [GuardrailViolation(**v) for v in values.get("violations", ())]
        values["network_errors"] = [
            SerializedError.from_dict(e).rebuild() for e in values.get("network_errors", ())
        ]
        values["tool_calls"] = [dict(c) for c in values.get("tool_calls", ())]
        return State(**values)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of a recorded run after record `sequence` (the final state, when the
    recorder saves it at the end of a run)."""

    stream_id: str
    sequence: int
    state: ReplayedState
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "seq": self.sequence,
            "state": self.state.to_dict(),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            stream_id=data["stream_id"],
            sequence=int(data["seq"]),
            state=ReplayedState.from_dict(data["state"]),
            created_at=float(data.get("created_at", 0.0)),
        )


__all__ = [
    "FACTS",
    "FINISHED_STATUSES",
    "FORMAT_VERSION",
    "EventEnvelope",
    "RecordedEvent",
    "RecordedEventType",
    "ReplayedState",
    "Snapshot",
    "StreamMetadata",
]
