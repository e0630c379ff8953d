"""Recordings as JSON Lines: one file to attach to a bug report, and back into a store.

One JSON object per line, each with a `kind`: `"metadata"` (a `StreamMetadata`), `"event"`
(an `EventEnvelope`) or `"snapshot"` (a `Snapshot`). A file may hold several streams; lines
of one stream keep their sequence order (metadata first, then events, then the snapshot).
Like the SQLite file, an exported file is created readable by its owner only. File I/O runs
in a worker thread. Each stream is loaded into a store with one `append` carrying its
metadata (the store protocol's atomic batch); a file whose last line was cut off by a crash
keeps every intact stream (see `loads`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

from l0.errors import Error, ErrorCode
from l0.eventsourcing.store import EventStore, EventStoreWithSnapshots, InMemoryEventStore
from l0.eventsourcing.types import EventEnvelope, Snapshot, StreamMetadata

FILE_MODE = 0o600

logger = logging.getLogger("l0")


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


@dataclass(frozen=True, slots=True)
class Damage:
    """A stream whose recording was cut off in a JSON Lines file (what a crash leaves)."""

    line: int  # the number of the line that was cut off
    stream_id: str | None  # the stream it belonged to, when it can be told
    kept: int  # envelopes of that stream imported (its intact beginning)
    reason: str

    def __str__(self) -> str:
        stream = self.stream_id or "an unknown stream"
        return (
            f"Line {self.line} was cut off ({self.reason}); {stream} was imported up to it "
            f"({self.kept} records) without its metadata, so it is listed as incomplete"
        )


_STREAM_ID = re.compile(r'"stream_id"\s*:\s*"([^"]+)"')


def _parse(line: str) -> tuple[str, Any]:
    data = json.loads(line)
    kind = data.pop("kind")
    if kind == "event":
        return kind, EventEnvelope.from_dict(data)
    if kind == "metadata":
        return kind, StreamMetadata.from_dict(data)
    if kind == "snapshot":
        return kind, Snapshot.from_dict(data)
    raise ValueError(f"unknown kind {kind!r}")


def _last_line(lines: list[str]) -> int:
    return max((i for i, line in enumerate(lines) if line.strip()), default=-1)


async def loads(
    text: str | Iterable[str],
    store: EventStore | None = None,
    *,
    on_damage: Callable[[Damage], object] | None = None,
) -> EventStore:
    """Load JSON Lines recordings into `store` (default: a new `InMemoryEventStore`).

    A last line that is cut off (a crash while the file was written) does not spoil the
    rest: every intact stream is imported whole, the damaged one up to the cut without its
    metadata (so it is listed as incomplete), and the damage is reported to `on_damage`
    (default: a warning on the "l0" logger). Any other line that is not a recording line
    is refused with an `l0.Error` naming it."""
    target: EventStore = store if store is not None else InMemoryEventStore()
    lines = text.splitlines() if isinstance(text, str) else [line.rstrip("\n") for line in text]
    last = _last_line(lines)
    envelopes: dict[str, list[EventEnvelope]] = {}
    metadata: dict[str, StreamMetadata] = {}
    snapshots: list[Snapshot] = []
    damage: Damage | None = None
    previous: str | None = None
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            kind, item = _parse(line)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            if index == last:
                found = _STREAM_ID.search(line)
                stream_id = found.group(1) if found else previous
                damage = Damage(index + 1, stream_id, 0, str(exc))
                break
            raise Error(
                f"Line {index + 1} is not an l0 recording line ({exc}); expected JSON objects "
                "with kind 'metadata', 'event' or 'snapshot'",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from exc
        previous = item.stream_id
        if kind == "event":
            envelopes.setdefault(item.stream_id, []).append(item)
        elif kind == "metadata":
            metadata[item.stream_id] = item
        else:
            snapshots.append(item)
    for stream_id, item in list(metadata.items()):
        # metadata counts the records written with it: fewer in the file means the file
        # was cut on a line boundary, inside this stream
        if damage is None and len(envelopes.get(stream_id, ())) < item.event_count:
            reason = "the file ends before the stream's last record"
            damage = Damage(len(lines), stream_id, 0, reason)
    if damage is not None and damage.stream_id is not None:
        metadata.pop(damage.stream_id, None)
        snapshots = [s for s in snapshots if s.stream_id != damage.stream_id]
        kept = _intact_prefix(envelopes.get(damage.stream_id, []))
        envelopes[damage.stream_id] = kept
        damage = dataclasses.replace(damage, kept=len(kept))
    for stream_id, items in envelopes.items():
        ordered = sorted(items, key=lambda e: e.sequence)
        await target.append(stream_id, ordered, metadata.pop(stream_id, None))
    for item in metadata.values():  # metadata of streams without events
        await target.append(item.stream_id, [], item)
    if isinstance(target, EventStoreWithSnapshots):
        for snapshot in snapshots:
            await target.save_snapshot(snapshot)
    if damage is not None:
        if on_damage is not None:
            on_damage(damage)
        else:
            logger.warning("l0: %s", damage)
    return target


def _intact_prefix(envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
    """The envelopes from sequence 0 up to the first gap."""
    ordered = sorted(envelopes, key=lambda e: e.sequence)
    kept: list[EventEnvelope] = []
    for envelope in ordered:
        if envelope.sequence != len(kept):
            break
        kept.append(envelope)
    return kept


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


async def import_jsonl(
    path: str | os.PathLike[str],
    store: EventStore | None = None,
    *,
    on_damage: Callable[[Damage], object] | None = None,
) -> EventStore:
    """Read a JSON Lines file of recordings into `store` (default: a new in-memory one); a
    cut-off last line is reported to `on_damage` (see `loads`)."""
    text = await anyio.to_thread.run_sync(
        functools.partial(Path(path).read_text, encoding="utf-8", errors="replace")
    )
    return await loads(text, store, on_damage=on_damage)


__all__ = ["FILE_MODE", "Damage", "dumps", "export_jsonl", "import_jsonl", "loads"]
