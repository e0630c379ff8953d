"""Route health: the in-memory store against a small reference model, and its rules by example.

Times are plain numbers (the store reads no clock for admit/report): hypothesis drives the
store and the model with the same generated schedule of admissions and outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.routes import (
    Admission,
    InMemoryRouteHealth,
    RouteHealthPolicy,
    RouteHealthStore,
    default_route_health,
    route_key,
    route_of,
    with_route,
)

R = "gpt-x@http://127.0.0.1:1/v1"


def admit(store: InMemoryRouteHealth, now: float, route: str = R) -> Admission:
    return store.admit_now(route, now)


def test_route_key_is_model_at_endpoint() -> None:
    """Model + base URL, trailing slash ignored; a bare model when the endpoint is unknown."""
    assert route_key("m", "http://h/v1/") == route_key("m", "http://h/v1") == "m@http://h/v1"
    assert route_key("m") == "m"
    assert route_key("m", "http://a") != route_key("m", "http://b")


def test_with_route_declares_the_key() -> None:
    """A plain factory gets a route key; the factory is still called as before."""
    routed = with_route(lambda: "stream", "m", "http://h")
    assert route_of(routed) == "m@http://h" and routed() == "stream"
    assert route_of(lambda: None) is None
    with pytest.raises(l0.Error) as info:
        with_route(lambda: None, "")
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT


def test_store_is_a_route_health_store() -> None:
    """The in-memory store satisfies the interface; the process default is one object."""
    assert isinstance(InMemoryRouteHealth(), RouteHealthStore)
    assert default_route_health() is default_route_health()


@pytest.mark.parametrize(
    "options",
    [
        {"failure_threshold": 0},
        {"failure_threshold": True},
        {"cool_down": -1},
        {"probe_timeout": 0},
        {"max_retry_after": "x"},
    ],
)
def test_policy_rejects_bad_values(options: dict[str, object]) -> None:
    """A bad threshold is an INVALID_ARGUMENT naming the field."""
    with pytest.raises(l0.Error) as info:
        RouteHealthPolicy(**options)  # type: ignore[arg-type]
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert next(iter(options)) in str(info.value)


def test_two_failures_open_the_route_then_one_probe_closes_it() -> None:
    """Closed -> open after the threshold; skipped until the cool-down; one probe; recovered."""
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=2, cool_down=10))
    for now in (0.0, 1.0):
        ticket = admit(store, now)
        assert ticket.allowed and ticket.reason == "closed"
        store.report_now(R, ticket, "failure", now=now)
    skipped = admit(store, 5.0)
    assert (skipped.allowed, skipped.reason, skipped.retry_at) == (False, "open", 11.0)
    probe = admit(store, 11.0)
    assert probe.allowed and probe.probe and probe.reason == "probe"
    busy = admit(store, 11.5)
    assert (busy.allowed, busy.reason) == (False, "half_open_busy")
    store.report_now(R, probe, "success", now=12.0)
    assert store.state(R) == "closed" and admit(store, 12.0).allowed


def test_a_success_between_failures_clears_the_streak() -> None:
    """A one-off blip never opens the route."""
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=2))
    for now in range(6):
        ticket = admit(store, now)
        store.report_now(R, ticket, "failure" if now % 2 == 0 else "success", now=now)
    assert store.state(R) == "closed" and store.failures(R) == 0


def test_a_stale_admission_does_not_count() -> None:
    """A call admitted before the route opened says nothing about it now."""
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1, cool_down=5))
    early = admit(store, 0.0)
    store.report_now(R, admit(store, 0.0), "failure", now=0.0)
    store.report_now(R, early, "success", now=1.0)
    assert store.state(R) == "open"


def test_retry_after_holds_a_closed_route() -> None:
    """A failure with Retry-After keeps calls away until then, capped by max_retry_after."""
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=5, max_retry_after=30))
    store.report_now(R, admit(store, 0.0), "failure", now=0.0, retry_after=100.0)
    held = admit(store, 10.0)
    assert (held.allowed, held.reason, held.retry_at) == (False, "retry_after", 30.0)
    assert admit(store, 30.0).allowed


def test_a_probe_that_never_reports_frees_its_place() -> None:
    """After probe_timeout another call may probe (its worker died)."""
    store = InMemoryRouteHealth(
        RouteHealthPolicy(failure_threshold=1, cool_down=1, probe_timeout=20)
    )
    store.report_now(R, admit(store, 0.0), "failure", now=0.0)
    assert admit(store, 2.0).probe
    assert admit(store, 21.0).reason == "half_open_busy"
    late = admit(store, 22.0)
    assert late.allowed and late.probe


def test_an_abandoned_probe_lets_the_next_call_probe() -> None:
    """A probe with no verdict (aborted, a 400) is not a failure."""
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1, cool_down=1))
    store.report_now(R, admit(store, 0.0), "failure", now=0.0)
    probe = admit(store, 2.0)
    store.report_now(R, probe, "abandoned", now=2.5)
    assert admit(store, 2.6).probe


def test_reset_forgets_the_route() -> None:
    """reset() closes the route at once."""
    import anyio

    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1, cool_down=100))
    store.report_now(R, admit(store, 0.0), "failure", now=0.0)
    anyio.run(store.reset, R)
    assert admit(store, 1.0).allowed


@pytest.mark.anyio
async def test_async_interface_agrees_with_the_sync_one() -> None:
    """admit/report awaited behave as admit_now/report_now."""
    store = InMemoryRouteHealth(RouteHealthPolicy(failure_threshold=1, cool_down=3))
    ticket = await store.admit(R, now=0.0)
    await store.report(R, ticket, "failure", now=0.0, retry_after=None)
    assert (await store.admit(R, now=1.0)).reason == "open"
    await store.aclose()


# -- the reference model ------------------------------------------------------------------


@dataclass
class Model:
    threshold: int
    cool_down: float
    probe_timeout: float
    max_hold: float
    state: str = "closed"
    failures: int = 0
    open_until: float = 0.0
    probe_since: float = 0.0
    hold: float = 0.0
    changes: int = 0

    def admit(self, now: float) -> tuple[bool, bool, str, int]:
        if self.state == "half_open":
            if now - self.probe_since < self.probe_timeout:
                return False, False, "half_open_busy", self.changes
            self.state, self.open_until, self.changes = "open", now, self.changes + 1
        if self.state == "open":
            if now < self.open_until:
                return False, False, "open", self.changes
            self.state, self.probe_since, self.hold = "half_open", now, 0.0
            self.changes += 1
            return True, True, "probe", self.changes
        if now < self.hold:
            return False, False, "retry_after", self.changes
        return True, False, "closed", self.changes

    def report(self, epoch: int, probe: bool, outcome: str, now: float, after: float) -> None:
        if outcome == "failure" and after > 0:
            self.hold = max(self.hold, now + min(after, self.max_hold))
        if epoch != self.changes or self.state != ("half_open" if probe else "closed"):
            return
        if outcome == "success":
            self.hold = 0.0
            if self.state == "half_open":
                self.changes += 1
            self.state, self.failures = "closed", 0
        elif outcome == "failure":
            self.failures += 1
            if probe or self.failures >= self.threshold:
                self.state, self.open_until = "open", now + self.cool_down
                self.changes += 1
        elif probe:
            self.state, self.open_until = "open", now
            self.changes += 1


steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 2.0, 4.0, 12.0, 40.0]),  # time passing before the step
        st.sampled_from(["success", "failure", "abandoned", "admit_only"]),
        st.sampled_from([0.0, 0.0, 3.0, 500.0]),  # Retry-After sent with a failure
        st.integers(0, 3),  # report for one of the last admissions (stale ones included)
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(
    threshold=st.integers(1, 4),
    cool_down=st.sampled_from([0.0, 5.0, 30.0]),
    schedule=steps,
)
def test_store_agrees_with_the_reference_model(
    threshold: int, cool_down: float, schedule: list[tuple[float, str, float, int]]
) -> None:
    """Every admission (allowed, probe, reason) matches the model, stale reports included."""
    policy = RouteHealthPolicy(
        failure_threshold=threshold, cool_down=cool_down, probe_timeout=25, max_retry_after=60
    )
    store = InMemoryRouteHealth(policy)
    model = Model(threshold, cool_down, 25.0, 60.0)
    now = 0.0
    given_out: list[tuple[Admission, int, bool]] = []
    for gap, outcome, after, pick in schedule:
        now += gap
        ticket = store.admit_now(R, now)
        allowed, probe, reason, epoch = model.admit(now)
        assert (ticket.allowed, ticket.probe, ticket.reason) == (allowed, probe, reason)
        if allowed:
            given_out.append((ticket, epoch, probe))
        if outcome == "admit_only" or not given_out:
            continue
        chosen, model_epoch, model_probe = given_out[-1 - min(pick, len(given_out) - 1)]
        store.report_now(R, chosen, outcome, now=now, retry_after=after or None)  # type: ignore[arg-type]
        model.report(model_epoch, model_probe, outcome, now, after)
        assert store.state(R) == model.state
