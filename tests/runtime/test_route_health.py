"""Route health across runs (`route_health=`): a route that keeps failing is skipped by the
next runs until one probe finds it well. Virtual clock for the runs (asyncio and trio), a
hand-moved wall clock for the store.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.routes import Admission, InMemoryRouteHealth, RouteHealthPolicy, with_route
from l0.testing import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Unavailable(Exception):
    status_code = 503


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def down() -> Script:
    return Script(chunks=["x"], fail_at=0, error=Unavailable("503"))


def routes(primary: ScriptedFactory, backup: ScriptedFactory) -> tuple[Any, Any]:
    return with_route(primary, "main", "http://a"), with_route(backup, "spare", "http://b")


async def answer(primary: Any, backup: Any, **options: Any) -> tuple[str, float]:
    start = anyio.current_time()
    result = await l0.run(stream=primary, fallbacks=[backup], **options)
    return await result.read(), anyio.current_time() - start


async def test_an_outage_is_remembered_by_the_next_runs() -> None:
    """Run 1 leaves the failing primary; runs 2-3 go straight to the fallback, instantly."""
    clock = Clock()
    store = InMemoryRouteHealth(RouteHealthPolicy(cool_down=10.0), clock=clock)
    primary, backup = ScriptedFactory(down()), ScriptedFactory(Script.tokens("spare"))
    main, spare = routes(primary, backup)
    assert (await answer(main, spare, route_health=store))[0] == "spare"
    assert primary.calls == 2 and store.state("main@http://a") == "open"
    for _ in range(2):
        text, took = await answer(main, spare, route_health=store)
        assert text == "spare" and took == 0.0
    assert primary.calls == 2 and backup.calls == 3


async def test_after_the_cool_down_one_probe_brings_traffic_back() -> None:
    """Past the cool-down the next run probes the primary; its success closes the route."""
    clock = Clock()
    store = InMemoryRouteHealth(RouteHealthPolicy(cool_down=10.0), clock=clock)
    primary = ScriptedFactory(down(), down(), Script.tokens("main"))
    backup = ScriptedFactory(Script.tokens("spare"))
    main, spare = routes(primary, backup)
    await answer(main, spare, route_health=store)
    clock.now += 10.0
    assert (await answer(main, spare, route_health=store))[0] == "main"
    assert store.state("main@http://a") == "closed" and primary.calls == 3


async def test_a_failed_probe_keeps_the_route_open() -> None:
    """A probe that fails re-opens the route for another cool-down (one request paid it)."""
    clock = Clock()
    store = InMemoryRouteHealth(RouteHealthPolicy(cool_down=10.0), clock=clock)
    primary, backup = ScriptedFactory(down()), ScriptedFactory(Script.tokens("spare"))
    main, spare = routes(primary, backup)
    await answer(main, spare, route_health=store)
    clock.now += 10.0
    assert (await answer(main, spare, route_health=store))[0] == "spare"
    assert primary.calls == 3  # the one probe
    assert (await answer(main, spare, route_health=store))[0] == "spare"
    assert primary.calls == 3 and store.state("main@http://a") == "open"


async def test_opting_out_forgets_between_runs() -> None:
    """route_health=False: every run tries its primary again."""
    primary, backup = ScriptedFactory(down()), ScriptedFactory(Script.tokens("spare"))
    main, spare = routes(primary, backup)
    for _ in range(2):
        await answer(main, spare, route_health=False)
    assert primary.calls == 4


async def test_it_is_on_by_default_with_fallbacks() -> None:
    """With fallbacks and no option, the process's store remembers the outage."""
    from l0.routes import default_route_health

    primary, backup = ScriptedFactory(down()), ScriptedFactory(Script.tokens("spare"))
    main, spare = with_route(primary, "default-on"), with_route(backup, "default-on-spare")
    try:
        for _ in range(2):
            await answer(main, spare)
        assert primary.calls == 2
    finally:
        await default_route_health().reset("default-on")


async def test_the_last_route_is_always_called() -> None:
    """Both routes open: the run still calls its last route rather than fail untried."""
    clock = Clock()
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1), clock=clock)
    for route in ("main@http://a", "spare@http://b"):
        store.report_now(route, store.admit_now(route, clock.now), "failure", now=clock.now)
    primary, backup = ScriptedFactory(Script.tokens("main")), ScriptedFactory(Script.tokens("b"))
    main, spare = routes(primary, backup)
    assert (await answer(main, spare, route_health=store))[0] == "b"
    assert primary.calls == 0 and backup.calls == 1


class SlowStore:
    """A store that never answers in time (a stuck network)."""

    def __init__(self) -> None:
        self.calls = 0

    async def admit(self, route: str, *, now: float) -> Admission:
        self.calls += 1
        await anyio.sleep(3600)
        raise AssertionError("never reached")

    async def report(self, *args: Any, **kwargs: Any) -> None:
        await anyio.sleep(3600)

    async def reset(self, route: str) -> None: ...

    async def aclose(self) -> None: ...


class BrokenStore(SlowStore):
    async def admit(self, route: str, *, now: float) -> Admission:
        self.calls += 1
        raise OSError("connection refused")

    async def report(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("connection refused")


async def test_a_slow_store_never_holds_a_stream_up() -> None:
    """Each store call is bounded; the route is then called as if healthy."""
    store = SlowStore()
    primary, backup = ScriptedFactory(Script.tokens("main")), ScriptedFactory(Script.tokens("b"))
    main, spare = routes(primary, backup)
    text, took = await answer(main, spare, route_health=store)
    assert text == "main" and store.calls == 1
    assert took <= 2 * l0.routes.STORE_CALL_LIMIT + 1e-9


async def test_a_broken_store_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A store raising OSError: the run goes on, the trouble is logged."""
    primary, backup = ScriptedFactory(Script.tokens("main")), ScriptedFactory(Script.tokens("b"))
    main, spare = routes(primary, backup)
    with caplog.at_level(logging.WARNING, logger="l0"):
        text, _ = await answer(main, spare, route_health=BrokenStore())
    assert text == "main"
    assert "route health store failed" in caplog.text


async def test_a_bad_option_is_refused() -> None:
    """route_health must be a bool, None or a store."""
    with pytest.raises(l0.Error) as info:
        await l0.run(stream=lambda: None, fallbacks=[lambda: None], route_health="yes")  # type: ignore[arg-type]
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert "route_health" in str(info.value)


async def test_a_hedge_does_not_race_a_route_the_store_skips() -> None:
    """hedge_after with route health: an open next route is not raced."""
    clock = Clock()
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1), clock=clock)
    spare_key = "spare@http://b"
    store.report_now(spare_key, store.admit_now(spare_key, clock.now), "failure", now=clock.now)
    primary = ScriptedFactory(Script.tokens("main", stall_at=0, stall_for=1.0))
    backup = ScriptedFactory(Script.tokens("b"))
    main, spare = routes(primary, backup)
    text, took = await answer(main, spare, route_health=store, hedge_after=200)
    assert (text, took, backup.calls) == ("main", 1.0, 0)


async def test_a_winning_hedge_is_reported_for_its_own_route() -> None:
    """The hedge's route gets the verdict of the attempt it took over; the overtaken route
    gets none (a half-open probe is released)."""
    clock = Clock()
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1, cool_down=5), clock=clock)
    main_key = "main@http://a"
    store.report_now(main_key, store.admit_now(main_key, clock.now), "failure", now=clock.now)
    clock.now += 5  # the primary's next call is its probe
    primary = ScriptedFactory(Script.tokens("main", stall_at=0, stall_for=30.0))
    backup = ScriptedFactory(Script.tokens("b", fail_at=1, error=Unavailable("503")),
                             Script.tokens("b"))  # fmt: skip
    main, spare = routes(primary, backup)
    text, _ = await answer(main, spare, route_health=store, hedge_after=200)
    assert text == "b" and backup.calls == 2
    # the hedge's route took the attempt over: its failure counts against it (threshold 1)
    assert store.state("spare@http://b") == "open"
    assert store.state(main_key) == "open"  # the probe was released, not judged
    assert store.admit_now(main_key, clock.now).probe  # so the next call may probe


async def test_the_runs_own_retry_after_does_not_turn_its_retry_away() -> None:
    """A Retry-After within the limit is waited out and the route retried, although the
    store holds the route for other runs until then (store and loop clocks differ)."""

    class Held(Exception):
        status_code = 503
        retry_after = 1.0

    store = InMemoryRouteHealth()  # wall clock, while the loop's clock is virtual
    primary = ScriptedFactory(
        Script(chunks=["x"], fail_at=0, error=Held("503")), Script.tokens("main")
    )
    backup = ScriptedFactory(Script.tokens("b"))
    main, spare = with_route(primary, "held"), with_route(backup, "held-spare")
    text, took = await answer(main, spare, route_health=store)
    assert (text, took, primary.calls, backup.calls) == ("main", 1.0, 2, 0)


# -- many runs against a reference model --------------------------------------------------------


def reference_runs(
    outcomes: list[bool], gaps: list[float], threshold: int, cool_down: float
) -> list[str]:
    """Which route answers each run: the primary's calls play `outcomes` in order (True: it
    answers), a failed or skipped primary hands the run to the fallback; the primary's
    breaker opens after `threshold` failures in a row, is skipped for `cool_down`, then
    one run probes it."""
    state, failures, open_until, now, played, served = "closed", 0, 0.0, 0.0, 0, []
    for gap in gaps:
        now += gap
        probe = False
        if state == "open":
            if now < open_until:
                served.append("spare")
                continue
            state, probe = "half_open", True
        ok = outcomes[min(played, len(outcomes) - 1)]
        played += 1
        if ok:
            state, failures = "closed", 0
            served.append("main")
        else:
            failures += 1
            if probe or failures >= threshold:
                state, open_until = "open", now + cool_down
            served.append("spare")
    return served


@settings(max_examples=60)
@given(
    outcomes=st.lists(st.booleans(), min_size=1, max_size=8),
    gaps=st.lists(st.sampled_from([0.0, 1.0, 4.0, 11.0]), min_size=1, max_size=10),
    threshold=st.integers(1, 3),
    backend=st.sampled_from(["asyncio", "trio"]),
)
def test_many_runs_agree_with_the_reference_model(
    outcomes: list[bool], gaps: list[float], threshold: int, backend: str
) -> None:
    """Generated primaries (answer or 503, call by call) over a sequence of runs sharing one
    store: the route each run is served by matches the model; the fallback is never skipped."""
    import looptime
    import trio.testing

    options: dict[str, Any] = (
        {"loop_factory": looptime.new_event_loop}
        if backend == "asyncio"
        else {"clock": trio.testing.MockClock(autojump_threshold=0)}
    )
    clock = Clock()
    store = InMemoryRouteHealth(
        RouteHealthPolicy(failure_threshold=threshold, cool_down=10.0), clock=clock
    )
    primary = ScriptedFactory(*(Script.tokens("main") if ok else down() for ok in outcomes))
    backup = ScriptedFactory(Script.tokens("spare"))
    main, spare = routes(primary, backup)

    async def play() -> list[str]:
        served = []
        for gap in gaps:
            clock.now += gap
            result = await l0.run(
                stream=main, fallbacks=[spare], route_health=store, retry=l0.Retry(max_retries=0)
            )
            served.append(await result.read())
        return served

    served = anyio.run(play, backend=backend, backend_options=options)
    assert served == reference_runs(outcomes, gaps, threshold, 10.0)
    assert backup.calls == served.count("spare") and primary.all_closed
