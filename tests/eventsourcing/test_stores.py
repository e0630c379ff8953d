"""Event stores (in memory, SQLite) and JSON Lines export/import."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import anyio
import pytest

import l0
from l0.eventsourcing import (
    EventEnvelope,
    EventReplayer,
    InMemoryEventStore,
    RecordedEvent,
    RecordedEventType,
)
from l0.eventsourcing.compare import ReplayComparison
from l0.eventsourcing.facade import EventSourcing
from l0.eventsourcing.jsonl import dumps, export_jsonl, import_jsonl, loads
from l0.eventsourcing.sqlite import SQLiteEventStore
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = pytest.mark.anyio


def envelopes(stream_id: str, count: int, start: int = 0) -> list[EventEnvelope]:
    return [
        EventEnvelope(
            stream_id, n, RecordedEvent(RecordedEventType.TOKEN, 1.0 + n, {"text": f"t{n}"})
        )
        for n in range(start, start + count)
    ]


async def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The recording file is created with mode 0600, whatever the umask allows."""
    path = tmp_path / "deep" / "runs.db"
    previous = os.umask(0)
    try:
        store = SQLiteEventStore(path)
        await store.append("a", envelopes("a", 1))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_sqlite_recordings_survive_a_new_store_object(tmp_path: Path) -> None:
    """A second store on the same file (another process, later) reads what was written."""
    path = tmp_path / "runs.db"
    writer = SQLiteEventStore(path)
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("durable")), event_store=writer)
    assert await stream.read() == "durable"
    reader = SQLiteEventStore.from_url(f"sqlite:///{path}#ignored")
    (stream_id,) = await reader.list_streams()
    replay = await EventReplayer(reader).replay(stream_id)
    assert replay.state.content == "durable"
    assert replay.metadata is not None and replay.metadata.status == "completed"
    assert replay.faithful


async def test_many_runs_can_record_into_sqlite_at_once(tmp_path: Path) -> None:
    """Concurrent runs write their recordings without blocking or losing any."""
    store = SQLiteEventStore(tmp_path / "runs.db")
    texts = [f"run number {i}" for i in range(12)]

    async def one(text: str) -> None:
        stream = await l0.run(stream=ScriptedFactory(Script.tokens(text)), event_store=store)
        assert await stream.read() == text

    async with anyio.create_task_group() as group:
        for text in texts:
            group.start_soon(one, text)
    ids = await store.list_streams()
    assert len(ids) == len(texts)
    replayed = [(await EventReplayer(store).replay(i)).state.content for i in ids]
    assert sorted(replayed) == sorted(texts)


def test_a_bad_sqlite_url_is_refused() -> None:
    """Only sqlite:/// URLs name a SQLite store."""
    with pytest.raises(l0.Error) as caught:
        SQLiteEventStore.from_url("postgres://x")
    assert "sqlite:///" in str(caught.value)


async def test_jsonl_round_trip_replays_identically(tmp_path: Path) -> None:
    """export_jsonl then import_jsonl gives recordings that replay to the same run."""
    store = InMemoryEventStore()
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=4), Script.tokens("Hello world"))
    stream = await l0.run(
        stream=factory, retry=l0.Retry(base_delay=0.01), event_store=store, context={"ticket": 7}
    )
    await stream.read()
    second = await l0.run(stream=ScriptedFactory(Script.tokens("two")), event_store=store)
    await second.read()
    path = tmp_path / "bug-report.jsonl"
    lines = await export_jsonl(store, path)
    assert lines == len(path.read_text(encoding="utf-8").splitlines())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = await import_jsonl(path)
    assert await loaded.list_streams() == await store.list_streams()
    for stream_id in await store.list_streams():
        assert await loaded.read(stream_id) == await store.read(stream_id)
        assert await loaded.get_metadata(stream_id) == await store.get_metadata(stream_id)
        original = await EventReplayer(store).replay(stream_id)
        again = await EventReplayer(loaded).replay(stream_id)
        assert ReplayComparison.between(original, again, ignore_timing=False).identical
        assert again.faithful


async def test_jsonl_of_chosen_streams_and_into_an_existing_store() -> None:
    """dumps(stream_ids=...) exports only those; loads() can fill a given store."""
    store = InMemoryEventStore()
    await store.append("a", envelopes("a", 2))
    await store.append("b", envelopes("b", 1))
    text = await dumps(store, ["b"])
    target = InMemoryEventStore()
    assert await loads(text, target) is target
    assert await target.list_streams() == ["b"]
    with pytest.raises(l0.Error) as caught:
        await dumps(store, ["missing"])
    assert "No recording of stream 'missing'" in str(caught.value)


@pytest.mark.parametrize(
    "line",
    ['{"kind": "mystery"}', "not json", '{"kind": "event", "seq": 0}'],
)
async def test_a_line_that_is_not_a_recording_is_reported_with_its_number(line: str) -> None:
    """A broken line inside a file (not the last one, which a crash may cut off) names the
    line that is wrong."""
    good = '{"kind":"event","stream_id":"a","seq":0,"type":"token","now":1.0,"data":{"text":"x"}}'
    with pytest.raises(l0.Error) as caught:
        await loads(good + "\n" + line + "\n" + good.replace('"a"', '"b"') + "\n")
    assert "Line 2" in str(caught.value)


async def test_event_sourcing_opens_recordings_by_location(tmp_path: Path) -> None:
    """EventSourcing.open reads `file.jsonl#id` and `sqlite:///file.db#id`; a missing
    file is a clear error."""
    sqlite_path = tmp_path / "runs.db"
    store = EventSourcing.sqlite(sqlite_path)
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("x")), event_store=store)
    await stream.read()
    (stream_id,) = await store.list_streams()
    opened, chosen = await EventSourcing.open(f"sqlite:///{sqlite_path}#{stream_id}")
    assert chosen == stream_id and await opened.list_streams() == [stream_id]
    jsonl = tmp_path / "runs.jsonl"
    await EventSourcing.export_jsonl(store, jsonl)
    opened, chosen = await EventSourcing.open(str(jsonl))
    assert chosen is None and await opened.list_streams() == [stream_id]
    result = await EventSourcing.replay(opened, stream_id)
    assert result.content == "x"
    for missing in (str(tmp_path / "nope.jsonl"), f"sqlite:///{tmp_path / 'nope.db'}"):
        with pytest.raises(l0.Error) as caught:
            await EventSourcing.open(missing)
        assert "No recording at" in str(caught.value)
    assert not (tmp_path / "nope.db").exists()


async def test_event_sourcing_compares_two_recorded_runs() -> None:
    """EventSourcing.compare replays two runs and diffs them by path."""
    store: InMemoryEventStore = EventSourcing.in_memory()
    for text in ("same text", "same text", "other text"):
        stream = await l0.run(stream=ScriptedFactory(Script.tokens(text)), event_store=store)
        await stream.read()
    first, second, third = await store.list_streams()
    assert (await EventSourcing.compare(store, first, second)).identical
    different = await EventSourcing.compare(store, first, third)
    assert not different.identical
    assert any(d.path == "content" for d in different.state)
    assert "final state" in different.summary()
    timed = await EventSourcing.compare(store, first, second, ignore_timing=False)
    assert any(d.path.endswith(".ts") for d in timed.lifecycle)
    assert (await EventSourcing.compare(store, first, second)).summary() == (
        "The runs are identical."
    )
