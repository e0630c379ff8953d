"""The circuit breaker: its machine driven with plain numbers for `now`, and `run(breaker=)`.

The breaker's logic reads no clock, so these tests pass time in; the runs use scripted
streams and a fake clock injected into the breaker. The real-SDK flapping scenario is in
tests/integration/test_breaker_flapping.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.breaker import CircuitBreaker, CircuitState, Permit
from l0.machine.spec import load_spec
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs
from l0.testing import Script, ScriptedFactory

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


def permit(breaker: CircuitBreaker, now: float) -> Permit:
    given_permit = breaker.acquire(now)
    assert given_permit is not None
    return given_permit


def trip(breaker: CircuitBreaker, now: float) -> None:
    for _ in range(breaker.failure_threshold):
        breaker.record_failure(permit(breaker, now), now)
    assert breaker.state is OPEN


# -- the machine ------------------------------------------------------------------------


def test_the_declaration_names_only_methods_of_the_model() -> None:
    """Every condition and handler of the breaker declaration is a method of the model."""
    from l0.breaker import _Circuit

    spec = load_spec("breaker")
    assert set(spec.states) == {s.value for s in CircuitState}
    for name in (*spec.handlers, *spec.conditions):
        assert callable(getattr(_Circuit, name, None)), name


def test_consecutive_failures_open_it_and_a_success_clears_the_count() -> None:
    """Failures count until the threshold; a success in between starts the count over."""
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0)
    for now in (1.0, 2.0):
        breaker.record_failure(permit(breaker, now), now)
    assert (breaker.state, breaker.failures) == (CLOSED, 2)
    breaker.record_success(permit(breaker, 3.0), 3.0)
    assert breaker.failures == 0
    for now in (4.0, 5.0, 6.0):
        breaker.record_failure(permit(breaker, now), now)
    assert (breaker.state, breaker.failures, breaker.retry_at) == (OPEN, 3, 16.0)


def test_an_open_breaker_refuses_calls_until_the_cool_down_then_lets_one_probe() -> None:
    """Before retry_at: no permit. At retry_at: one probe; no second one while it is out."""
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10.0)
    trip(breaker, 0.0)
    assert breaker.acquire(9.999) is None
    probe = breaker.acquire(10.0)
    assert probe is not None and probe.probe
    assert breaker.state is HALF_OPEN
    assert breaker.acquire(10.0) is None
    assert breaker.acquire(50.0) is None  # still only the one probe


def test_a_successful_probe_closes_it() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down=5.0)
    trip(breaker, 0.0)
    breaker.record_success(permit(breaker, 5.0), 6.0)
    assert (breaker.state, breaker.failures, breaker.retry_at) == (CLOSED, 0, None)
    assert not permit(breaker, 6.0).probe


def test_a_failed_probe_opens_it_for_another_cool_down() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cool_down=5.0)
    trip(breaker, 0.0)
    breaker.record_failure(permit(breaker, 5.0), 7.0)
    assert (breaker.state, breaker.retry_at) == (OPEN, 12.0)
    assert breaker.acquire(11.0) is None
    assert permit(breaker, 12.0).probe


def test_a_probe_without_a_verdict_lets_the_next_call_probe_at_once() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down=5.0)
    trip(breaker, 0.0)
    breaker.release(permit(breaker, 5.0), 6.0)
    assert (breaker.state, breaker.retry_at) == (OPEN, 6.0)
    assert permit(breaker, 6.0).probe


def test_outcomes_of_calls_given_before_a_state_change_do_not_count() -> None:
    """A call that began while closed and ends after the trip says nothing about now."""
    breaker = CircuitBreaker(failure_threshold=1, cool_down=5.0)
    early = permit(breaker, 0.0)
    trip(breaker, 1.0)
    breaker.record_success(early, 2.0)
    assert breaker.state is OPEN
    probe = permit(breaker, 6.0)
    breaker.record_success(early, 6.5)  # not the probe
    assert breaker.state is HALF_OPEN
    breaker.record_success(probe, 7.0)
    breaker.record_failure(early, 8.0)  # a closed-era permit of an earlier period
    assert (breaker.state, breaker.failures) == (CLOSED, 0)


def test_reset_closes_it_by_hand() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down=60.0, clock=lambda: 3.0)
    trip(breaker, 0.0)
    breaker.reset()
    assert (breaker.state, breaker.failures) == (CLOSED, 0)
    assert breaker.history[-1].timestamp == 3.0  # the breaker's clock, read by reset()


def test_state_changes_are_observability_events_and_history() -> None:
    """open -> FALLBACK_START, half_open -> RETRY_ATTEMPT, closed -> FALLBACK_END."""
    seen: list[ObservabilityEvent] = []
    breaker = CircuitBreaker(
        failure_threshold=1, cool_down=5.0, name="gpt-4o", on_event=seen.append,
        context={"service": "chat"},
    )  # fmt: skip
    listened: list[CircuitState] = []
    breaker.subscribe(listened.append)
    trip(breaker, 0.0)
    breaker.record_failure(permit(breaker, 5.0), 5.5)
    breaker.record_success(permit(breaker, 10.5), 11.0)
    assert [(e.type, e.meta["state"], e.meta["previous"], e.meta["reason"]) for e in seen] == [
        (Obs.FALLBACK_START, "open", "closed", "failures"),
        (Obs.RETRY_ATTEMPT, "half_open", "open", "probe"),
        (Obs.FALLBACK_START, "open", "half_open", "probe_failed"),
        (Obs.RETRY_ATTEMPT, "half_open", "open", "probe"),
        (Obs.FALLBACK_END, "closed", "half_open", "recovered"),
    ]
    assert {e.meta["circuit"] for e in seen} == {"gpt-4o"}
    assert seen[0].meta["retry_at"] == 5.0 and seen[2].meta["retry_at"] == 10.5
    assert {e.context["service"] for e in seen} == {"chat"}
    assert len({e.stream_id for e in seen}) == 1
    assert [(t.from_state.value, t.to_state.value, t.timestamp) for t in breaker.history] == [
        ("closed", "open", 0.0),
        ("open", "half_open", 5.0),
        ("half_open", "open", 5.5),
        ("open", "half_open", 10.5),
        ("half_open", "closed", 11.0),
    ]
    assert listened == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]
    assert "half_open --> closed: success / clear_failures (x1)" in breaker.diagram()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": True}, "failure_threshold"),
        ({"cool_down": -1}, "cool_down"),
        ({"name": ""}, "name"),
        ({"clock": 3}, "clock"),
        ({"on_event": "print"}, "on_event"),
        ({"context": ["x"]}, "context"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, object], named: str) -> None:
    with pytest.raises(l0.Error, match=named) as caught:
        CircuitBreaker(**options)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


@pytest.mark.anyio
async def test_a_breaker_that_is_not_one_is_refused_by_run() -> None:
    """run(breaker=...) with something that cannot protect a stream is INVALID_ARGUMENT."""
    with pytest.raises(l0.Error, match=r"breaker must be an l0\.CircuitBreaker") as caught:
        await l0.run(stream=ScriptedFactory(Script.tokens("a")), breaker="open")  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


# -- a reference model, for any sequence of facts ----------------------------------------

_facts = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "success", "failure", "release"]),
        st.floats(min_value=0.0, max_value=4.0),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(facts=_facts, threshold=st.integers(1, 4), cool_down=st.sampled_from([0.0, 1.0, 3.0]))
def test_any_sequence_of_facts_follows_the_textbook_breaker(
    facts: list[tuple[str, float]], threshold: int, cool_down: float
) -> None:
    """Against a direct model: at most one probe, refusals only while open or probing,
    opening exactly at the threshold, closing only on the probe's success, and outcomes of
    calls given before the last state change ignored."""
    breaker = CircuitBreaker(failure_threshold=threshold, cool_down=cool_down)
    state, failures, retry_at, now, changes = "closed", 0, 0.0, 0.0, 0
    outstanding: list[tuple[Permit, int]] = []  # with the number of changes when given

    def move(to: str) -> None:
        nonlocal state, changes
        if to != state:
            state, changes = to, changes + 1

    for fact, step in facts:
        now += step
        if fact == "acquire":
            got = breaker.acquire(now)
            if state == "closed":
                assert got is not None and not got.probe
            elif state == "open" and now >= retry_at:
                assert got is not None and got.probe
                move("half_open")
            else:
                assert got is None
            if got is not None:
                outstanding.append((got, changes))
        elif outstanding:
            chosen, given_at = outstanding.pop()
            counts = given_at == changes and state == ("half_open" if chosen.probe else "closed")
            if fact == "success":
                breaker.record_success(chosen, now)
                if counts:
                    failures = 0
                    move("closed")
            elif fact == "failure":
                breaker.record_failure(chosen, now)
                if counts:
                    failures += 1
                    if state == "half_open" or failures >= threshold:
                        retry_at = now + cool_down
                        move("open")
            else:
                breaker.release(chosen, now)
                if counts and chosen.probe:
                    retry_at = now
                    move("open")
        assert breaker.state.value == state
        assert breaker.failures == failures
        probes = [p for p, given_at in outstanding if p.probe and given_at == changes]
        assert len(probes) <= 1


# -- run(breaker=...) ---------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_an_open_breaker_sends_runs_straight_to_the_fallback() -> None:
    """The primary is not called while open; its own failures are what opened it."""
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, cool_down=10.0, clock=clock)
    primary = ScriptedFactory(Script(fail_at=0, error=ConnectionResetError("reset")))
    backup = ScriptedFactory(Script.tokens("backup"))
    no_retry = l0.Retry(attempts=0, max_retries=0)
    for _ in range(3):
        stream = await l0.run(primary, fallbacks=[backup], retry=no_retry, breaker=breaker)
        assert await stream.read() == "backup"
    assert (primary.calls, backup.calls, breaker.state) == (2, 3, OPEN)
    [skipped] = stream.errors
    assert isinstance(skipped, l0.Error) and skipped.code is l0.ErrorCode.CIRCUIT_OPEN
    assert stream.state.fallback_index == 1


@pytest.mark.anyio
async def test_a_probe_the_primary_completes_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10.0, clock=clock)
    primary = ScriptedFactory(
        Script(fail_at=0, error=ConnectionResetError("reset")), Script.tokens("primary")
    )
    backup = ScriptedFactory(Script.tokens("backup"))
    no_retry = l0.Retry(attempts=0, max_retries=0)
    assert await (await l0.run(primary, fallbacks=[backup], retry=no_retry, breaker=breaker)).read()
    assert breaker.state is OPEN
    clock.now = 10.0
    stream = await l0.run(primary, fallbacks=[backup], retry=no_retry, breaker=breaker)
    assert await stream.read() == "primary"
    assert breaker.state is CLOSED and stream.state.fallback_index == 0


@pytest.mark.anyio
async def test_an_aborted_probe_lets_the_next_call_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10.0, clock=clock)
    primary = ScriptedFactory(
        Script(fail_at=0, error=ConnectionResetError("reset")), Script.tokens("primary")
    )
    no_retry = l0.Retry(attempts=0, max_retries=0)
    with pytest.raises(l0.Error):
        await (await l0.run(primary, retry=no_retry, breaker=breaker)).read()
    clock.now = 10.0
    stream = await l0.run(primary, retry=no_retry, breaker=breaker)
    with pytest.raises(l0.Error) as caught:
        async for _event in stream:
            assert breaker.state is HALF_OPEN
            stream.abort()
    assert caught.value.code is l0.ErrorCode.STREAM_ABORTED
    assert (breaker.state, breaker.retry_at) == (OPEN, 10.0)
    assert await (await l0.run(primary, retry=no_retry, breaker=breaker)).read() == "primary"
    assert breaker.state is CLOSED


@pytest.mark.anyio
async def test_an_open_breaker_without_a_fallback_fails_fast_with_circuit_open() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down=30.0, clock=FakeClock())
    primary = ScriptedFactory(Script(fail_at=0, error=ConnectionResetError("reset")))
    no_retry = l0.Retry(attempts=0, max_retries=0)
    with pytest.raises(l0.Error):
        await (await l0.run(primary, retry=no_retry, breaker=breaker)).read()
    with pytest.raises(l0.Error, match="probe it in 30s") as caught:
        await (await l0.run(primary, retry=no_retry, breaker=breaker)).read()
    assert caught.value.code is l0.ErrorCode.CIRCUIT_OPEN
    assert primary.calls == 1


@pytest.mark.anyio
async def test_errors_that_say_nothing_about_the_route_do_not_count() -> None:
    """A provider's 400 is no transient failure: the breaker neither counts nor clears."""

    class BadRequest(Exception):
        status_code = 400

    breaker = CircuitBreaker(failure_threshold=1, cool_down=5.0, clock=FakeClock())
    primary = ScriptedFactory(Script(fail_at=0, error=BadRequest("no")))
    backup = ScriptedFactory(Script.tokens("ok"))
    stream = await l0.run(primary, fallbacks=[backup], breaker=breaker)
    assert await stream.read() == "ok"
    assert (breaker.state, breaker.failures) == (CLOSED, 0)


def test_run_refuses_something_that_is_not_a_breaker() -> None:
    with pytest.raises(l0.Error, match="CircuitBreaker") as caught:
        l0.RunOptions(breaker=object())
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
