"""`python -m l0 replay RECORDING`, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import l0
from l0.eventsourcing import InMemoryEventStore
from l0.eventsourcing.jsonl import export_jsonl
from l0.eventsourcing.sqlite import SQLiteEventStore
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = pytest.mark.anyio


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "l0", "replay", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def recorded_run(store: object) -> str:
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello world"))
    stream = await l0.run(
        stream=factory,
        retry=l0.Retry(base_delay=0.01),
        event_store=store,  # type: ignore[arg-type]
        context={"ticket": "BUG-1", "api_key": "sk-test-0123456789abcdefghij"},
    )
    async for _event in stream:  # iterated, so the recording has token events to show
        pass
    assert stream.state.content == "Hello world"
    assert stream.stream_id is not None
    return stream.stream_id


async def test_replay_prints_the_events_and_the_path_of_a_jsonl_recording(tmp_path: Path) -> None:
    """The text report shows the lifecycle, the stream events, the state and the diagram."""
    store = InMemoryEventStore()
    stream_id = await recorded_run(store)
    path = tmp_path / "bug.jsonl"
    await export_jsonl(store, path)
    done = replay(str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Stream {stream_id}" in out
    assert "replay matches the recording" in out
    for kind in ("SESSION_START", "NETWORK_ERROR", "RETRY_ATTEMPT", "COMPLETE"):
        assert kind in out
    assert "TOKEN x" in out and "'Hello world'" in out
    assert "content        'Hello world'" in out
    assert "```mermaid" in out and "stateDiagram-v2" in out
    assert "streaming --> retrying: fail [retry_allowed] / schedule_backoff (x1)" in out
    assert "class complete current" in out
    assert "sk-test" not in out


async def test_replay_reads_a_sqlite_store_and_prints_json(tmp_path: Path) -> None:
    """sqlite:///path#stream_id and --json give the replay as data."""
    db = tmp_path / "runs.db"
    stream_id = await recorded_run(SQLiteEventStore(db))
    done = replay(f"sqlite:///{db}#{stream_id}", "--json")
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert report["stream_id"] == stream_id
    assert report["divergence"] is None
    assert report["state"]["content"] == "Hello world"
    assert report["lifecycle"][0]["type"] == "SESSION_START"
    assert report["lifecycle"][0]["context"]["api_key"] == "[REDACTED]"
    assert ["streaming", "fail", "retrying", 1] in report["visits"]


def test_replay_of_a_missing_recording_fails_clearly(tmp_path: Path) -> None:
    """A path that is not there: a one-line error and exit status 2."""
    done = replay(str(tmp_path / "nothing.jsonl"), "--no-diagram")
    assert done.returncode == 2
    assert "No recording at" in done.stderr


async def test_replay_of_a_file_cut_by_a_crash_shows_the_intact_runs_and_exits_3(
    tmp_path: Path,
) -> None:
    """The last line cut in half: the intact run replays and matches, the cut one is
    reported and shown as incomplete, and the exit status says so (3)."""
    store = InMemoryEventStore()
    first = await recorded_run(store)
    second = await recorded_run(store)
    path = tmp_path / "crashed.jsonl"
    await export_jsonl(store, path)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # the last line loses its end
    done = replay(str(path), "--no-diagram")
    assert done.returncode == 3, done.stderr
    assert "was cut off" in done.stderr and second in done.stderr
    intact, cut = done.stdout.split(f"Stream {second}")
    assert f"Stream {first}" in intact and "replay matches the recording" in intact
    assert "INCOMPLETE RECORDING" in cut
