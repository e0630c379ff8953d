"""Replay of a hostile recording is bounded: it is refused with a clear l0.Error, quickly.

A table of crafted recordings (each would have made replay run for minutes, or exhaust
memory or the stack), and a fuzzer that rewrites a real recording's fields at random: replay
either succeeds or raises an `l0.Error`, never anything else.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.errors import ErrorCode
from l0.eventsourcing import EventEnvelope, EventReplayer, InMemoryEventStore
from l0.eventsourcing.jsonl import loads
from l0.eventsourcing.limits import MAX_BASES, MAX_CAUSES, MAX_FALLBACKS
from l0.testing.scripted import Script, ScriptedFactory


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants() -> None:
    """Overrides the directory's invariant checks: a replay of a rewritten recording may
    emit any events at all (its clock readings, attempts, ... are the fuzzer's)."""


@functools.cache
def _recording() -> list[dict[str, Any]]:
    """A real recording with a retried failure and a chunk l0 cannot read, as plain dicts."""

    class Unreadable:
        pass

    async def record() -> list[dict[str, Any]]:
        store = InMemoryEventStore()
        factory = ScriptedFactory(
            Script(chunks=["ab", "cd"], fail_at=1, error=ConnectionResetError("reset")),
            Script(chunks=["ab", Unreadable(), "cd"]),
        )
        stream = await l0.run(
            stream=factory,
            retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.001),
            fallbacks=[ScriptedFactory(Script.tokens("x"))],
            event_store=store,
        )
        with contextlib.suppress(l0.Error):
            await stream.read()
        return [e.to_dict() for e in await store.read(stream.stream_id)]

    return anyio.run(record)


def _replay(records: list[dict[str, Any]]) -> Any:
    envelopes = [EventEnvelope.from_dict(json.loads(json.dumps(r))) for r in records]
    return EventReplayer.replay_envelopes(envelopes)


def _failed(records: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in records if r["type"] == "failed")["data"]["error"]


def _init(records: list[dict[str, Any]]) -> dict[str, Any]:
    init: dict[str, Any] = records[0]["data"]
    return init


def _many_bases(records: list[dict[str, Any]]) -> None:
    _failed(records)["bases"] = [f"Base{i}" for i in range(10_000)]


def _deep_causes(records: list[dict[str, Any]]) -> None:
    failed = next(r for r in records if r["type"] == "failed")
    error = {**failed["data"]["error"], "cause": None}
    for _ in range(300):  # as deep as JSON itself carries it
        error = {**error, "cause": error}
    failed["data"]["error"] = error


def _billion_fallbacks(records: list[dict[str, Any]]) -> None:
    _init(records)["plan"]["fallbacks"] = 10**9


def _many_rules(records: list[dict[str, Any]]) -> None:
    rule = {
        "name": "r",
        "streaming": False,
        "incremental": False,
        "severity": "error",
        "recoverable": True,
    }
    _init(records)["plan"]["guardrails"] = [rule] * 100_000


def _odd_class_name(records: list[dict[str, Any]]) -> None:
    _failed(records)["type"] = "x" * 100_000


def _code_in_a_name(records: list[dict[str, Any]]) -> None:
    _failed(records)["bases"] = ["__import__('os').system('true')"]


def _giant_chunk_type(records: list[dict[str, Any]]) -> None:
    chunk = next(r for r in records if r["type"] == "chunk")
    chunk["data"]["foreign"]["qualname"] = "A." * 50_000 + "B"


HOSTILE: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "10,000 bases": _many_bases,
    "300 causes deep": _deep_causes,
    "a billion fallbacks": _billion_fallbacks,
    "100,000 guardrail rules": _many_rules,
    "a 100,000-character class name": _odd_class_name,
    "code as a class name": _code_in_a_name,
    "a 100,000-part chunk type": _giant_chunk_type,
}


@pytest.mark.parametrize("attack", list(HOSTILE))
def test_a_hostile_recording_is_refused_with_a_clear_error(attack: str) -> None:
    """Each crafted recording is refused, saying what it asked for."""
    records = copy.deepcopy(_recording())
    assert _replay(records).faithful is False  # (no metadata: incomplete, but it replays)
    HOSTILE[attack](records)
    with pytest.raises(l0.Error) as caught:
        _replay(records)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert "recording" in str(caught.value)


def test_the_bounds_are_far_above_what_l0_writes() -> None:
    """A real recording is within every bound (l0 writes at most 6 causes)."""
    assert MAX_CAUSES > 6 and MAX_BASES >= 16 and MAX_FALLBACKS >= 64
    assert _replay(copy.deepcopy(_recording())).state.content


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


@settings(max_examples=200)
@given(data=st.data())
def test_a_recording_with_any_field_rewritten_replays_or_raises_an_l0_error(
    data: st.DataObject,
) -> None:
    """Fuzz: rewrite one to three fields anywhere with random JSON; the replay returns, or
    raises an l0.Error — never another exception."""
    records = copy.deepcopy(_recording())
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(records) if len(p) >= 2]
        path = data.draw(st.sampled_from(paths))
        target: Any = records
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = data.draw(_json)
    try:
        envelopes = [EventEnvelope.from_dict(r) for r in records]
    except (KeyError, TypeError, ValueError, AttributeError):
        return  # not even an envelope: refused before replay (by the store's reader)
    with contextlib.suppress(l0.Error):
        EventReplayer.replay_envelopes(envelopes)


@pytest.mark.anyio
@pytest.mark.parametrize("seq", ["Infinity", "NaN", '"one"', "null"])
async def test_a_damaged_sequence_number_is_refused_with_an_l0_error(seq: str) -> None:
    """A JSONL line whose sequence number is no integer (json reads `Infinity`) is refused
    with an l0.Error naming the line, not a raw OverflowError (found by the fuzzer above)."""
    good = '{"kind": "event", "stream_id": "s", "seq": 0, "type": "init", "data": {}}'
    bad = good.replace('"seq": 0', f'"seq": {seq}')
    with pytest.raises(l0.Error) as caught:
        await loads("\n".join([bad, good]))
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT and "Line 1" in str(caught.value)
