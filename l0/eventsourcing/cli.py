"""`python -m l0 replay RECORDING`: replay a recorded run and show what happened.

RECORDING is a JSON Lines file (`path.jsonl`, optionally `#stream_id`), a SQLite store
(`sqlite:///path.db#stream_id`; as in SQLAlchemy, three slashes start a path relative to the
current directory and four an absolute one: `sqlite:////var/runs.db`) or a PostgreSQL one
(`postgresql://host/db#stream_id`); without a stream id every recorded stream is replayed.
For each run it prints whether the replay matches the recording, the lifecycle events with
their time since the start, the stream events (consecutive tokens folded into one line), the
final state, and the runtime machine as mermaid with the path this run took (`--no-diagram`
leaves it out). `--json` prints the same as JSON instead.

Exit status: 0 when every replay matches its recording, 1 when one diverges, 2 for a
recording that cannot be read, 3 when none diverges but one is incomplete (its run never
finished writing it: killed mid-run, or its store failed).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

import anyio

from l0.debug import format_meta
from l0.errors import Error
from l0.eventsourcing.codec import event_to_dict, lifecycle_to_dict
from l0.eventsourcing.facade import EventSourcing
from l0.eventsourcing.replayer import EventReplayer, ReplayResult
from l0.eventsourcing.store import EventStore
from l0.types import Event, EventType


def _folded(events: list[Event]) -> list[str]:
    """One line per stream event, runs of tokens folded into one."""
    lines: list[str] = []
    tokens: list[str] = []

    def flush() -> None:
        if tokens:
            lines.append(f"  TOKEN x{len(tokens):<4} {''.join(tokens)!r}")
            tokens.clear()

    for event in events:
        if event.type is EventType.TOKEN:
            tokens.append(event.text or "")
            continue
        flush()
        plain = event_to_dict(event)
        details = {
            k: v for k, v in plain.items() if v is not None and k not in ("type", "timestamp")
        }
        if "error" in details:
            details["error"] = f"{details['error']['type']}: {details['error']['message']}"
        lines.append(f"  {event.type.value.upper():<10} {format_meta(details)}")
    flush()
    return lines


def _report(result: ReplayResult) -> str:
    metadata = result.metadata
    lines = [f"Stream {result.stream_id}"]
    if metadata is not None:
        started = datetime.fromtimestamp(metadata.created_at, tz=timezone.utc).isoformat()
        lines.append(
            f"  recorded {started} by l0 {metadata.l0_version or '?'}; status {metadata.status}"
        )
    divergence = result.divergence()
    if divergence is not None:
        lines.append(f"  REPLAY DIVERGES from the recording: {divergence}")
    elif result.incomplete:
        lines.append(
            "  INCOMPLETE RECORDING: the run never finished writing it (killed, or its store "
            "failed); the replay shows how far it got and cannot be called a match"
        )
    else:
        lines.append(f"  replay matches the recording ({len(result.lifecycle)} lifecycle events)")
    lines.append("")
    lines.append("Lifecycle events:")
    origin = result.lifecycle[0].ts if result.lifecycle else 0.0
    for event in result.lifecycle:
        offset = (event.ts - origin) / 1000.0
        lines.append(f"  {offset:9.3f}s  {event.type.value:<22} {format_meta(event.meta)}")
    lines.append("")
    lines.append("Stream events:")
    lines.extend(_folded(result.events))
    state = result.state
    lines.append("")
    lines.append(f"Final state ({result.phase}):")
    lines.append(f"  content        {state.content!r}")
    lines.append(
        f"  tokens {state.token_count}, retries {state.model_retry_count} model + "
        f"{state.network_retry_count} network, fallback {state.fallback_index}, "
        f"violations {len(state.violations)}, resumed {state.resumed}"
    )
    if result.error is not None:
        lines.append(f"  error          {type(result.error).__name__}: {result.error}")
    return "\n".join(lines) + "\n"


def _as_json(result: ReplayResult) -> dict[str, Any]:
    return {
        "stream_id": result.stream_id,
        "phase": result.phase,
        "divergence": result.divergence(),
        "incomplete": result.incomplete,
        "metadata": result.metadata.to_dict() if result.metadata else None,
        "lifecycle": [lifecycle_to_dict(e) for e in result.lifecycle],
        "events": [event_to_dict(e) for e in result.events],
        "state": result.replayed_state.to_dict(),
        "visits": [[*edge, count] for edge, count in result.visits.items()],
    }


async def _replay_all(store: EventStore, stream_id: str | None) -> list[ReplayResult]:
    ids = [stream_id] if stream_id else await store.list_streams()
    if not ids:
        raise Error("The recording holds no streams")
    replayer = EventReplayer(store)
    return [await replayer.replay(one) for one in ids]


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    async def load() -> list[ReplayResult]:
        store, stream_id = await EventSourcing.open(args.recording)
        try:
            return await _replay_all(store, args.stream or stream_id)
        finally:
            close = getattr(store, "aclose", None)  # a database store's connections
            if close is not None:
                await close()

    try:
        results = anyio.run(load)
    # Unreadable input, or a database store that is down (ConnectionError): one line, status 2.
    except (Error, OSError, sqlite3.Error) as exc:
        print(f"python -m l0 replay: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump([_as_json(r) for r in results], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        for result in results:
            out.write(_report(result))
            if not args.no_diagram:
                out.write("\nPath through the runtime machine:\n```mermaid\n")
                out.write(result.diagram())
                out.write("```\n")
            out.write("\n")
    return exit_status(results)


EXIT_DIVERGES = 1
EXIT_INCOMPLETE = 3  # (2 is a user error)


def exit_status(results: list[ReplayResult]) -> int:
    """0 every replay matches; 1 one diverges; 3 none diverges but one is incomplete."""
    if any(r.divergence() is not None for r in results):
        return EXIT_DIVERGES
    return EXIT_INCOMPLETE if any(r.incomplete for r in results) else 0


def add_parser(commands: Any) -> None:
    """Register the `replay` subcommand on `python -m l0`'s subparsers."""
    replay = commands.add_parser(
        "replay", help="replay a recorded run and show its events and path"
    )
    replay.add_argument(
        "recording",
        help="path.jsonl[#stream_id], sqlite:///relative/path.db[#stream_id] "
        "(four slashes for an absolute path, as in SQLAlchemy) or postgresql://host/db[#stream_id]",
    )
    replay.add_argument("--stream", help="the stream id to replay (default: all)")
    replay.add_argument("--json", action="store_true", help="print JSON instead of text")
    replay.add_argument("--no-diagram", action="store_true", help="leave the diagram out")
    replay.set_defaults(handler=run)


__all__ = ["add_parser", "run"]
