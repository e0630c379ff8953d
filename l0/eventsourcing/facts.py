"""Facts as records and back: one row per fact type of the run core (l0/runtime/facts.py).

The recorder logs each fact the driver hands the core (`fact_record`); the replayer turns
the record back into the fact (`record_fact`) and hands it to a fresh core. Both directions
are tables here, so a new fact type is a row in each (and a `RecordedEventType`). The
records are the format's (FORMAT_VERSION 1): their names and payloads are unchanged from the
method calls they replaced.

Errors travel as `SerializedError` dicts and are rebuilt on replay; a fact's `now` is the
record's own field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from l0.eventsourcing.errors import SerializedError
from l0.eventsourcing.limits import check_name
from l0.eventsourcing.types import RecordedEventType
from l0.runtime.facts import (
    ABORTED,
    HEDGE_DUE,
    OPENED,
    READING_STOPPED,
    START,
    STREAM_ENDED,
    WOKE,
    Aborted,
    CallbackAnswered,
    DeadlinePassed,
    Fact,
    Failed,
    HedgeDropped,
    HedgeDue,
    HedgeSettled,
    Left,
    Opened,
    ReadingStopped,
    Start,
    StreamEnded,
    Woke,
)

R = RecordedEventType


def _error(error: BaseException) -> dict[str, Any]:
    return SerializedError.from_exception(error).to_dict()


def _rebuilt(data: Mapping[str, Any]) -> BaseException:
    return SerializedError.from_dict(data["error"]).rebuild()


# fact type -> (record type, payload). CheckFinished is recorded by the recorder itself (its
# payload names the pending check, which only the core knows).
_TO_RECORD: dict[type, tuple[RecordedEventType, Callable[[Any], dict[str, Any] | None]]] = {
    Start: (R.START, lambda fact: None),
    Opened: (R.OPENED, lambda fact: None),
    StreamEnded: (R.END, lambda fact: None),
    ReadingStopped: (R.INTERRUPTED, lambda fact: None),
    Failed: (R.FAILED, lambda fact: {"error": _error(fact.error)}),
    DeadlinePassed: (R.TIMED_OUT, lambda fact: {"kind": fact.kind, "seconds": fact.seconds}),
    Woke: (R.WOKE, lambda fact: None),
    CallbackAnswered: (R.CONSULTED, lambda fact: {"allowed": bool(fact.allowed)}),
    Aborted: (R.ABORTED, lambda fact: None),
    HedgeDue: (R.HEDGE, lambda fact: None),
    HedgeDropped: (
        R.HEDGE_DROPPED,
        lambda fact: {"index": fact.index, "error": _error(fact.error)},
    ),
    HedgeSettled: (R.HEDGE_SETTLED, lambda fact: {"index": fact.index}),
    Left: (
        R.LEFT,
        lambda fact: {
            "outcome": fact.outcome,
            "error_type": type(fact.error).__name__ if fact.error is not None else None,
        },
    ),
}


def fact_record(fact: Fact) -> tuple[RecordedEventType, dict[str, Any] | None]:
    """The record of `fact` (its type and payload)."""
    kind, payload = _TO_RECORD[type(fact)]
    return kind, payload(fact)


def _left(data: Mapping[str, Any]) -> Left:
    error_type = data.get("error_type")
    stand_in = None
    if error_type is not None:
        # The BaseException that went through, by name (it is not rebuilt: it may be any).
        stand_in = type(check_name(error_type, "an error type"), (BaseException,), {})()
    return Left(str(data["outcome"]), stand_in)


# record type -> the fact it stands for (TOKEN, CHUNK, CHECK, CHECKED and the records that are
# not facts of the core are the replayer's own).
_FROM_RECORD: dict[RecordedEventType, Callable[[Mapping[str, Any]], Fact]] = {
    R.START: lambda data: START,
    R.OPENED: lambda data: OPENED,
    R.END: lambda data: STREAM_ENDED,
    R.INTERRUPTED: lambda data: READING_STOPPED,
    R.FAILED: lambda data: Failed(_rebuilt(data)),
    R.TIMED_OUT: lambda data: DeadlinePassed(data["kind"], data["seconds"]),
    R.WOKE: lambda data: WOKE,
    R.CONSULTED: lambda data: CallbackAnswered(bool(data["allowed"])),
    R.ABORTED: lambda data: ABORTED,
    R.HEDGE: lambda data: HEDGE_DUE,
    R.HEDGE_DROPPED: lambda data: HedgeDropped(int(data["index"]), _rebuilt(data)),
    R.HEDGE_SETTLED: lambda data: HedgeSettled(int(data["index"])),
    R.LEFT: _left,
}


def record_fact(kind: RecordedEventType, data: Mapping[str, Any]) -> Fact | None:
    """The fact a record stands for; None when the record is not one `handle` takes."""
    rebuild = _FROM_RECORD.get(kind)
    return None if rebuild is None else rebuild(data)


__all__ = ["fact_record", "record_fact"]
