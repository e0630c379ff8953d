"""One recording worker of the fleet tests: `python -m tests.fleet.record_worker URL NAME N`.

It records N l0 runs (every other one fails once mid-stream and is retried) into the
PostgreSQL database at URL, several at a time, and prints {stream_id: final text} as JSON.
"""

from __future__ import annotations

import json
import sys

import anyio

import l0
from l0.eventsourcing.postgres import PostgresEventStore
from l0.testing.scripted import Script, ScriptedFactory


async def record(url: str, name: str, count: int) -> dict[str, str]:
    store = PostgresEventStore(url, max_size=4)
    seen: dict[str, str] = {}

    async def one(n: int) -> None:
        text = f"{name} run {n} says hello"
        scripts = (
            [Script.tokens(text, fail_at=4), Script.tokens(text)]
            if n % 2
            else [Script.tokens(text)]
        )
        stream = await l0.run(
            stream=ScriptedFactory(*scripts), retry=l0.Retry(base_delay=0.001), event_store=store
        )
        assert await stream.read() == text
        assert stream.stream_id is not None
        seen[stream.stream_id] = text

    async with anyio.create_task_group() as group:
        for n in range(count):
            group.start_soon(one, n)
    await store.aclose()
    return seen


if __name__ == "__main__":
    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(anyio.run(record, url, name, count)))
