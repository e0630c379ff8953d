"""The recorder is a pass-through: what it forwards, the core answers exactly as it would alone.

A small sans-I/O driver (the choices of l0/runtime/driver.py, made by hypothesis: tokens,
large tokens that push guardrail checks off the loop, tool calls and messages, failures,
timeouts, aborts, `read()`'s quiet switch, `should_retry` answers) runs a plan through a
`FactRecorder`; the same calls then go to a plain `RunCore` built alike. Every answer (a
decision, an event, the events taken), the lifecycle events and the final state must be the
same, and the recorder's log must replay to them (through the same port on a fresh core).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.event_bus import EventBus
from l0.eventsourcing import InMemoryEventStore, ReplayedState
from l0.eventsourcing.codec import event_to_dict, lifecycle_to_dict
from l0.eventsourcing.errors import SerializedError
from l0.eventsourcing.recorder import FactRecorder
from l0.eventsourcing.replayer import replay_envelopes
from l0.runtime.core import RunCore
from l0.runtime.facts import (
    ABORTED,
    OPENED,
    READING_STOPPED,
    START,
    STREAM_ENDED,
    WOKE,
    CallbackAnswered,
    CheckFinished,
    Consult,
    DeadlinePassed,
    Decision,
    Fail,
    Failed,
    Finish,
    Open,
    RunCheck,
    RunInput,
    Sleep,
)
from l0.runtime.plan import RunPlan, make_plan
from l0.types import Event, EventType

STREAM_ID = "0190a000-0000-7000-8000-000000000000"
BIG = "x" * 4000  # a few of these and the guardrail check runs off the event loop


def _reject_bad(state: l0.State) -> list[l0.GuardrailViolation]:
    if "BAD" in state.content:
        return [l0.GuardrailViolation(rule="no_bad", message="BAD found", severity="error")]
    return []


def _factory() -> Any:
    raise AssertionError("the core never calls factories")


def _plan(options: dict[str, Any], on_event: Callable[[l0.ObservabilityEvent], None]) -> RunPlan:
    def should_retry(error: BaseException, state: l0.State, attempt: int, category: Any) -> bool:
        return True  # never called here: the driver below answers Consult itself

    retry = l0.Retry(
        attempts=3,
        max_retries=5,
        base_delay=0.5,
        should_retry=should_retry if options["consult"] else None,
        calculate_delay=(lambda context: context["default_delay"] / 2)
        if options["custom_delay"]
        else None,
    )
    return make_plan(
        _factory,
        l0.RunOptions(
            retry=retry,
            fallbacks=[_factory],
            guardrails=[l0.GuardrailRule(name="no_bad", check=_reject_bad)],
            check_interval=options["check_interval"],
            continue_from_last_good_token=options["continuation"],
            on_event=on_event,
        ),
    )


Step = Callable[[str, list[Any]], Any]  # (what is chosen, among what) -> the choice


def _summary(value: Any) -> Any:
    """An answer of the core as plain, comparable data (errors by their serialized form)."""
    if isinstance(value, Event):
        return event_to_dict(value)
    if isinstance(value, list):
        return [_summary(item) for item in value]
    if isinstance(value, (Fail, Consult)):
        return (type(value).__name__, SerializedError.from_exception(value.error).to_dict())
    return value


def _drive(port: RunInput, core: RunCore, choose: Step) -> tuple[list[Any], list[Event]]:
    """Run the core to its end as the driver would, handing everything to `port`; returns
    every answer, and the events a consumer would have received."""
    answers: list[Any] = []
    delivered: list[Event] = []
    now = [100.0]

    def at() -> float:
        now[0] += choose("pause", [0.0, 0.25, 1.5])
        return now[0]

    def handle(fact: Any) -> Any:
        answer = port.handle(fact, at())
        answers.append(_summary(answer))
        return answer

    def drain() -> None:
        events = port.take_events()
        answers.append(_summary(events))
        delivered.extend(events)

    def off_loop_check(decision: RunCheck) -> Decision | None:
        engine = core.engine
        assert engine is not None
        evaluate = engine.evaluate_final if decision.phase == "final" else engine.evaluate_streaming
        return handle(CheckFinished(evaluate(core.state)))  # type: ignore[no-any-return]

    decision: Decision = handle(START)
    while True:
        if core.events_waiting:
            drain()
        if isinstance(decision, Open):
            handle(OPENED)
            outcome: Decision | None = None
            for _ in range(choose("chunks", [0, 1, 3, 6])):
                kind = choose("chunk", ["token", "token", "big", "bad", "tool", "message"])
                if kind == "quiet":
                    port.quiet = True
                    continue
                event: Event | None = None
                if kind == "abort":
                    port.request_abort()
                elif kind in ("token", "big", "bad"):
                    text = {"token": "ok ", "big": BIG, "bad": "BAD "}[kind]
                    event = port.token(text, at())
                    answers.append(_summary(event))
                else:
                    chunk = (
                        Event(EventType.TOOL_CALL, data={"id": "t", "name": "f", "arguments": "{}"})
                        if kind == "tool"
                        else Event(EventType.MESSAGE, text="said ")
                    )
                    event = port.event(chunk, at())
                    answers.append(_summary(event))
                # As the driver: what a chunk released goes out ahead of its own event.
                if core.events_waiting and not core.stop_reading:
                    drain()
                if event is not None:
                    delivered.append(event)
                if core.stop_reading:
                    stopped = handle(READING_STOPPED)
                    if not isinstance(stopped, RunCheck):
                        outcome = stopped
                        break
                    outcome = off_loop_check(stopped)
                    if outcome is not None:
                        break
            if outcome is None:
                ending = choose("ending", ["end", "end", "reset", "model", "silent"])
                outcome = handle(
                    {
                        "end": STREAM_ENDED,
                        "reset": Failed(ConnectionResetError("connection reset by peer")),
                        "model": Failed(ValueError("the model refused")),
                        "silent": DeadlinePassed("inter_token", 5.0),
                    }[ending]
                )
            decision = outcome
            if isinstance(decision, RunCheck):
                decision = _after_final_check(off_loop_check(decision), core)
        elif isinstance(decision, Sleep):
            decision = handle(ABORTED if core.abort_requested else WOKE)
        elif isinstance(decision, Consult):
            decision = handle(CallbackAnswered(choose("answer", [True, False])))
        elif isinstance(decision, RunCheck):
            decision = _after_final_check(off_loop_check(decision), core)
        else:
            assert isinstance(decision, (Finish, Fail))
            if core.events_waiting:
                continue
            return answers, delivered


def _after_final_check(outcome: Decision | None, core: RunCore) -> Decision:
    """What the run does after a check it waited on (as the driver's `_final_check`)."""
    decision = outcome if outcome is not None else core.decision
    assert decision is not None
    return decision


def _choices(data: st.DataObject, made: list[Any]) -> Step:
    def choose(what: str, among: list[Any]) -> Any:
        made.append(data.draw(st.sampled_from(among), label=what))
        return made[-1]

    return choose


def _again(made: list[Any]) -> Step:
    remaining = iter(made)
    return lambda what, among: next(remaining)


OPTIONS = st.fixed_dictionaries(
    {
        "check_interval": st.sampled_from([1, 2, 5]),
        "continuation": st.booleans(),
        "custom_delay": st.booleans(),
        "consult": st.booleans(),
        "quiet": st.booleans(),
        "abort": st.booleans(),
    }
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(options=OPTIONS, data=st.data())
def test_the_recorder_forwards_what_the_core_would_answer_alone(
    options: dict[str, Any], data: st.DataObject
) -> None:
    """Driven through a FactRecorder or handed everything directly, the core answers the
    same; the recorder's log replays to the same events, lifecycle and state."""
    recorded_lifecycle: list[l0.ObservabilityEvent] = []
    plain_lifecycle: list[l0.ObservabilityEvent] = []
    store = InMemoryEventStore()
    recorder = FactRecorder(
        _plan(options, recorded_lifecycle.append),
        store=store,
        now=100.0,
        epoch=1_700_000_000.0,
        rng=random.Random(7),
        bus=EventBus(recorded_lifecycle.append, {}, stream_id=STREAM_ID),
    )
    plain_plan = _plan(options, plain_lifecycle.append)
    plain = RunCore(
        plain_plan,
        now=100.0,
        epoch=1_700_000_000.0,
        rng=random.Random(7),
        bus=EventBus(plain_lifecycle.append, {}, stream_id=STREAM_ID),
    )
    # The consumer's own calls, when drawn: `read()` before the run; an abort or `read()`
    # between chunks.
    made: list[Any] = []
    choose = _choices(data, made)
    if options["quiet"]:
        recorder.quiet = True
        plain.quiet = True
    if options["abort"]:
        choose = _with_consumer_calls(choose)
    recorded_answers, recorded_events = _drive(recorder, recorder.core, choose)
    plain_answers, plain_events = _drive(plain, plain, _again(made))

    assert recorded_answers == plain_answers
    assert [event_to_dict(e) for e in recorded_events] == [event_to_dict(e) for e in plain_events]
    assert [lifecycle_to_dict(e) for e in recorded_lifecycle] == [
        lifecycle_to_dict(e) for e in plain_lifecycle
    ]
    assert ReplayedState.from_state(recorder.core.state, phase=recorder.core.phase) == (
        ReplayedState.from_state(plain.state, phase=plain.phase)
    )

    replay = replay_envelopes(recorder.recording.recorder.envelopes())
    assert [event_to_dict(e) for e in replay.events] == [event_to_dict(e) for e in plain_events]
    assert [lifecycle_to_dict(e) for e in replay.lifecycle] == [
        lifecycle_to_dict(e) for e in plain_lifecycle
    ]
    assert replay.replayed_state == ReplayedState.from_state(plain.state, phase=plain.phase)


def _with_consumer_calls(choose: Step) -> Step:
    """The chunk choices, with the consumer's abort and `read()` among them."""

    def choosing(what: str, among: list[Any]) -> Any:
        if what == "chunk":
            among = [*among, "abort", "quiet"]
        return choose(what, among)

    return choosing
