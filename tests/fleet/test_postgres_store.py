"""PostgresEventStore against a real PostgreSQL: the EventStore contract, one-transaction
appends with metadata, the versioned schema, recorded runs replayed (the replay CLI
included), and four processes recording into one database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

import l0
from l0.errors import ErrorCode
from l0.eventsourcing import (
    EventEnvelope,
    EventReplayer,
    RecordedEvent,
    RecordedEventType,
    StreamMetadata,
)
from l0.eventsourcing.facade import EventSourcing
from l0.eventsourcing.postgres import (
    MIGRATIONS,
    SCHEMA_VERSION,
    PostgresEventStore,
    PostgresUnavailable,
)
from l0.eventsourcing.urls import store_from_url
from l0.testing.scripted import Script, ScriptedFactory
from tests.fleet.servers import PostgresServer, free_port

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def envelopes(stream_id: str, count: int, start: int = 0, text: str = "t") -> list[EventEnvelope]:
    return [
        EventEnvelope(
            stream_id, n, RecordedEvent(RecordedEventType.TOKEN, 1.0 + n, {"text": f"{text}{n}"})
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
async def store(postgres_url: str) -> object:
    opened = PostgresEventStore(postgres_url, timeout=20)
    yield opened
    await opened.aclose()


async def test_text_the_json_type_is_picky_about_survives_exactly(
    store: PostgresEventStore,
) -> None:
    """NUL characters, lone surrogates escaped by JSON, and floats come back unchanged."""
    odd = ["a\x00b", "emoji 😀", 'quote " and \\', "\u2028"]
    events = [
        EventEnvelope("s", n, RecordedEvent(RecordedEventType.TOKEN, 0.1 + n / 3, {"text": t}))
        for n, t in enumerate(odd)
    ]
    await store.append("s", events)
    assert await store.read("s") == events


async def test_append_with_metadata_is_one_transaction(store: PostgresEventStore) -> None:
    """Envelopes and metadata are written together, or neither is."""
    first = StreamMetadata(stream_id="a", created_at=1.0, status="aborted", event_count=2)
    await store.append("a", envelopes("a", 2), first)
    assert await store.get_metadata("a") == first
    refused = StreamMetadata(stream_id="a", created_at=1.0, status="running", event_count=9)
    with pytest.raises(l0.Error):
        await store.append("a", envelopes("a", 1, start=7), refused)  # a gap: all rolled back
    assert await store.get_metadata("a") == first
    assert len(await store.read("a")) == 2


async def test_runs_that_never_ended_are_listed_as_incomplete(store: PostgresEventStore) -> None:
    """Metadata still "running" (or the older "incomplete"), or events without metadata."""
    for stream_id, status in (("old", "incomplete"), ("done", "complete"), ("live", "running")):
        meta = StreamMetadata(stream_id=stream_id, created_at=1.0, status=status)
        await store.append(stream_id, envelopes(stream_id, 1), meta)
    await store.append("bare", envelopes("bare", 1))
    await store.append("ended", envelopes("ended", 1))
    await store.save_metadata(StreamMetadata(stream_id="ended", created_at=1.0, status="failed"))
    assert await store.list_incomplete() == ["old", "live", "bare"]


async def test_concurrent_appends_to_one_stream_never_interleave(
    postgres_url: str,
) -> None:
    """Two writers racing for the same positions: one wins, the other is refused cleanly."""
    writers = [PostgresEventStore(postgres_url) for _ in range(2)]
    outcomes: list[str] = []

    async def write(store: PostgresEventStore, text: str) -> None:
        try:
            await store.append("race", envelopes("race", 50, text=text))
            outcomes.append(text)
        except l0.Error:
            outcomes.append("refused")

    async with anyio.create_task_group() as group:
        group.start_soon(write, writers[0], "x")
        group.start_soon(write, writers[1], "y")
    assert sorted(outcomes) in (["refused", "x"], ["refused", "y"])
    (winner,) = [o for o in outcomes if o != "refused"]
    assert await writers[0].read("race") == envelopes("race", 50, text=winner)
    for writer in writers:
        await writer.aclose()


# -- the schema ---------------------------------------------------------------------------


async def test_the_schema_is_created_once_and_versioned(postgres_url: str) -> None:
    """Many stores starting at once migrate exactly once; the version table says which."""
    stores = [PostgresEventStore(postgres_url) for _ in range(5)]
    async with anyio.create_task_group() as group:
        for n, store in enumerate(stores):
            group.start_soon(store.append, f"s{n}", envelopes(f"s{n}", 1))
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute("SELECT version, description FROM l0_schema_version").fetchall()
    assert rows == [(version, description) for version, description, _ in MIGRATIONS]
    assert rows[-1][0] == SCHEMA_VERSION
    for store in stores:
        await store.aclose()


async def test_a_database_from_a_newer_l0_is_refused(postgres_url: str) -> None:
    await (store := PostgresEventStore(postgres_url)).list_streams()
    await store.aclose()
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "INSERT INTO l0_schema_version (version, description) VALUES (%s, 'future')",
            (SCHEMA_VERSION + 1,),
        )
    newer = PostgresEventStore(postgres_url)
    with pytest.raises(l0.Error, match="upgrade l0") as caught:
        await newer.list_streams()
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    await newer.aclose()


async def test_an_unreachable_server_is_a_clear_error_within_the_timeout() -> None:
    store = PostgresEventStore(f"postgresql://l0@127.0.0.1:{free_port()}/x", timeout=2)
    with anyio.fail_after(30), pytest.raises(PostgresUnavailable, match="Could not reach"):
        await store.list_streams()
    await store.aclose()


async def test_a_database_that_goes_away_fails_writes_at_once_after_the_first(
    private_postgres: PostgresServer,
) -> None:
    """Once PostgreSQL is gone, a write fails (transient: PostgresUnavailable, which the
    recorder may retry) within the bound, and the next ones fail without waiting again."""
    store = PostgresEventStore(private_postgres.url, timeout=2, retry_interval=600)
    await store.append("a", envelopes("a", 1))
    private_postgres.stop()
    with anyio.fail_after(60):
        with pytest.raises(PostgresUnavailable, match="Could not reach PostgreSQL"):
            await store.append("a", envelopes("a", 1, start=1))
        with pytest.raises(PostgresUnavailable, match="is tried again 600s after"):
            await store.append("a", envelopes("a", 1, start=1))
    assert not isinstance(PostgresUnavailable("x"), l0.Error)  # not a refusal: retryable
    await store.aclose()


async def test_a_recording_made_while_the_database_is_frozen_is_written_once_it_answers(
    private_postgres: PostgresServer,
) -> None:
    """A frozen database makes writes fail as transient (PostgresUnavailable, within the
    bound); the recorder retries them, so once the database answers again the recording is
    complete and replays."""
    store = PostgresEventStore(private_postgres.url, timeout=1, retry_interval=0.2)
    await store.list_streams()  # the pool is open and the schema made
    private_postgres.pause()
    try:
        with anyio.fail_after(60):
            stream = await l0.run(
                stream=ScriptedFactory(Script.tokens("written later")), event_store=store
            )
            assert await stream.read() == "written later"  # the answer did not wait
            with pytest.raises(PostgresUnavailable):
                await store.list_streams()
    finally:
        private_postgres.resume()
    with anyio.fail_after(60):
        await EventSourcing.drain()
    saved = await store.get_metadata(stream.stream_id)
    assert saved is not None and saved.status == "completed"
    replay = await EventReplayer(store).replay(stream.stream_id)
    assert replay.faithful and replay.state.content == "written later"
    await store.aclose()


@pytest.mark.parametrize(
    ("location", "options"),
    [
        ("mysql://x/y", {}),
        (42, {}),
        ("postgresql://h/d", {"timeout": 0}),
        ("postgresql://h/d", {"retry_interval": True}),
        ("postgresql://h/d", {"min_size": 5, "max_size": 2}),
        ("postgresql://h/d", {"max_size": 0}),
    ],
)
def test_bad_arguments_are_refused(location: object, options: dict[str, object]) -> None:
    with pytest.raises(l0.Error) as caught:
        PostgresEventStore(location, **options)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


async def test_a_pool_of_the_callers_is_used_and_left_open(postgres_url: str) -> None:
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        postgres_url, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    store = PostgresEventStore(pool)
    await store.append("a", envelopes("a", 2))
    await store.aclose()
    assert not pool.closed
    assert await PostgresEventStore(pool).read("a") == envelopes("a", 2)
    await pool.close()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_the_store_says_it_needs_asyncio() -> None:
    store = PostgresEventStore("postgresql://l0@127.0.0.1:1/x")
    with pytest.raises(l0.Error, match="asyncio only"):
        await store.list_streams()


def test_urls_name_their_stores(tmp_path: Path) -> None:
    assert isinstance(store_from_url("postgresql://h/db#id"), PostgresEventStore)
    assert isinstance(store_from_url("postgres://h/db"), PostgresEventStore)
    assert store_from_url(str(tmp_path / "x.jsonl")) is None
    sqlite = store_from_url(f"sqlite:///{tmp_path / 'x.db'}")
    assert type(sqlite).__name__ == "SQLiteEventStore"


# -- real runs ------------------------------------------------------------------------------


async def test_runs_record_into_postgres_and_replay_from_it(postgres_url: str) -> None:
    store = PostgresEventStore(postgres_url)
    texts = [f"run number {i}" for i in range(8)]

    async def one(text: str) -> None:
        factory = ScriptedFactory(Script.tokens(text, fail_at=3), Script.tokens(text))
        stream = await l0.run(stream=factory, retry=l0.Retry(base_delay=0.001), event_store=store)
        assert await stream.read() == text

    async with anyio.create_task_group() as group:
        for text in texts:
            group.start_soon(one, text)
    ids = await store.list_streams()
    assert len(ids) == len(texts)
    replays = [await EventReplayer(store).replay(i) for i in ids]
    assert sorted(r.state.content for r in replays) == sorted(texts)
    assert all(r.faithful and r.metadata and r.metadata.status == "completed" for r in replays)
    await store.aclose()


async def test_event_sourcing_open_and_the_replay_cli_take_a_postgres_url(
    postgres_url: str,
) -> None:
    store = PostgresEventStore(postgres_url)
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("from the fleet")), event_store=store
    )
    assert await stream.read() == "from the fleet"
    (stream_id,) = await store.list_streams()
    await store.aclose()

    opened, chosen = await EventSourcing.open(f"{postgres_url}#{stream_id}")
    assert chosen == stream_id and isinstance(opened, PostgresEventStore)
    assert (await EventSourcing.replay(opened, stream_id)).content == "from the fleet"
    await opened.aclose()

    done = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-m", "l0", "replay", f"{postgres_url}#{stream_id}", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["stream_id"] == stream_id and result["divergence"] is None
    assert result["state"]["content"] == "from the fleet"


@pytest.mark.slow
def test_four_processes_record_into_one_database_and_every_run_replays(
    postgres_url: str,
) -> None:
    """Four worker processes each record runs (one with a retry) into the same database;
    every run is there afterwards and replays to what its worker saw."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.fleet.record_worker", postgres_url, f"w{n}", "6"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for n in range(4)
    ]
    seen: dict[str, str] = {}
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0
        seen.update(json.loads(out))
    assert len(seen) == 24

    async def check() -> None:
        store = PostgresEventStore(postgres_url)
        assert sorted(await store.list_streams()) == sorted(seen)
        for stream_id, text in seen.items():
            replay = await EventReplayer(store).replay(stream_id)
            assert replay.faithful and replay.state.content == text
        await store.aclose()

    anyio.run(check)
