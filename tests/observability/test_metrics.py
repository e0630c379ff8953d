"""Metrics: the reference's examples, and what runs add to the global counters."""

from __future__ import annotations

import dataclasses

import pytest

import l0
from l0 import Metrics, MetricsSnapshot, create_metrics, get_global_metrics, reset_global_metrics
from l0.testing.scripted import Script, ScriptedFactory

COUNTERS = (
    "requests",
    "tokens",
    "retries",
    "network_retry_count",
    "errors",
    "violations",
    "drift_detections",
    "fallbacks",
    "completions",
    "timeouts",
)


class Unauthorized(Exception):
    status_code = 401


@pytest.fixture(autouse=True)
def _fresh_global_metrics() -> None:
    Metrics.reset_global()


def test_metrics_class_example() -> None:
    """Create, increment, snapshot, reset and serialize, as the reference shows."""
    metrics = Metrics()
    assert isinstance(create_metrics(), Metrics) and create_metrics() is not metrics
    assert all(getattr(metrics, name) == 0 for name in COUNTERS)
    metrics.requests += 1
    metrics.tokens += 150
    metrics.completions += 1
    snapshot: MetricsSnapshot = metrics.snapshot()
    assert snapshot.tokens == 150
    assert snapshot.completions / snapshot.requests * 100 == 100.0
    metrics.tokens += 1
    assert snapshot.tokens == 150  # an immutable copy
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.tokens = 3  # type: ignore[misc]
    data = metrics.to_dict()
    assert data == {**dict.fromkeys(COUNTERS, 0), "requests": 1, "tokens": 151, "completions": 1}
    assert all(isinstance(v, int) for v in data.values())
    metrics.reset()
    assert metrics.to_dict() == dict.fromkeys(COUNTERS, 0)


def test_metrics_snapshot_has_the_documented_fields() -> None:
    """MetricsSnapshot is a dataclass of the ten integer counters of the reference, then
    l0's hedging counters (run(hedge_after=...)), which to_dict() leaves out."""
    names = [f.name for f in dataclasses.fields(MetricsSnapshot)]
    assert names == [*COUNTERS, "hedges", "hedge_wins"]
    assert list(Metrics().to_dict()) == list(COUNTERS)


def test_global_metrics_example() -> None:
    """get_global/get_global_metrics are one singleton; both resets zero it."""
    global_metrics = Metrics.get_global()
    assert get_global_metrics() is global_metrics
    global_metrics.requests += 1
    assert get_global_metrics().requests == 1
    Metrics.reset_global()
    assert global_metrics.requests == 0
    global_metrics.requests += 1
    reset_global_metrics()
    assert global_metrics.requests == 0


def test_scoped_api_example() -> None:
    """Metrics.create() makes a new instance; the class methods reach the global one."""
    metrics = Metrics.create()
    assert isinstance(metrics, Metrics) and metrics is not Metrics.get_global()
    Metrics.get_global().tokens += 5
    Metrics.reset_global()
    assert Metrics.get_global().tokens == 0


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_every_run_adds_its_totals_to_the_global_metrics() -> None:
    """A completed run, a run with retries and a fallback, a failed run and a timed-out run
    each add exactly what happened, once, when they end."""
    fixed = l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.1)

    def no_bad(state: l0.State) -> list[l0.GuardrailViolation]:
        return [l0.GuardrailViolation("no_bad", "BAD", "error")] if "BAD" in state.content else []

    ok = await l0.run(stream=ScriptedFactory(Script.tokens("abc")))
    assert await ok.read() == "abc"
    assert Metrics.get_global().to_dict() == {
        **dict.fromkeys(COUNTERS, 0),
        "requests": 1,
        "tokens": 3,
        "completions": 1,
    }

    Metrics.reset_global()
    primary = ScriptedFactory(
        Script.tokens("ab", fail_at=1),  # a network retry
        Script(chunks=["BAD"]),  # a guardrail violation: a model retry
        Script(chunks=["x"], fail_at=0, error=Unauthorized("bad key")),  # fatal: fall back
    )
    recovered = await l0.run(
        stream=primary,
        fallbacks=[ScriptedFactory(Script.tokens("ok"))],
        retry=fixed,
        guardrails=[l0.GuardrailRule(name="no_bad", check=no_bad)],
        check_interval=1,
    )
    assert await recovered.read() == "ok"
    state = recovered.state
    assert Metrics.get_global().snapshot() == MetricsSnapshot(
        requests=1,
        tokens=state.token_count,
        retries=2,
        network_retry_count=1,
        errors=3,
        violations=1,
        drift_detections=0,
        fallbacks=1,
        completions=1,
        timeouts=0,
    )

    Metrics.reset_global()
    silent = await l0.run(
        stream=ScriptedFactory(Script.tokens("zz", stall_at=0, stall_for=60.0)),
        timeout=l0.Timeout(initial_token=1000),
        retry=l0.Retry(max_retries=1, strategy=l0.BackoffStrategy.FIXED, base_delay=0.1),
    )
    with pytest.raises(l0.TimeoutError):
        await silent.read()
    assert Metrics.get_global().snapshot() == MetricsSnapshot(
        requests=1, retries=1, network_retry_count=1, errors=2, timeouts=2
    )


def test_add_counts_takes_the_snapshot_fields_in_order() -> None:
    """`Metrics.add_counts` (what a run calls when it ends) is `add` with the counts given in
    `MetricsSnapshot`'s field order: every counter lands where its name says."""
    names = [field.name for field in dataclasses.fields(MetricsSnapshot)]
    counts = [index * 10 + 1 for index in range(len(names))]
    by_counts, by_snapshot = Metrics(), Metrics()
    by_counts.add_counts(*counts)
    by_snapshot.add(MetricsSnapshot(**dict(zip(names, counts, strict=True))))
    assert by_counts.snapshot() == by_snapshot.snapshot()
    assert [getattr(by_counts, name) for name in names] == counts


def test_a_run_core_counts_into_the_sink_it_is_given() -> None:
    """The core touches no process-wide counters: a run adds its totals to the sink it was
    handed, and a core given none counts nowhere."""
    import random

    from l0.event_bus import EventBus
    from l0.runtime.core import RunCore
    from l0.runtime.facts import START, STREAM_ENDED
    from l0.runtime.plan import make_plan

    def factory() -> None:
        raise AssertionError("the core never calls factories")

    reset_global_metrics()
    plan = make_plan(stream=factory)
    sink = Metrics()
    for metrics in (sink, None):
        core = RunCore(
            plan, now=0.0, epoch=0.0, rng=random.Random(1), bus=EventBus(None), metrics=metrics
        )
        core.handle(START, 0.0)
        core.token("a", 0.1)
        core.token("b", 0.2)
        core.handle(STREAM_ENDED, 0.3)
    assert (sink.requests, sink.tokens, sink.completions) == (1, 2, 1)
    assert get_global_metrics().requests == 0
