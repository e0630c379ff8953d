"""Recordings as JSON Lines: one file to attach to a bug report, and back into a store.

One JSON object per line, each with a `kind`: `"metadata"` (a `StreamMetadata`), `"event"`
(an `EventEnvelope`) or `"snapshot"` (a `Snapshot`). A file may hold several streams; lines
of one stream keep their sequence order. Like the SQLite file, an exported file is created
readable by its owner only. File I/O runs in a worker thread.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from l0.errors import Error, ErrorCode
from l0.eventsourcing.store import EventStore, EventStoreWithSnapshots, InMemoryEventStore
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata

FILE_MODE = 0o600


def _line(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, **data}, separators=(",", ":"), ensure_ascii=False)


async def dumps(store: EventStore, stream_ids: Sequence[str] | None = None) -> str:
    """The recordings of `stream_ids` (default: every stream in `store`) as JSON Lines."""
    lines: list[str] = []
    for stream_id in stream_ids if stream_ids is not None else await store.list_streams():
        envelopes = await store.read(stream_id)
        if not envelopes:
            raise Error(f"No recording of stream {stream_id!r}", code=ErrorCode.INVALID_ARGUMENT)
        metadata = await store.get_metadata(stream_id)
        if metadata is not None:
            lines.append(_line("metadata", metadata.to_dict()))
        lines.extend(_line("event", envelope.to_dict()) for envelope in envelopes)
        if isinstance(store, EventStoreWithSnapshots):
            snapshot = await store.get_snapshot(stream_id)
            if snapshot is not None:
                lines.append(_line("snapshot", snapshot.to_dict()))
    return "".join(line + "\n" for line in lines)


async def loads(text: str | Iterable[str], store: EventStore | None = None) -> EventStore:
    """Load JSON Lines recordings into `store` (default: a new `InMemoryEventStore`)."""
    target: EventStore = store if store is not None else InMemoryEventStore()
    lines = text.splitlines() if isinstance(text, str) else text
    envelopes: dict[str, list[EventEnvelope]] = {}
    metadata: list[StreamMetadata] = []
    snapshots: list[Snapshot] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            kind = data.pop("kind")
            if kind == "event":
                envelope = EventEnvelope.from_dict(data)
                envelopes.setdefault(envelope.stream_id, []).append(envelope)
            elif kind == "metadata":
                metadata.append(StreamMetadata.from_dict(data))
            elif kind == "snapshot":
                snapshots.append(Snapshot.from_dict(data))
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Error(
                f"Line {number} is not an l0 recording line ({exc}); expected JSON objects "
                "with kind 'metadata', 'event' or 'snapshot'",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from exc
    for stream_id, items in envelopes.items():
        await target.append(stream_id, sorted(items, key=lambda e: e.sequence))
    for item in metadata:
        await target.save_metadata(item)
    if isinstance(target, EventStoreWithSnapshots):
        for snapshot in snapshots:
            await target.save_snapshot(snapshot)
    return target


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


async def export_jsonl(
    store: EventStore, path: str | os.PathLike[str], stream_ids: Sequence[str] | None = None
) -> int:
    """Write recordings to a JSON Lines file; returns how many lines were written."""
    text = await dumps(store, stream_ids)
    await anyio.to_thread.run_sync(functools.partial(_write_private, Path(path), text))
    return text.count("\n")


async def import_jsonl(path: str | os.PathLike[str], store: EventStore | None = None) -> EventStore:
    """Read a JSON Lines file of recordings into `store` (default: a new in-memory one)."""
    text = await anyio.to_thread.run_sync(functools.partial(Path(path).read_text, encoding="utf-8"))
    return await loads(text, store)


__all__ = ["FILE_MODE", "dumps", "export_jsonl", "import_jsonl", "loads"]
