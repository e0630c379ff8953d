"""Hypothesis: any recorded run replays to exactly the same events, meta, state and content.

Each example runs a generated fault schedule (errors at random chunks, stalls, retries with
jitter, fallbacks, guardrail violations, tool calls, continuation, user callbacks, aborts)
through the real driver on asyncio or trio with a virtual clock, recording it; then replays
the recording with no provider and no event loop and compares everything the consumer and
the handlers saw. The lifecycle invariants are checked on the live and the replayed run alike
(tests/eventsourcing/conftest.py).
"""

from __future__ import annotations

from fault_runs import BACKENDS, Attempt, Scenario, run_scenario, scenarios
from hypothesis import HealthCheck, example, given, settings, strategies as st

import l0
from l0.eventsourcing import EventReplayer, InMemoryEventStore, ReplayedState
from l0.eventsourcing.codec import event_to_dict, lifecycle_to_dict
from l0.eventsourcing.errors import SerializedError


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios, backend=st.sampled_from(sorted(BACKENDS)))
@example(  # a tool call releases text held for overlap matching: that text goes out first
    scenario=Scenario(
        schedule=(
            (Attempt(words=("ga",), fault="reset", at=1),),
            (Attempt(words=("al",), fault="reset", at=1),),
            (Attempt(words=("ga",), fault="tool", at=1),),
        ),
        retry=l0.Retry(attempts=0, max_retries=0, base_delay=0.25),
        continuation=True,
        check_interval=1,
        abort_after=None,
        veto_odd_attempts=False,
        custom_delay=False,
        context={"request_id": "req-1", "api_key": "sk-live-0123456789abcdef0123"},
    ),
    backend="trio",
)
def test_a_recorded_run_replays_to_the_same_events_meta_state_and_content(
    scenario: object, backend: str
) -> None:
    """Replay reproduces the live run exactly, whatever its faults."""
    live = run_scenario(scenario, backend, InMemoryEventStore())  # type: ignore[arg-type]
    replay = EventReplayer.replay_envelopes(live.recorded)
    core = live.stream._core
    assert core is not None

    assert [e.type for e in replay.lifecycle] == [e.type for e in live.lifecycle]
    assert [lifecycle_to_dict(e) for e in replay.lifecycle] == [
        lifecycle_to_dict(e) for e in live.lifecycle
    ]
    assert [event_to_dict(e) for e in replay.events] == [event_to_dict(e) for e in live.events]
    assert replay.replayed_state == ReplayedState.from_state(live.stream.state, phase=core.phase)
    assert replay.state.content == live.stream.state.content
    assert replay.phase == core.phase
    assert replay.visits == dict(core.visits)
    if live.error is None:
        assert replay.error is None
    else:
        assert replay.error is not None
        assert SerializedError.from_exception(replay.error) == SerializedError.from_exception(
            live.error
        )
    assert replay.divergence() is None
    # The recording holds what was live; the context's secret never made it in.
    assert "sk-live" not in repr([envelope.to_dict() for envelope in live.recorded])
    assert replay.lifecycle[0].context == {"request_id": "req-1", "api_key": "[REDACTED]"}
    assert isinstance(replay.state, l0.State)
