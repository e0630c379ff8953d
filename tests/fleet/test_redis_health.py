"""RedisRouteHealth against a real redis-server: the breaker's contract, the Lua script held to
the Python reference model (and that model to l0.CircuitBreaker), and bounded calls while
Redis is paused or killed."""

from __future__ import annotations

import asyncio
import logging
import uuid

import anyio
import pytest
import redis
from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.errors import ErrorCode
from l0.routes.health import Admission, InMemoryRouteHealth, RouteHealthPolicy
from l0.routes.keys import with_route
from l0.routes.redis import RedisRouteHealth
from l0.testing.scripted import Script, ScriptedFactory
from tests.fleet.servers import RedisServer

pytestmark = pytest.mark.anyio

POLICY = RouteHealthPolicy(failure_threshold=2, cool_down=10.0)
T0 = 1_800_000_000.0  # a wall-clock time; the store only compares the times it is given


def new_store(url: str, policy: RouteHealthPolicy = POLICY, **options: object) -> RedisRouteHealth:
    return RedisRouteHealth(url, policy, timeout=1.0, **options)  # type: ignore[arg-type]


async def test_failures_trip_the_route_and_one_probe_tests_it_after_the_cool_down(
    redis_url: str,
) -> None:
    store = new_store(redis_url)
    first = await store.admit("gpt", now=T0)
    assert first == Admission(True, False, 0, None, "closed")
    await store.report("gpt", first, "failure", now=T0)
    assert (await store.admit("gpt", now=T0 + 1)).allowed  # one failure: still closed
    await store.report("gpt", first, "failure", now=T0 + 1)  # the threshold: open

    refused = await store.admit("gpt", now=T0 + 2)
    assert (refused.allowed, refused.reason, refused.retry_at) == (False, "open", T0 + 11)
    probe = await store.admit("gpt", now=T0 + 11)
    assert (probe.allowed, probe.probe, probe.reason) == (True, True, "probe")
    busy = await store.admit("gpt", now=T0 + 11.5)
    assert (busy.allowed, busy.reason) == (False, "half_open_busy")

    await store.report("gpt", probe, "failure", now=T0 + 12)  # another cool-down
    assert (await store.admit("gpt", now=T0 + 21)).reason == "open"
    second = await store.admit("gpt", now=T0 + 22)
    assert second.probe
    await store.report("gpt", second, "success", now=T0 + 23)
    assert (await store.admit("gpt", now=T0 + 23)).reason == "closed"
    await store.aclose()


async def test_an_abandoned_probe_lets_the_next_call_probe_and_stale_reports_are_ignored(
    redis_url: str,
) -> None:
    store = new_store(redis_url)
    early = await store.admit("r", now=T0)  # admitted while closed; reports after it opened
    for _ in range(2):
        await store.report("r", await store.admit("r", now=T0), "failure", now=T0)
    probe = await store.admit("r", now=T0 + 10)
    await store.report("r", early, "success", now=T0 + 10)  # stale: says nothing now
    assert (await store.admit("r", now=T0 + 10)).reason == "half_open_busy"
    await store.report("r", probe, "abandoned", now=T0 + 10)
    again = await store.admit("r", now=T0 + 10)
    assert again.probe and again.epoch > probe.epoch
    await store.report("r", probe, "success", now=T0 + 10)  # the abandoned probe: stale
    assert (await store.admit("r", now=T0 + 10)).reason == "half_open_busy"
    await store.aclose()


async def test_a_retry_after_holds_the_route_back_until_it_has_passed(redis_url: str) -> None:
    store, other = new_store(redis_url), new_store(redis_url)  # two workers
    admission = await store.admit("r", now=T0)
    await store.report("r", admission, "failure", now=T0, retry_after=30.0)
    held = await other.admit("r", now=T0 + 29.9)
    assert (held.allowed, held.reason, held.retry_at) == (False, "retry_after", T0 + 30)
    assert (await other.admit("r", now=T0 + 30)).reason == "closed"  # one failure < threshold
    await store.aclose()
    await other.aclose()


async def test_a_probe_that_never_reports_is_replaced_after_its_lease(redis_url: str) -> None:
    store = new_store(redis_url, RouteHealthPolicy(2, 10.0, probe_timeout=5.0))
    for _ in range(2):
        await store.report("r", await store.admit("r", now=T0), "failure", now=T0)
    lost = await store.admit("r", now=T0 + 10)  # its worker dies
    busy = await store.admit("r", now=T0 + 14.9)
    assert (busy.reason, busy.retry_at) == ("half_open_busy", T0 + 15)
    replacement = await store.admit("r", now=T0 + 15)
    assert replacement.probe and replacement.epoch > lost.epoch
    await store.aclose()


async def test_reset_closes_the_route_and_forgets_holds(redis_url: str) -> None:
    store = new_store(redis_url)
    admission = await store.admit("r", now=T0)
    await store.report("r", admission, "failure", now=T0, retry_after=100.0)
    await store.report("r", admission, "failure", now=T0)
    await store.reset("r")
    assert (await store.admit("r", now=T0 + 1)).reason == "closed"
    await store.aclose()


async def test_keys_expire_and_a_healthy_route_is_never_written(redis_url: str) -> None:
    store = new_store(redis_url, prefix="fleet-a:", ttl=60.0)
    healthy = await store.admit("ok", now=T0)
    await store.report("ok", healthy, "success", now=T0)
    client = redis.Redis.from_url(redis_url)
    assert client.keys("fleet-a:*") == []  # reads only: nothing stored for a healthy route
    await store.report("bad", await store.admit("bad", now=T0), "failure", now=T0)
    assert 0 < client.pttl("fleet-a:bad") <= 60_000
    await store.report(
        "held", await store.admit("held", now=T0), "failure", now=T0, retry_after=100
    )
    assert 60_000 < client.pttl("fleet-a:held") <= 101_000  # outlives the hold
    client.close()
    await store.aclose()


async def test_prefixes_keep_fleets_apart(redis_url: str) -> None:
    a, b = new_store(redis_url, prefix="a:"), new_store(redis_url, prefix="b:")
    await a.report("r", await a.admit("r", now=T0), "failure", now=T0, retry_after=50)
    assert (await a.admit("r", now=T0)).reason == "retry_after"
    assert (await b.admit("r", now=T0)).reason == "closed"
    await a.aclose()
    await b.aclose()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"prefix": ""}, "prefix"),
        ({"policy": (2, 10.0)}, "policy"),
        ({"ttl": "1"}, "ttl"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(l0.Error) as caught:
        arguments: dict[str, object] = {"policy": POLICY, **options}
        RedisRouteHealth("redis://127.0.0.1:1/0", **arguments)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT and message in str(caught.value)


def test_a_client_that_is_not_redis_is_refused() -> None:
    with pytest.raises(l0.Error, match="redis:// URL"):
        RedisRouteHealth(42, POLICY)  # type: ignore[arg-type]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_the_store_says_it_needs_asyncio() -> None:
    store = RedisRouteHealth("redis://127.0.0.1:1/0", POLICY)
    with pytest.raises(l0.Error, match="asyncio only") as caught:
        await store.admit("r", now=T0)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


# -- Redis paused or killed: calls stay bounded and are served locally ----------------------


async def test_a_paused_redis_costs_each_call_at_most_the_timeout(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisRouteHealth(private_redis.url, POLICY, timeout=0.05, retry_interval=0.2)
    assert not (await store.admit("r", now=T0)).epoch < 0  # from Redis
    private_redis.pause()
    try:
        with caplog.at_level(logging.INFO, logger="l0"), anyio.fail_after(5):
            # Without the bound these would wait forever on the frozen server.
            admissions = [await store.admit("r", now=T0 + n) for n in range(3)]
            for admission in admissions:
                await store.report("r", admission, "failure", now=T0 + 3)
            await anyio.sleep(0.25)  # past retry_interval: Redis is tried (and fails) again
            assert (await store.admit("r", now=T0 + 4)).reason == "open"  # local state
        assert store.degraded
        assert all(a.allowed and a.epoch < 0 for a in admissions)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "did not answer within 0.05s" in warnings[0].getMessage()
    finally:
        private_redis.resume()
    await anyio.sleep(0.25)
    with caplog.at_level(logging.INFO, logger="l0"):
        back = await store.admit("r", now=T0 + 5)
    assert back == Admission(True, False, 0, None, "closed")  # the shared state again
    assert not store.degraded
    assert any("answers again" in r.getMessage() for r in caplog.records)
    await store.aclose()


async def test_l0_runs_keep_streaming_while_redis_is_paused(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With the default bound, runs using a frozen Redis for route health still stream (each
    store call gives up after 50 ms) and the log says route health is local now."""
    store = RedisRouteHealth(private_redis.url, POLICY)
    private_redis.pause()
    try:
        with caplog.at_level(logging.WARNING, logger="l0"), anyio.fail_after(20):
            for n in range(3):
                stream = await l0.run(
                    stream=with_route(ScriptedFactory(Script.tokens(f"hello {n}")), "primary"),
                    fallbacks=[with_route(ScriptedFactory(Script.tokens("backup")), "backup")],
                    route_health=store,
                )
                assert await stream.read() == f"hello {n}"
    finally:
        private_redis.resume()
    assert any("route health" in r.getMessage() for r in caplog.records)
    await store.aclose()


async def test_a_killed_redis_serves_locally_and_a_hold_still_applies(
    private_redis: RedisServer,
) -> None:
    store = RedisRouteHealth(private_redis.url, POLICY, timeout=0.05)
    shared = await store.admit("r", now=T0)
    private_redis.kill()
    with anyio.fail_after(5):
        # The shared admission's report cannot reach Redis: its Retry-After still holds here.
        await store.report("r", shared, "failure", now=T0, retry_after=20.0)
        held = await store.admit("r", now=T0 + 1)
    assert (held.allowed, held.reason, held.retry_at) == (False, "retry_after", T0 + 20)
    await store.aclose()


async def test_a_refused_connection_is_served_locally_at_once() -> None:
    from tests.fleet.servers import free_port

    store = RedisRouteHealth(f"redis://127.0.0.1:{free_port()}/0", POLICY)
    with anyio.fail_after(5):
        admission = await store.admit("r", now=T0)
    assert admission == Admission(True, False, -2, None, "closed")  # local epoch 0
    await store.aclose()


# -- the Lua script answers like InMemoryRouteHealth, the in-process default ---------------

ROUTES = ("a", "b")
admit = st.tuples(
    st.just("admit"), st.sampled_from(ROUTES), st.sampled_from([0.0, 0.5, 1.0, 3.0, 4.0, 6.0, 10.0])
)  # boundaries meet
report = st.tuples(
    st.just("report"),
    st.integers(0, 7),  # which admission is reported: 0 the latest, 1 the one before, ...
    st.sampled_from(["success", "failure", "failure", "abandoned"]),
    st.one_of(st.none(), st.floats(0, 15)),
)
# Resets are rare: they wipe the state the other steps build up.
step = st.one_of(admit, report, admit, report, st.tuples(st.just("reset"), st.sampled_from(ROUTES)))


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(step, min_size=25, max_size=60),
    policy=st.builds(
        RouteHealthPolicy,
        failure_threshold=st.integers(1, 3),
        cool_down=st.sampled_from([0.0, 4.0, 10.0]),
        probe_timeout=st.sampled_from([3.0, 50.0]),
        max_retry_after=st.sampled_from([6.0, 120.0]),
    ),
)
def test_the_lua_script_answers_like_the_in_memory_store(
    redis_url: str, steps: list[tuple[object, ...]], policy: RouteHealthPolicy
) -> None:
    """Any sequence of admissions, reports (stale ones included), Retry-Afters and resets
    gets the same answers from Redis as from InMemoryRouteHealth: a fleet behaves like one
    process."""

    async def check() -> None:
        store = new_store(redis_url, policy, prefix=f"{uuid.uuid4()}:")
        model = InMemoryRouteHealth(policy)
        given_out: list[tuple[str, Admission]] = []
        now = T0
        for op, *args in steps:
            if op == "admit":
                route, advance = str(args[0]), float(args[1])  # type: ignore[arg-type]
                now += advance
                got = await store.admit(route, now=now)
                assert got == await model.admit(route, now=now)
                given_out.append((route, got))
            elif op == "report" and given_out:
                which, outcome, after = args
                route, admission = given_out[-1 - int(which) % len(given_out)]  # type: ignore[call-overload]
                for target in (store, model):
                    await target.report(route, admission, outcome, now=now, retry_after=after)  # type: ignore[arg-type]
            elif op == "reset":
                await store.reset(str(args[0]))
                await model.reset(str(args[0]))
        await store.aclose()

    asyncio.run(check())
