"""Four worker processes share one Redis: the fleet acts on one route health.

Each worker is a separate Python process with its own RedisRouteHealth. Time is virtual:
every round the test gives all four the same `now`, writes to all of them before reading any
answer (so their calls race in Redis), and looks at what each did. Two fleets:

- tests/fleet/route_worker.py calls the store directly, the route's outcome given by the
  test: the store's own contract, exactly;
- tests/fleet/run_worker.py makes real l0 runs (route_health=the Redis store) with the real
  openai SDK against this process's FaultServer, a primary model and a fallback: what the
  fleet does to the provider, counted by the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from l0.testing import ErrorReply, FaultServer, Reply

pytestmark = pytest.mark.slow  # worker processes, real time

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
COOL_DOWN = 5.0  # the workers' policy (threshold 3 in route_worker, 2 in run_worker)


class Fleet:
    def __init__(self, module: str, *args: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        self.workers = [
            subprocess.Popen(
                [sys.executable, "-m", module, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=env,
            )
            for _ in range(WORKERS)
        ]

    def round(self, command: dict[str, Any], only: int | None = None) -> list[dict[str, Any]]:
        """Every worker (or only one) is given `command`, all at once; their answers."""
        chosen = self.workers if only is None else [self.workers[only]]
        line = json.dumps(command) + "\n"
        for worker in chosen:
            assert worker.stdin is not None
            worker.stdin.write(line)
            worker.stdin.flush()
        replies = []
        for worker in chosen:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line, f"worker {worker.pid} exited with {worker.wait()}"
            replies.append(json.loads(line))
        return replies

    def close(self) -> None:
        for worker in self.workers:
            assert worker.stdin is not None
            worker.stdin.close()
        for worker in self.workers:
            assert worker.wait(30) == 0


def stopped(fleet: Fleet) -> None:
    for worker in fleet.workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for pipe in (worker.stdin, worker.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def store_fleet(redis_url: str) -> Iterator[Fleet]:
    running = Fleet("tests.fleet.route_worker", redis_url, f"fleet-{uuid.uuid4()}:")
    try:
        yield running
    finally:
        stopped(running)


def test_four_workers_share_outages_probes_retry_after_and_recovery(store_fleet: Fleet) -> None:
    def call(
        now: float, *, up: bool, retry_after: float | None = None, only: int | None = None
    ) -> list[dict[str, Any]]:
        replies = store_fleet.round({"now": now, "up": up, "retry_after": retry_after}, only)
        assert all(reply["shared"] for reply in replies)  # answered by Redis, not locally
        return replies

    now = 1_800_000_000.0
    # Healthy: every worker calls the route.
    assert all(r["allowed"] and r["reason"] == "closed" for r in call(now, up=True))

    # A 429 with Retry-After: 8 s seen by worker 0 holds back all four until it has passed.
    assert call(now + 1, up=False, retry_after=8.0, only=0)[0]["allowed"]
    for second in range(2, 9):
        replies = call(now + second, up=True)
        assert [r["reason"] for r in replies] == ["retry_after"] * WORKERS
    assert all(r["allowed"] for r in call(now + 9, up=True))  # held until t+9

    # An outage of 60 s: the fleet sends the threshold's failures, then one probe per cool-down.
    start = now + 10
    calls, probes = [], []
    for second in range(60):
        replies = call(start + second, up=False)
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
    recovering = call(start + 60, up=True)  # the cool-down after the probe at 55
    assert sum(r["probe"] for r in recovering) == 1
    # The others waited for its verdict, or came after it and found the route closed.
    assert {r["reason"] for r in recovering} <= {"probe", "half_open_busy", "closed"}
    for second in range(61, 64):
        replies = call(start + second, up=True)
        assert all(r["allowed"] and r["reason"] == "closed" for r in replies)
    store_fleet.close()


def test_four_workers_running_l0_send_one_probe_per_cool_down_to_a_failing_primary(
    redis_url: str, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """Real runs: a Retry-After one worker got keeps all four on the fallback; during an
    outage the provider sees one request per cool-down from the whole fleet; after recovery
    every worker is back on the primary."""
    primary, backup = new_model("primary"), new_model("backup")
    healthy = Reply(["from ", "primary"])
    server.script(primary, [], then=healthy)
    server.script(backup, [], then=Reply(["from ", "backup"]))
    fleet = Fleet(
        "tests.fleet.run_worker",
        redis_url,
        f"fleet-{uuid.uuid4()}:",
        server.base_url,
        primary,
        backup,
    )
    try:

        def runs(now: float, only: int | None = None) -> tuple[list[str], int]:
            """The texts the runs at `now` returned, and the primary's requests they made."""
            before = server.attempts(primary)
            replies = fleet.round({"now": now}, only)
            return [r["text"] for r in replies], server.attempts(primary) - before

        now = 1_800_000_000.0
        assert runs(now) == (["from primary"] * WORKERS, WORKERS)

        # One worker meets a 429 with Retry-After: 8 s; all four leave the primary alone.
        server.script(primary, [ErrorReply(429, retry_after=8)], then=healthy)
        assert runs(now + 1, only=0) == (["from backup"], 1)
        for second in range(2, 9):
            assert runs(now + second) == (["from backup"] * WORKERS, 0)
        assert runs(now + 9) == (["from primary"] * WORKERS, WORKERS)

        # An outage: after the round that trips the route, one request per cool-down.
        server.script(primary, [], then=ErrorReply(503))
        start = now + 10
        texts, tripping = runs(start)
        assert texts == ["from backup"] * WORKERS and tripping >= 2
        requests = [runs(start + second)[1] for second in range(1, 31)]
        assert [second for second, n in enumerate(requests, 1) if n] == list(range(5, 31, 5))
        assert max(requests) == 1

        # Recovery: the next probe finds the primary well; then everyone is back.
        server.script(primary, [], then=healthy)
        texts, probed = runs(start + 35)
        assert probed >= 1 and "from primary" in texts
        for second in range(36, 39):
            assert runs(start + second) == (["from primary"] * WORKERS, WORKERS)
        fleet.close()
    finally:
        stopped(fleet)
