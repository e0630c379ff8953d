"""Four worker processes share one Redis: the fleet acts on one route health.

Each worker is a separate Python process with its own RedisRouteHealth
(tests/fleet/route_worker.py). Time is virtual: every round the test gives all four the same
`now` and whether the route is up, writes to all of them before reading any answer (so their
calls race in Redis), and looks at what each was allowed to do. The workers call the store
directly; the route's outcome is the test's script, not an l0 run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
COOL_DOWN = 5.0  # tests/fleet/route_worker.py's policy (threshold 3)


class Fleet:
    def __init__(self, redis_url: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        prefix = f"fleet-{uuid.uuid4()}:"
        self.workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.fleet.route_worker", redis_url, prefix],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=env,
            )
            for _ in range(WORKERS)
        ]

    def round(
        self, now: float, *, up: bool, retry_after: float | None = None, only: int | None = None
    ) -> list[dict[str, Any]]:
        """Every worker (or only one) calls the route at `now`, all at once."""
        chosen = self.workers if only is None else [self.workers[only]]
        command = json.dumps({"now": now, "up": up, "retry_after": retry_after}) + "\n"
        for worker in chosen:
            assert worker.stdin is not None
            worker.stdin.write(command)
            worker.stdin.flush()
        replies = []
        for worker in chosen:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line, f"worker {worker.pid} exited with {worker.wait()}"
            replies.append(json.loads(line))
        assert all(reply["shared"] for reply in replies)  # answered by Redis, not locally
        return replies

    def close(self) -> None:
        for worker in self.workers:
            assert worker.stdin is not None
            worker.stdin.close()
        for worker in self.workers:
            assert worker.wait(30) == 0


@pytest.fixture
def fleet(redis_url: str) -> Iterator[Fleet]:
    running = Fleet(redis_url)
    try:
        yield running
    finally:
        for worker in running.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe is not None:
                    pipe.close()


def test_four_workers_share_outages_probes_retry_after_and_recovery(fleet: Fleet) -> None:
    now = 1_800_000_000.0
    # Healthy: every worker calls the route.
    assert all(r["allowed"] and r["reason"] == "closed" for r in fleet.round(now, up=True))

    # A 429 with Retry-After: 8 s seen by worker 0 holds back all four until it has passed.
    assert fleet.round(now + 1, up=False, retry_after=8.0, only=0)[0]["allowed"]
    for second in range(2, 9):
        replies = fleet.round(now + second, up=True)
        assert [r["reason"] for r in replies] == ["retry_after"] * WORKERS
    assert all(r["allowed"] for r in fleet.round(now + 9, up=True))  # held until t+9

    # An outage of 60 s: the fleet sends the threshold's failures, then one probe per cool-down.
    start = now + 10
    calls, probes = [], []
    for second in range(60):
        replies = fleet.round(start + second, up=False)
        calls.append(sum(r["allowed"] for r in replies))
        probes.append(sum(r["probe"] for r in replies))
    # The first round trips it: four raced, and three failures (or all four, when every
    # admission came before the first report) reached the route.
    assert 3 <= calls[0] <= WORKERS
    assert calls[1:] == probes[1:]  # afterwards nothing but probes reaches the route
    probe_rounds = [i for i, p in enumerate(probes) if p]
    assert max(probes) == 1  # never two probes at once (let alone four)
    assert probe_rounds == list(range(5, 60, 5))  # exactly one per cool-down, fleet-wide

    # Recovery: the next probe succeeds and every worker is back on the route.
    recovering = fleet.round(start + 60, up=True)  # the cool-down after the probe at 55
    assert sum(r["probe"] for r in recovering) == 1
    # The others waited for its verdict, or came after it and found the route closed.
    assert {r["reason"] for r in recovering} <= {"probe", "half_open_busy", "closed"}
    for second in range(61, 64):
        replies = fleet.round(start + second, up=True)
        assert all(r["allowed"] and r["reason"] == "closed" for r in replies)
    fleet.close()
