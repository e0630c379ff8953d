"""What a crash leaves: a recording child killed with SIGKILL, a store locked by another
process while a run is cancelled, a JSON Lines file cut anywhere."""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.eventsourcing import (
    EventReplayer,
    InMemoryEventStore,
    RecordedEventType,
    writer as writer_module,
)
from l0.eventsourcing.facade import EventSourcing
from l0.eventsourcing.jsonl import Damage, dumps, loads
from l0.eventsourcing.recorder import FactRecorder
from l0.eventsourcing.recording import BATCH_RECORDS
from l0.eventsourcing.sqlite import SQLiteEventStore
from l0.eventsourcing.store import incomplete_streams
from l0.testing.scripted import Script, ScriptedFactory

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    import anyio
    import l0
    from l0.eventsourcing.sqlite import SQLiteEventStore
    from l0.testing.scripted import Script, ScriptedFactory

    async def main() -> None:
        store = SQLiteEventStore(sys.argv[1])
        factory = ScriptedFactory(Script.tokens("x" * 1_000_000, delay=0.0005))
        stream = await l0.run(stream=factory, event_store=store)
        seen = 0
        async for _event in stream:
            seen += 1
            if seen == int(sys.argv[2]):
                print(stream.stream_id, flush=True)

    anyio.run(main)
    """
)


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


@pytest.mark.parametrize("tokens", [1, 300, 1500])
def test_a_recording_child_killed_mid_run_leaves_whole_batches_listed_as_incomplete(
    tokens: int, tmp_path: Path
) -> None:
    """SIGKILL while recording: the store holds a gapless prefix of the run in whole batches
    (metadata counts exactly the records written with it), says "running", lists it as
    incomplete, and replay reports it as incomplete (CLI exit status 3), never a match."""
    database = tmp_path / "runs.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with subprocess.Popen(
        [sys.executable, str(script), str(database), str(tokens)],
        stdout=subprocess.PIPE,
        env=_child_env(),
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            stream_id = child.stdout.readline().strip()
            assert stream_id, "the child did not start its run"
            # let it write a few more batches, then kill it wherever it is
            subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3)"], check=True)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL

    async def inspect() -> None:
        store = SQLiteEventStore(database)
        assert await store.list_streams() == [stream_id]
        assert await incomplete_streams(store) == [stream_id]
        metadata = await store.get_metadata(stream_id)
        assert metadata is not None and metadata.status == "running"
        envelopes = await store.read(stream_id)
        assert [e.sequence for e in envelopes] == list(range(len(envelopes)))
        assert envelopes[0].event.type is RecordedEventType.INIT
        assert metadata.event_count == len(envelopes)  # written in the same transaction
        replay = await EventReplayer(store).replay(stream_id)
        assert replay.incomplete and not replay.faithful
        assert replay.state.content == "x" * len(replay.state.content)
        # batches kept up with the run: at most one batch behind what the child had read
        assert len(replay.state.content) >= tokens - BATCH_RECORDS

    anyio.run(inspect)
    cli = subprocess.run(
        [sys.executable, "-m", "l0", "replay", f"sqlite:///{database}", "--no-diagram"],
        capture_output=True,
        text=True,
        env=_child_env(),
        check=False,
    )
    assert cli.returncode == 3, cli.stderr
    assert "INCOMPLETE RECORDING" in cli.stdout


LOCKER = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
)


class Locker:
    """Another process holding the SQLite write lock until `release()`."""

    def __init__(self, database: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    @property
    def holding(self) -> bool:
        return self.process.poll() is None

    def release(self) -> None:
        if self.holding:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.flush()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture(params=[0.05, 5.0], ids=["busy-50ms", "busy-5s"])
def locked_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SQLiteEventStore, Locker]:
    store = SQLiteEventStore(tmp_path / "runs.db", busy_timeout=request.param)
    anyio.run(store.list_streams)  # the file and its tables exist
    locker = Locker(store.path)
    yield store, locker  # type: ignore[misc]
    locker.release()


@pytest.mark.anyio
async def test_cancellation_is_prompt_while_another_process_holds_the_write_lock(
    locked_store: tuple[SQLiteEventStore, Locker],
) -> None:
    """Cancelled while the store is locked: the run returns at once (the lock still held),
    and the background writer finishes the recording once the lock is released."""
    store, locker = locked_store
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("abcdef", stall_at=3, stall_for=60.0)),
        event_store=store,
    )
    with anyio.CancelScope() as scope:
        async for event in stream:
            if event.text == "c":
                scope.cancel()  # lands in the run, waiting on the silent provider
    assert stream.state.content == "abc"
    assert locker.holding
    assert stream._driver is not None
    recorder = stream._driver.port
    assert isinstance(recorder, FactRecorder)
    if store.busy_timeout > 1.0:
        # returned while the writer's attempt still waits on the lock (not after it)
        assert not recorder.recording.recorder.writer.settled
    locker.release()
    await EventSourcing.drain()
    metadata = await store.get_metadata(stream.stream_id)
    assert metadata is not None and metadata.status == "cancelled"
    replay = await EventReplayer(store).replay(stream.stream_id)
    assert replay.faithful and replay.state.content == "abc"


@pytest.mark.anyio
@pytest.mark.parametrize("locked_store", [0.05], indirect=True, ids=["busy-50ms"])
async def test_a_store_that_stays_locked_is_reported_never_lost_silently(
    locked_store: tuple[SQLiteEventStore, Locker],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The writer retries, then reports the failure through logging and the run's
    EventBus; the stream itself completed normally."""
    store, _locker = locked_store
    monkeypatch.setattr(writer_module, "RETRY_FOR", 0.3)
    seen: list[l0.ObservabilityEvent] = []
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("fine")), event_store=store, on_event=seen.append
    )
    with caplog.at_level(logging.ERROR, logger="l0"):
        assert await stream.read() == "fine"
        await EventSourcing.drain()
    assert "could not write the recording of stream " + stream.stream_id in caplog.text
    reports = [e for e in seen if e.meta.get("recording")]
    assert reports and "locked" in reports[-1].meta["error"]
    assert all(e.stream_id == stream.stream_id for e in reports)


# -- a JSON Lines file cut anywhere ------------------------------------------------------------


@functools.cache
def _export() -> str:
    """Three finished recordings as one JSON Lines text."""

    async def record() -> str:
        store = InMemoryEventStore()
        for text in ("first run", "second", "the third one"):
            stream = await l0.run(stream=ScriptedFactory(Script.tokens(text)), event_store=store)
            await stream.read()
        return await dumps(store)

    return anyio.run(record)


@settings(max_examples=60)
@given(data=st.data())
def test_a_jsonl_file_cut_anywhere_keeps_every_intact_stream(data: st.DataObject) -> None:
    """Cut at any character: no error; streams wholly before the cut come back whole and
    replay faithfully; the cut one, if any, is reported and listed as incomplete."""
    text = _export()
    cut = data.draw(st.integers(min_value=1, max_value=len(text)))
    part = text[:cut]
    damages: list[Damage] = []

    async def load() -> InMemoryEventStore:
        original = await loads(text)
        store = await loads(part, on_damage=damages.append)
        assert isinstance(store, InMemoryEventStore) and isinstance(original, InMemoryEventStore)
        incomplete = await incomplete_streams(store)
        assert len(incomplete) <= 1 and len(damages) <= 1
        for stream_id in await store.list_streams():
            if stream_id in incomplete:
                assert damages and damages[0].stream_id == stream_id
                kept = await store.read(stream_id)
                assert kept == (await original.read(stream_id))[: len(kept)]
                continue
            assert await store.read(stream_id) == await original.read(stream_id)
            assert await store.get_metadata(stream_id) == await original.get_metadata(stream_id)
            assert (await EventReplayer(store).replay(stream_id)).faithful
        if part == text:
            assert not damages and not incomplete
        return store

    anyio.run(load)
