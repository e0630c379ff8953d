"""A circuit breaker in front of a flapping primary, with the real SDKs against a FaultServer.

The primary answers 503 for a while, then recovers. Over a sequence of calls sharing one
breaker (on a fake clock, moved by hand between calls): the first failures trip it, calls
are then served by the fallback without touching the primary, exactly one call probes the
primary per cool-down, and after the recovery the primary serves again.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

import l0
from l0.breaker import CircuitBreaker
from l0.observability import ObservabilityEvent
from l0.testing import ErrorReply, FaultServer, Reply, Stall
from tests.integration._support import Provider

pytestmark = pytest.mark.anyio

NO_RETRY = l0.Retry(attempts=0, max_retries=0)  # one primary attempt per call


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state.value


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_flapping_primary_is_skipped_while_open_probed_once_per_cool_down_and_restored(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    primary, backup = new_model("flapping"), new_model("steady")
    # 503 three times, then healthy; the first healthy answer is slow, so a second call
    # arrives while the probe is still out.
    server.script(
        primary,
        [ErrorReply(503)] * 3 + [Reply(["primary"], stall=Stall(0.5, after=1))],
        then=Reply(["primary"]),
    )
    server.script(backup, [], then=Reply(["backup"]))
    clock = FakeClock()
    changes: list[ObservabilityEvent] = []
    breaker = CircuitBreaker(
        failure_threshold=2, cool_down=10.0, clock=clock, name=primary, on_event=changes.append
    )
    completions = provider.wrap().chat.completions

    async def call() -> str:
        stream = await l0.run(
            stream=completions.factory(**provider.request(primary)),
            fallbacks=[completions.factory(**provider.request(backup))],
            retry=NO_RETRY,
            breaker=breaker,
        )
        return await stream.read()

    async def at(now: float) -> tuple[str, int]:
        clock.now = now
        answer = await call()
        return answer, server.attempts(primary)

    # closed: two 503s in a row trip the breaker
    assert await at(0.0) == ("backup", 1)
    assert state_of(breaker) == "closed" and breaker.failures == 1
    assert await at(1.0) == ("backup", 2)
    assert state_of(breaker) == "open" and breaker.retry_at == 11.0
    # open: the primary is left alone
    assert await at(2.0) == ("backup", 2)
    assert await at(10.9) == ("backup", 2)
    # the cool-down is over: one probe (still a 503), so open for another cool-down
    assert await at(11.0) == ("backup", 3)
    assert state_of(breaker) == "open" and breaker.retry_at == 21.0
    assert await at(15.0) == ("backup", 3)

    # the next probe finds the primary healthy; a call made while it is out is not a probe
    clock.now = 21.0
    answers: dict[str, str] = {}

    async def record(name: str) -> None:
        answers[name] = await call()

    async with anyio.create_task_group() as group:
        group.start_soon(record, "probe")
        with anyio.fail_after(10):
            while server.attempts(primary) < 4:
                await anyio.sleep(0.01)
        assert state_of(breaker) == "half_open"
        await record("meanwhile")
    assert answers == {"probe": "primary", "meanwhile": "backup"}
    assert server.attempts(primary) == 4
    assert state_of(breaker) == "closed"

    # closed again: the primary serves
    assert await at(22.0) == ("primary", 5)
    assert await at(23.0) == ("primary", 6)
    assert server.attempts(backup) == 7

    assert [(t.from_state.value, t.to_state.value, t.timestamp) for t in breaker.history] == [
        ("closed", "open", 1.0),
        ("open", "half_open", 11.0),
        ("half_open", "open", 11.0),
        ("open", "half_open", 21.0),
        ("half_open", "closed", 21.0),
    ]
    assert [(e.type.value, e.meta["state"]) for e in changes] == [
        ("FALLBACK_START", "open"),
        ("RETRY_ATTEMPT", "half_open"),
        ("FALLBACK_START", "open"),
        ("RETRY_ATTEMPT", "half_open"),
        ("FALLBACK_END", "closed"),
    ]
