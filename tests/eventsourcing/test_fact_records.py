"""Every fact the core takes has a handler, a record and a way back from the record: a new
fact type that misses one of the three fails here, not in a replay that diverges."""

from __future__ import annotations

import typing

import pytest

from l0.eventsourcing.facts import fact_record, record_fact
from l0.runtime import facts as F
from l0.runtime.core import _HANDLERS

FACT_TYPES = typing.get_args(F.Fact)

SAMPLES: list[F.Fact] = [
    F.START,
    F.OPENED,
    F.STREAM_ENDED,
    F.READING_STOPPED,
    F.Failed(ConnectionResetError("reset by peer")),
    F.DeadlinePassed("inter_token", 2.5),
    F.WOKE,
    F.CallbackAnswered(False),
    F.ABORTED,
    F.HEDGE_DUE,
    F.HedgeDropped(1, TimeoutError("slow")),
    F.HedgeSettled(1),
    F.Left("cancelled"),
    F.Left("failed", KeyboardInterrupt()),
]


def test_every_fact_type_has_a_handler() -> None:
    assert len(FACT_TYPES) == 14
    assert set(_HANDLERS) == set(FACT_TYPES)


def test_the_samples_cover_every_recorded_fact_type() -> None:
    # CheckFinished is recorded by the recorder itself: its record names the pending check.
    assert {type(f) for f in SAMPLES} == set(FACT_TYPES) - {F.CheckFinished}


def _comparable(fact: F.Fact) -> tuple[object, ...]:
    """A fact with its exception (rebuilt on replay, so not the same object) by type name
    and message."""
    values: list[object] = [type(fact).__name__]
    for name in fact.__dataclass_fields__:
        value = getattr(fact, name)
        if isinstance(value, BaseException):
            value = (type(value).__name__, str(value))
        values.append(value)
    return tuple(values)


@pytest.mark.parametrize("fact", SAMPLES, ids=lambda f: type(f).__name__)
def test_a_fact_comes_back_from_its_record(fact: F.Fact) -> None:
    kind, data = fact_record(fact)
    back = record_fact(kind, data or {})
    assert back is not None
    assert _comparable(back) == _comparable(fact)
