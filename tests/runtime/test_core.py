"""The runtime core without an event loop: facts in, decisions out."""

from __future__ import annotations

import dataclasses
import random
from typing import Any, ClassVar

import pytest

import l0
from l0.errors import ErrorCode
from l0.event_bus import EventBus
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.runtime.core import Consult, Fail, Finish, Open, RunCore, Sleep
from l0.runtime.facts import (
    ABORTED,
    READING_STOPPED,
    START,
    STREAM_ENDED,
    WOKE,
    CallbackAnswered,
    CheckFinished,
    DeadlinePassed,
    Failed,
    RunCheck,
)
from l0.runtime.plan import make_plan
from l0.types import EventType


def factory() -> Any:
    raise AssertionError("the core never calls factories")


def make_core(**options: Any) -> RunCore:
    options.setdefault("retry", l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=1.0))
    plan = make_plan(factory, l0.RunOptions(**options))
    bus = EventBus(plan.on_event, plan.context)
    return RunCore(plan, now=100.0, epoch=1_700_000_000.0, rng=random.Random(7), bus=bus)


class RateLimited(Exception):
    status_code = 429


class Unauthorized(Exception):
    status_code = 401


def feed(core: RunCore, *tokens: str, now: float = 101.0) -> list[Any]:
    return [core.token(t, now) for t in tokens]


def test_a_token_event_is_the_event_its_constructor_makes() -> None:
    """The hot path stores a token event's fields itself (no __init__ call): the event must
    equal the one `Event(...)` builds, every field set, for a first token and a later one."""
    core = make_core()
    core.handle(START, 100.0)
    for event, text in zip(feed(core, "Hel", "lo", now=101.5), ("Hel", "lo"), strict=True):
        assert event is not None
        values = {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}
        expected = l0.Event(EventType.TOKEN, text, timestamp=1_700_000_001.5)
        assert values == dataclasses.asdict(expected)
        assert event == expected
        assert dataclasses.replace(event, text="x").text == "x"


def test_start_opens_the_primary_stream() -> None:
    """The run starts by asking for attempt 0 of factory 0."""
    core = make_core()
    assert core.handle(START, 100.0) == Open(0, 0, None)
    assert core.phase == "waiting_for_token"


def test_tokens_stream_and_end_completes() -> None:
    """Tokens become events and fill the state; the end completes the run."""
    core = make_core()
    core.handle(START, 100.0)
    events = feed(core, "Hel", "lo")
    assert [e.text for e in events] == ["Hel", "lo"]
    assert all(e.type is EventType.TOKEN for e in events)
    assert core.phase == "streaming"
    assert core.state.content == "Hello"
    assert core.state.token_count == 2
    assert core.state.first_token_at == pytest.approx(1_700_000_001.0)
    decision = core.handle(STREAM_ENDED, 103.0)
    assert decision == Finish()
    assert core.phase == "complete"
    assert core.state.completed
    assert core.state.duration == pytest.approx(3.0)
    assert [e.type for e in core.take_events()] == [EventType.COMPLETE]


def test_network_failure_retries_without_counting_attempts() -> None:
    """A dropped connection is retried after the backoff and counts only toward max_retries."""
    core = make_core()
    core.handle(START, 100.0)
    feed(core, "a")
    decision = core.handle(Failed(ConnectionResetError("connection reset by peer")), 101.0)
    assert decision == Sleep(1.0)
    assert core.phase == "retrying"
    assert core.state.network_retry_count == 1
    assert core.state.model_retry_count == 0


def test_guardrail_failure_counts_toward_attempts() -> None:
    """A guardrail violation is retried and counts toward `attempts`."""
    core = make_core()
    core.handle(START, 100.0)
    error = l0.Error("bad", code=ErrorCode.GUARDRAIL_VIOLATION)
    assert isinstance(core.handle(Failed(error), 101.0), Sleep)
    assert core.state.model_retry_count == 1
    assert core.state.network_retry_count == 0


def test_attempts_budget_stops_model_retries() -> None:
    """With attempts=1, the second model failure is final and raised."""
    core = make_core(retry=l0.Retry(attempts=1, base_delay=0.0, strategy=l0.BackoffStrategy.FIXED))
    core.handle(START, 100.0)
    assert isinstance(core.handle(Failed(ValueError("model refused")), 101.0), Sleep)
    core.handle(WOKE, 101.0)
    decision = core.handle(Failed(ValueError("model refused again")), 102.0)
    assert isinstance(decision, Fail)
    assert core.phase == "error"
    assert isinstance(decision.error, l0.Error)
    assert isinstance(decision.error.__cause__, ValueError)
    assert core.take_events()[-1].type is EventType.ERROR


def test_max_retries_caps_network_retries() -> None:
    """Network failures retry until max_retries, then the run fails."""
    core = make_core(
        retry=l0.Retry(max_retries=2, base_delay=0.0, strategy=l0.BackoffStrategy.FIXED)
    )
    core.handle(START, 100.0)
    for _ in range(2):
        assert isinstance(core.handle(Failed(ConnectionResetError("reset")), 101.0), Sleep)
        core.handle(WOKE, 101.0)
    assert isinstance(core.handle(Failed(ConnectionResetError("reset")), 101.0), Fail)
    assert core.state.network_retry_count == 2


def test_fatal_error_goes_to_fallback_with_a_fresh_budget() -> None:
    """A 401 is not retried; the fallback is opened with its own retry budget."""
    core = make_core(fallbacks=[factory])
    core.handle(START, 100.0)
    assert isinstance(core.handle(Failed(Unauthorized("no key")), 101.0), Sleep)
    assert core.phase == "fallback"
    assert core.handle(WOKE, 101.0) == Open(1, 1, None)
    assert core.state.fallback_index == 1
    assert isinstance(core.handle(Failed(ConnectionResetError("reset")), 102.0), Sleep)
    assert core.phase == "retrying"


def test_last_error_is_raised_when_every_stream_fails() -> None:
    """When the primary and the fallback both fail for good, the last error ends the run."""
    core = make_core(fallbacks=[factory])
    core.handle(START, 100.0)
    core.handle(Failed(Unauthorized("primary")), 101.0)
    core.handle(WOKE, 101.0)
    decision = core.handle(Failed(Unauthorized("fallback")), 102.0)
    assert isinstance(decision, Fail)
    assert "fallback" in str(decision.error)
    assert decision.error.__cause__ is core.errors[-1]


def test_retry_on_filters_error_types() -> None:
    """Only the listed error types are retried."""
    core = make_core(retry=l0.Retry(retry_on=[l0.RetryableErrorType.RATE_LIMIT]))
    core.handle(START, 100.0)
    assert isinstance(core.handle(Failed(ConnectionResetError("reset")), 101.0), Fail)
    core = make_core(retry=l0.Retry(retry_on=[l0.RetryableErrorType.RATE_LIMIT]))
    core.handle(START, 100.0)
    assert isinstance(core.handle(Failed(RateLimited("slow down")), 101.0), Sleep)


def test_retry_after_is_honoured_and_capped() -> None:
    """A server's Retry-After sets the delay, capped by max_delay."""

    class Response:
        headers: ClassVar[dict[str, str]] = {"retry-after": "3"}

    error = RateLimited("slow down")
    error.response = Response()  # type: ignore[attr-defined]
    core = make_core()
    core.handle(START, 100.0)
    assert core.handle(Failed(error), 101.0) == Sleep(3.0)
    capped = make_core(retry=l0.Retry(max_delay=2.0))
    capped.handle(START, 100.0)
    assert capped.handle(Failed(error), 101.0) == Sleep(2.0)


def test_calculate_delay_gets_the_documented_context() -> None:
    """calculate_delay replaces the delay and sees attempt, category, reason, error, default."""
    seen: list[dict[str, Any]] = []

    def calculate(context: dict[str, Any]) -> float:
        seen.append(context)
        return 0.25

    core = make_core(retry=l0.Retry(calculate_delay=calculate, strategy=l0.BackoffStrategy.FIXED))
    core.handle(START, 100.0)
    assert core.handle(Failed(ConnectionResetError("reset")), 101.0) == Sleep(0.25)
    (context,) = seen
    assert set(context) == {
        "attempt",
        "total_attempts",
        "category",
        "reason",
        "error",
        "default_delay",
    }
    assert context["category"] == "network"
    assert context["default_delay"] == 1.0


def test_should_retry_is_consulted_and_can_only_veto() -> None:
    """A retry the runtime would make is put to should_retry; a veto falls through."""
    core = make_core(retry=l0.Retry(should_retry=lambda *args: False), fallbacks=[factory])
    core.handle(START, 100.0)
    decision = core.handle(Failed(ConnectionResetError("reset")), 101.0)
    assert isinstance(decision, Consult)
    assert decision.category is l0.ErrorCategory.NETWORK
    assert isinstance(core.handle(CallbackAnswered(False), 101.0), Sleep)
    assert core.phase == "fallback"
    # A failure the runtime would not retry is not put to should_retry at all.
    core = make_core(retry=l0.Retry(should_retry=lambda *args: True))
    core.handle(START, 100.0)
    assert isinstance(core.handle(Failed(Unauthorized("no")), 101.0), Fail)


def test_reset_announces_discarded_text_before_a_fresh_attempt() -> None:
    """Text from a failed attempt is dropped and the consumer is told how much."""
    core = make_core()
    core.handle(START, 100.0)
    feed(core, "Hello", " wor")
    core.handle(Failed(ConnectionResetError("reset")), 101.0)
    assert core.handle(WOKE, 102.0) == Open(0, 1, None)
    (reset,) = core.take_events()
    assert reset.type is EventType.RESET and reset.is_reset
    assert reset.data == {
        "reason": "econnreset",
        "attempt": 1,
        "fallback_index": 0,
        "discarded": 9,
        "kept": 0,
    }
    assert core.state.content == ""


def test_continuation_resumes_after_delivered_text_and_removes_overlap() -> None:
    """A resumed attempt is matched against the checkpoint; only new text is delivered."""
    core = make_core(continue_from_last_good_token=True)
    core.handle(START, 100.0)
    feed(core, "The quick", " brown fox")
    core.handle(Failed(ConnectionResetError("reset")), 101.0)
    assert core.handle(WOKE, 102.0) == Open(0, 1, "The quick brown fox")
    assert core.take_events() == []  # nothing delivered is taken back
    events = feed(core, "brown", " fox", " jumps", " over", now=103.0)
    assert core.phase == "streaming"
    delivered = "".join(e.text for e in events if e is not None)
    assert delivered == " jumps over"
    assert core.state.content == "The quick brown fox jumps over"
    assert core.state.resumed and core.state.continuation_used
    assert core.state.deduplication_applied
    assert core.state.overlap_removed == "brown fox"
    assert core.state.resume_point == "The quick brown fox"
    assert core.state.resume_from == len("The quick brown fox")


def test_checkpoints_are_saved_every_interval() -> None:
    """With continuation on, the checkpoint advances every checkpoint_interval tokens."""
    config = l0.ContinuationConfig(checkpoint_interval=2)
    core = make_core(continue_from_last_good_token=config)
    core.handle(START, 100.0)
    feed(core, "a", "b", "c")
    assert core.state.checkpoint == "ab"
    feed(core, "d")
    assert core.state.checkpoint == "abcd"


def _rule_rejecting(
    word: str, *, severity: str = "error", recoverable: bool = True
) -> GuardrailRule:
    def check(state: l0.State) -> list[GuardrailViolation]:
        if word in state.content:
            return [
                GuardrailViolation(
                    rule="no_" + word,
                    message=f"{word!r} found",
                    severity=severity,
                    recoverable=recoverable,  # type: ignore[arg-type]
                )
            ]
        return []

    return GuardrailRule(name="no_" + word, check=check)


def test_streaming_violation_stops_the_attempt_before_the_token_is_delivered() -> None:
    """An error violation mid-stream withholds the offending token and retries."""
    core = make_core(guardrails=[_rule_rejecting("bad")], check_interval=1)
    core.handle(START, 100.0)
    assert feed(core, "good ")[0] is not None
    assert feed(core, "bad")[0] is None
    assert core.stop_reading
    assert core.phase == "retrying"
    assert core.state.content == "good "
    assert core.state.model_retry_count == 1
    assert core.state.violations[0].rule == "no_bad"


def test_fatal_violation_ends_the_run_with_its_violations() -> None:
    """A non-recoverable violation is not retried; the error carries the violations."""
    core = make_core(guardrails=[_rule_rejecting("bad", recoverable=False)], check_interval=1)
    core.handle(START, 100.0)
    feed(core, "bad")
    decision = core.decision
    assert isinstance(decision, Fail)
    assert decision.error.code is ErrorCode.FATAL_GUARDRAIL_VIOLATION  # type: ignore[attr-defined]
    assert [v.rule for v in decision.error.violations] == ["no_bad"]  # type: ignore[attr-defined]


def test_warnings_are_recorded_and_nothing_more() -> None:
    """A warning violation is kept in state.violations and the stream goes on."""
    core = make_core(guardrails=[_rule_rejecting("meh", severity="warning")], check_interval=1)
    core.handle(START, 100.0)
    events = feed(core, "meh", " fine")
    assert all(e is not None for e in events)
    assert core.handle(STREAM_ENDED, 102.0) == Finish()
    assert [v.severity for v in core.state.violations] == ["warning"]


def test_final_check_failure_retries_from_scratch() -> None:
    """A violation found only at the end discards the attempt's text."""
    rule = _rule_rejecting("bad")
    rule.streaming = False
    core = make_core(guardrails=[rule], continue_from_last_good_token=True)
    core.handle(START, 100.0)
    feed(core, "bad")
    assert isinstance(core.handle(STREAM_ENDED, 101.0), Sleep)
    assert core.handle(WOKE, 102.0) == Open(0, 1, None)
    assert core.take_events()[0].type is EventType.RESET


def test_abort_from_any_live_state_ends_in_error() -> None:
    """abort is declared from every non-terminal state and raises STREAM_ABORTED."""
    core = make_core()
    core.handle(START, 100.0)
    feed(core, "x")
    decision = core.handle(ABORTED, 101.0)
    assert isinstance(decision, Fail)
    assert decision.error.code is ErrorCode.STREAM_ABORTED  # type: ignore[attr-defined]
    assert core.state.aborted
    assert core.phase == "error"


def test_initial_token_timeout_prefers_the_fallback() -> None:
    """A silent first attempt moves to the fallback rather than retrying the same route."""
    core = make_core(fallbacks=[factory])
    core.handle(START, 100.0)
    core.handle(DeadlinePassed("initial_token", 5.0), 105.0)
    assert core.phase == "fallback"
    without_fallback = make_core()
    without_fallback.handle(START, 100.0)
    without_fallback.handle(DeadlinePassed("initial_token", 5.0), 105.0)
    assert without_fallback.phase == "retrying"


def test_total_timeout_is_final() -> None:
    """Running out of the total budget is never retried nor sent to a fallback."""
    core = make_core(fallbacks=[factory])
    core.handle(START, 100.0)
    decision = core.handle(DeadlinePassed("total", 30.0), 130.0)
    assert isinstance(decision, Fail)
    assert isinstance(decision.error, l0.TimeoutError)
    assert decision.error.timeout_type == "total"


def test_unknown_chunk_type_is_a_clear_error() -> None:
    """A chunk l0 cannot read ends the run naming its type."""
    core = make_core()
    core.handle(START, 100.0)
    core.event({"not": "an event"}, 101.0)
    decision = core.decision
    assert isinstance(decision, Fail)
    assert decision.error.code is ErrorCode.INVALID_CHUNK  # type: ignore[attr-defined]
    assert "builtins.dict" in str(decision.error)


def test_complete_event_carries_usage_and_finish_reason_into_state() -> None:
    """An adapter's COMPLETE event ends the stream and fills usage/finish_reason/model."""
    core = make_core()
    core.handle(START, 100.0)
    feed(core, "hi")
    done = l0.Event(
        type=EventType.COMPLETE,
        usage={"total_tokens": 3},
        data={"finish_reason": "stop", "model": "gpt-x"},
    )
    assert core.event(done, 101.0) is None
    assert core.stop_reading
    assert core.handle(READING_STOPPED, 101.0) == Finish()
    assert core.state.usage == {"total_tokens": 3}
    assert core.state.finish_reason == "stop"
    assert core.state.model == "gpt-x"


def test_tool_calls_enter_and_leave_tool_call_detected() -> None:
    """A tool call moves the machine to tool_call_detected; text moves it back."""
    core = make_core()
    core.handle(START, 100.0)
    call = l0.Event(type=EventType.TOOL_CALL, data={"id": "c1", "name": "f", "arguments": "{}"})
    delivered = core.event(call, 101.0)
    # delivered with its time (the adapter's event has none; the caller's object is unchanged)
    assert delivered == dataclasses.replace(call, timestamp=core.epoch(101.0))
    assert call.timestamp is None
    assert core.phase == "tool_call_detected"
    feed(core, "done")
    assert core.phase == "streaming"
    assert core.state.tool_calls == [{"id": "c1", "name": "f", "arguments": "{}"}]


def test_every_transition_is_a_declared_edge() -> None:
    """The history of a run with retries and a fallback only uses edges of the declaration."""
    from l0.machine.spec import load_spec

    core = make_core(fallbacks=[factory], retry=l0.Retry(max_retries=1))
    core.handle(START, 100.0)
    feed(core, "a")
    core.handle(Failed(ConnectionResetError("reset")), 101.0)
    core.handle(WOKE, 101.0)
    core.handle(Failed(ConnectionResetError("reset")), 101.0)
    core.handle(WOKE, 101.0)
    feed(core, "b")
    core.handle(STREAM_ENDED, 102.0)
    declared = {(e.source, e.trigger, e.dest) for e in load_spec("runtime").edges}
    assert set(core.visits) <= declared
    assert core.phase == "complete"


def test_an_off_loop_check_that_passes_lets_the_attempt_read_on() -> None:
    """A large streaming check stops the reading (RunCheck); when it finds nothing the
    attempt reads on."""
    core = make_core(guardrails=[_rule_rejecting("bad")], check_interval=1)
    assert core.engine is not None
    core.engine.thread_threshold = 0
    core.handle(START, 100.0)
    feed(core, "good ")
    assert core.stop_reading
    assert core.handle(READING_STOPPED, 101.0) == RunCheck("streaming")
    found = core.engine.evaluate_streaming(core.state, 1)
    assert core.handle(CheckFinished(found), 101.5) is None
    assert not core.stop_reading and core.phase == "streaming"


def test_an_abort_asked_while_an_off_loop_check_runs_ends_the_run() -> None:
    """abort() while the driver runs a streaming check in a worker thread: when the check
    comes back (even clean), the run ends as aborted instead of reading on."""
    core = make_core(guardrails=[_rule_rejecting("bad")], check_interval=1)
    assert core.engine is not None
    core.engine.thread_threshold = 0
    core.handle(START, 100.0)
    feed(core, "good ")
    assert core.handle(READING_STOPPED, 101.0) == RunCheck("streaming")
    found = core.engine.evaluate_streaming(core.state, 1)
    core.request_abort()  # from another task, while the check runs
    decision = core.handle(CheckFinished(found), 101.5)
    assert isinstance(decision, Fail)
    assert decision.error.code is ErrorCode.STREAM_ABORTED  # type: ignore[attr-defined]
    assert core.phase == "error" and core.state.aborted


def test_text_released_by_an_overlap_is_checked_before_it_is_delivered() -> None:
    """A resumed attempt repeats too little of the kept text to count as overlap, then sends
    a chunk the guardrail rejects: the released text is checked like any token and withheld,
    never delivered (found by the text-model property test)."""
    core = make_core(
        guardrails=[_rule_rejecting("X")],
        check_interval=1,
        continue_from_last_good_token=l0.ContinuationConfig(
            checkpoint_interval=1,
            deduplication_options=l0.DeduplicationOptions(min_overlap=2, max_overlap=8),
        ),
    )
    core.handle(START, 100.0)
    assert all(event is not None for event in feed(core, "a", "b", "c"))
    assert isinstance(core.handle(Failed(ConnectionResetError("drop")), 101.0), Sleep)
    assert core.handle(WOKE, 101.0) == Open(0, 1, "abc")
    assert feed(core, "b") == [None]  # held: it may be the start of a repeat of "bc"
    assert feed(core, "X") == [None]  # "bX" is no repeat: new text, and rejected
    assert core.state.content == "abc"
    assert core.phase == "retrying"
    assert [v.rule for v in core.state.violations] == ["no_X"]
