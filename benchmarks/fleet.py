"""What the fleet stores cost: route health in Redis, recordings in PostgreSQL.

    python benchmarks/fleet.py [--quick] [--write benchmarks/RESULTS.md] [--json OUT]
        [--redis-url redis://...] [--postgres-url postgresql://...]

Without URLs it starts private servers from the OS packages (as the tests do, see
tests/fleet/servers.py); PostgreSQL then runs with its durable defaults (fsync and
synchronous commit on), like the SQLite file it is compared with.

1. Route health, per run: what one healthy run asks of the store (one `admit` before its
   attempt and one `report` after it), on loopback Redis and in process; and whole l0 runs
   (a zero-delay scripted stream with a fallback, so route health is on) with each store,
   minus the same runs with route health off. Goal: <= 1 ms per run on loopback Redis.
2. Recording throughput: runs per second recorded by concurrent l0 runs (a short scripted
   answer, one retry in every other run) into PostgreSQL and into SQLite; afterwards every
   recording is checked complete and one is replayed.

`--write` replaces this benchmark's section of RESULTS.md (between its markers) and keeps the
rest of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.fleet.servers

import l0  # noqa: E402
from l0.eventsourcing.postgres import PostgresEventStore  # noqa: E402
from l0.eventsourcing.sqlite import SQLiteEventStore  # noqa: E402
from l0.routes import InMemoryRouteHealth, RouteHealthPolicy, with_route  # noqa: E402
from l0.routes.redis import RedisRouteHealth  # noqa: E402
from l0.testing.scripted import Script, ScriptedFactory  # noqa: E402

START = "<!-- fleet benchmark: start (benchmarks/fleet.py --write) -->"
END = "<!-- fleet benchmark: end -->"
TEXT = "Hello from the fleet!"


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


# -- route health ----------------------------------------------------------------------------


async def check_cost(store: Any, runs: int) -> float:
    """Median seconds of one healthy run's admit + report."""
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        now = time.time()
        admission = await store.admit(f"route-{n % 4}", now=now)
        await store.report(f"route-{n % 4}", admission, "success", now=now)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def run_cost(route_health: Any, runs: int) -> float:
    """Median seconds of one whole l0 run with a fallback (route health on unless False)."""
    samples = []
    for _ in range(runs):
        primary = with_route(ScriptedFactory(Script.tokens(TEXT, size=4)), "primary")
        backup = with_route(ScriptedFactory(Script.tokens(TEXT, size=4)), "backup")
        started = time.perf_counter()
        stream = await l0.run(stream=primary, fallbacks=[backup], route_health=route_health)
        text = await stream.read()
        samples.append(time.perf_counter() - started)
        assert text == TEXT, text
    return statistics.median(samples)


async def route_health(redis_url: str, runs: int) -> dict[str, float]:
    policy = RouteHealthPolicy()
    redis = RedisRouteHealth(redis_url, policy, timeout=1.0, prefix=f"bench-{os.getpid()}:")
    memory = InMemoryRouteHealth(policy)
    await check_cost(redis, 200)  # warm: connection, script loaded
    results = {
        "check_redis_us": await check_cost(redis, runs) * 1e6,
        "check_memory_us": await check_cost(memory, runs) * 1e6,
    }
    await run_cost(False, 200)
    off, on_memory, on_redis = [], [], []
    for _ in range(3):  # interleaved rounds
        off.append(await run_cost(False, runs // 3))
        on_memory.append(await run_cost(memory, runs // 3))
        on_redis.append(await run_cost(redis, runs // 3))
    results["run_off_us"] = median_us(off)
    results["run_memory_us"] = median_us(on_memory)
    results["run_redis_us"] = median_us(on_redis)
    results["run_redis_extra_us"] = results["run_redis_us"] - results["run_off_us"]
    await redis.aclose()
    return results


# -- recording throughput ----------------------------------------------------------------------


async def record(store: Any, runs: int, concurrency: int) -> float:
    """Runs per second recorded into `store` by `concurrency` runs at a time."""
    limit = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        scripts = (
            [Script.tokens(TEXT, size=4, fail_at=2), Script.tokens(TEXT, size=4)]
            if n % 2
            else [Script.tokens(TEXT, size=4)]
        )
        async with limit:
            stream = await l0.run(
                stream=ScriptedFactory(*scripts),
                retry=l0.Retry(base_delay=0.0001),
                event_store=store,
            )
            assert await stream.read() == TEXT

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(runs)))
    elapsed = time.perf_counter() - started
    ids = await store.list_streams()
    assert len(ids) >= runs, (len(ids), runs)
    assert not await l0.EventSourcing.incomplete(store)  # every recording written to the end
    replay = await l0.EventReplayer(store).replay(ids[-1])
    assert replay.faithful and replay.state.content == TEXT
    return runs / elapsed


async def recording(postgres_url: str, runs: int, concurrency: int) -> dict[str, float]:
    postgres = PostgresEventStore(postgres_url, max_size=concurrency)
    await record(postgres, 20, concurrency)  # warm: pool, schema
    with tempfile.TemporaryDirectory() as directory:
        sqlite = SQLiteEventStore(Path(directory) / "runs.db")
        await record(sqlite, 20, concurrency)
        pg, lite = [], []
        for _ in range(3):
            pg.append(await record(postgres, runs, concurrency))
            lite.append(await record(sqlite, runs, concurrency))
    await postgres.aclose()
    return {
        "postgres_runs_per_s": statistics.median(pg),
        "sqlite_runs_per_s": statistics.median(lite),
    }


# -- servers, report ---------------------------------------------------------------------------


def servers(args: argparse.Namespace) -> tuple[str, str, Callable[[], None]]:
    stops: list[Callable[[], None]] = []
    redis_url, postgres_url = args.redis_url, args.postgres_url
    if redis_url is None or postgres_url is None:
        from tests.fleet.servers import PostgresServer, RedisServer

        if redis_url is None:
            redis_server = RedisServer()
            stops.append(redis_server.stop)
            redis_url = redis_server.url
        if postgres_url is None:
            postgres_server = PostgresServer(durable=True)
            stops.append(postgres_server.stop)
            postgres_url = postgres_server.url

    def stop() -> None:
        for each in stops:
            each()

    return redis_url, postgres_url, stop


def markdown(results: dict[str, Any]) -> str:
    health, rec = results["route_health"], results["recording"]
    met = "yes" if health["run_redis_extra_us"] <= 1000 else "NO"
    return f"""{START}
## Fleet stores (benchmarks/fleet.py)

- date: {results["date"]}
- machine: {results["machine"]}; {results["note"]}
- route health: {results["runs"]} runs per measurement, medians; recording:
  {results["record_runs"]} runs, {results["concurrency"]} at a time, median of 3 rounds

| target | measured | met |
|---|---|---|
| shared health check on loopback Redis <= 1 ms per run | \
{health["run_redis_extra_us"]:.0f} us | {met} |

Route health per run (one admit + one report; whole runs have a fallback, so route health is on):

| | Redis (loopback) | in process |
|---|---|---|
| admit + report | {health["check_redis_us"]:.0f} us | {health["check_memory_us"]:.1f} us |
| whole l0 run | {health["run_redis_us"]:.0f} us | {health["run_memory_us"]:.0f} us |
| whole l0 run, route health off | {health["run_off_us"]:.0f} us | |

Recording throughput (runs recorded per second; every recording checked complete, one replayed):

| PostgreSQL ({results["postgres"]}) | SQLite (one file) |
|---|---|
| {rec["postgres_runs_per_s"]:.0f} | {rec["sqlite_runs_per_s"]:.0f} |
{END}
"""


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    parser.add_argument("--redis-url")
    parser.add_argument("--postgres-url")
    parser.add_argument("--write", help="update this benchmark's section of RESULTS.md")
    parser.add_argument("--json", help="write the numbers as JSON")
    parser.add_argument("--note", default="", help="a note on the machine (e.g. its load)")
    args = parser.parse_args()
    runs = 300 if args.quick else 3000
    record_runs, concurrency = (60, 8) if args.quick else (600, 16)
    redis_url, postgres_url, stop = servers(args)
    try:

        async def measure() -> tuple[dict[str, float], dict[str, float]]:
            return (
                await route_health(redis_url, runs),
                await recording(postgres_url, record_runs, concurrency),
            )

        health, rec = asyncio.run(measure())
    finally:
        stop()
    results = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "note": args.note or "servers on the same machine",
        "postgres": "given URL" if args.postgres_url else "loopback, durable",
        "runs": runs,
        "record_runs": record_runs,
        "concurrency": concurrency,
        "route_health": health,
        "recording": rec,
    }
    section = markdown(results)
    print(section)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.write:
        write_section(Path(args.write), section)


if __name__ == "__main__":
    main()
