"""The reference's runtime examples, making the same calls with scripted streams in place of
the network (the examples that need a real SDK client run against the local fault server
in tests/integration/)."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

import l0
from l0 import (
    ERROR_TYPE_DELAY_DEFAULTS,
    EXPONENTIAL_RETRY,
    MINIMAL_RETRY,
    RECOMMENDED_RETRY,
    RETRY_DEFAULTS,
    STRICT_RETRY,
    ErrorCategory,
    ErrorTypeDelays,
    Retry,
    RetryableErrorType,
    State,
)
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


async def test_run_with_every_option_then_iterate_and_read_state(capsys: Any) -> None:
    """The run() example: fallbacks, guardrails, retry, timeout, on_event, context, continuation."""
    primary = ScriptedFactory(Script.tokens("Hello from the primary", size=4))
    backup = ScriptedFactory(Script.tokens("backup"))
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        stream=primary,
        fallbacks=[backup],
        guardrails=[],
        retry=l0.Retry(
            attempts=3,
            max_retries=6,
            base_delay=1.0,
            max_delay=10.0,
            strategy=l0.BackoffStrategy.FIXED_JITTER,
        ),
        timeout=l0.Timeout(initial_token=5000, inter_token=10000),
        on_event=lambda event: seen.append(event),
        context={"request_id": "req-123", "tenant": "acme"},
        continue_from_last_good_token=True,
    )
    async for event in result:
        if event.is_token:
            print(event.text, end="")
        elif event.is_tool_call:
            print(f"Tool call: {event.data}")
        elif event.is_complete:
            print("\nComplete")
            print(f"Usage: {event.usage}")
        elif event.is_error:
            print(f"Error: {event.error}")
    out = capsys.readouterr().out
    assert out == "Hello from the primary\nComplete\nUsage: None\n"
    assert result.state.content == "Hello from the primary"
    assert result.state.token_count == 6
    assert result.state.checkpoint == "Hello from the prima"  # saved every 5 tokens
    assert result.state.duration is not None and result.state.duration >= 0
    assert all(e.context == {"request_id": "req-123", "tenant": "acme"} for e in seen)
    assert backup.calls == 0


async def test_read_returns_the_full_text() -> None:
    """`text = await result.read()`."""
    result = await l0.run(stream=ScriptedFactory(Script.tokens("full text", size=3)))
    text = await result.read()
    assert text == "full text"


async def test_wrap_a_raw_stream_and_read_it() -> None:
    """`result = l0.wrap(raw_stream); text = await result.read()` (no await on wrap)."""
    raw_stream = ScriptedFactory(Script.tokens("one-off"))()
    result = l0.wrap(raw_stream)
    text = await result.read()
    assert text == "one-off"
    assert raw_stream.closed


async def test_run_with_fallbacks_uses_the_backup_when_the_primary_fails() -> None:
    """`await l0.run(stream=..., fallbacks=[lambda: backup_stream()])`."""

    class Unauthorized(Exception):
        status_code = 401

    def create_stream() -> Any:
        return ScriptedFactory(Script(chunks=["x"], fail_at=0, error=Unauthorized("no")))()

    def backup_stream() -> Any:
        return ScriptedFactory(Script.tokens("from backup"))()

    result = await l0.run(stream=lambda: create_stream(), fallbacks=[lambda: backup_stream()])
    assert await result.read() == "from backup"
    assert result.state.fallback_index == 1


async def test_lifecycle_callback_example(capsys: Any) -> None:
    """The on_event handler with `match` on event types (reference "Lifecycle Callbacks")."""

    def handle_event(event: l0.ObservabilityEvent) -> None:
        match event.type:
            case l0.ObservabilityEventType.SESSION_START:
                print(f"Session started: {event.stream_id}")
            case l0.ObservabilityEventType.RETRY_ATTEMPT:
                print(f"Retrying (attempt {event.meta.get('attempt', '?')})")
            case l0.ObservabilityEventType.FALLBACK_START:
                print(f"Switching to fallback {event.meta.get('index', '?')}")
            case l0.ObservabilityEventType.CHECKPOINT_SAVED:
                print(f"Checkpoint saved ({event.meta.get('token_count', 0)} tokens)")
            case l0.ObservabilityEventType.NETWORK_ERROR:
                print(f"Network error: {event.meta.get('error', 'unknown')}")
            case l0.ObservabilityEventType.COMPLETE:
                print(f"Complete! Duration: {event.meta.get('duration', 0)}s")
            case l0.ObservabilityEventType.ERROR:
                print(f"Error: {event.meta.get('error', 'unknown')}")

    flaky = ScriptedFactory(
        Script(chunks=["a"], fail_at=0, error=ConnectionResetError("connection reset")),
        Script.tokens("recovered"),
    )
    result = await l0.run(
        stream=flaky,
        on_event=handle_event,
        context={"request_id": "req-123", "user_id": "user-456"},
        retry=l0.Retry(base_delay=0.1),
    )
    await result.read()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Session started: {result.stream_id}"
    assert "Network error: connection reset" in lines
    assert "Error: connection reset" in lines
    assert "Retrying (attempt 1)" in lines
    assert lines[-1].startswith("Complete! Duration: ")


async def test_state_tracking_fields() -> None:
    """Every field the "State Tracking" section reads exists and is right after a retry."""
    flaky = ScriptedFactory(Script(chunks=["a"], fail_at=0), Script.tokens("ok"))
    result = await l0.run(stream=flaky, retry=l0.Retry(base_delay=0.1))
    await result.read()
    state = result.state
    assert state.content == "ok"
    assert state.checkpoint == ""
    assert state.token_count == 2
    assert state.model_retry_count == 0
    assert state.network_retry_count == 1
    assert state.fallback_index == 0
    assert state.violations == []
    assert state.drift_detected is False
    assert state.completed is True
    assert state.aborted is False
    assert state.first_token_at is not None and state.last_token_at is not None
    assert state.last_token_at >= state.first_token_at
    assert state.duration is not None
    assert state.resumed is False


def test_retry_presets_and_defaults() -> None:
    """The preset table and the centralized defaults."""
    table = [
        (MINIMAL_RETRY, Retry.minimal(), 2, 4, "linear"),
        (RECOMMENDED_RETRY, Retry.recommended(), 3, 6, "fixed-jitter"),
        (STRICT_RETRY, Retry.strict(), 3, 6, "full-jitter"),
        (EXPONENTIAL_RETRY, Retry.exponential(), 4, 8, "exponential"),
    ]
    for constant, method, attempts, max_retries, backoff in table:
        assert constant == method
        assert (constant.attempts, constant.max_retries) == (attempts, max_retries)
        assert constant.strategy.value == backoff
        assert (constant.base_delay, constant.max_delay) == (1.0, 10.0)
    assert Retry.mobile().base_delay > RECOMMENDED_RETRY.base_delay
    assert Retry.edge().max_delay < RECOMMENDED_RETRY.max_delay
    assert RETRY_DEFAULTS.attempts == 3
    assert RETRY_DEFAULTS.max_retries == 6
    assert RETRY_DEFAULTS.base_delay == 1.0
    assert RETRY_DEFAULTS.max_delay == 10.0
    assert RETRY_DEFAULTS.backoff is l0.BackoffStrategy.FIXED_JITTER
    assert ERROR_TYPE_DELAY_DEFAULTS.connection_dropped == 1.0
    assert ERROR_TYPE_DELAY_DEFAULTS.timeout == 1.0
    assert ERROR_TYPE_DELAY_DEFAULTS.dns_error == 3.0
    assert ERROR_TYPE_DELAY_DEFAULTS.ssl_error == 0.0


async def test_preset_usage_in_run() -> None:
    """`retry=RECOMMENDED_RETRY`, `Retry.recommended()`, `.minimal()`, ... `.edge()`."""
    for retry in (
        RECOMMENDED_RETRY,
        Retry.recommended(),
        Retry.minimal(),
        Retry.strict(),
        Retry.exponential(),
        Retry.mobile(),
        Retry.edge(),
    ):
        result = await l0.run(stream=ScriptedFactory(Script.tokens("ok")), retry=retry)
        assert await result.read() == "ok"


async def test_custom_should_retry_vetoes_with_substantial_content() -> None:
    """The reference's custom_should_retry: veto after 100 tokens, or on context length."""
    external_checks: list[int] = []

    async def check_rate_limit_service() -> bool:
        external_checks.append(1)
        return True

    async def custom_should_retry(
        error: Exception, state: State, attempt: int, category: ErrorCategory
    ) -> bool:
        if state.token_count > 100:
            return False
        if "context_length_exceeded" in str(error):
            return False
        can_retry = await check_rate_limit_service()
        if not can_retry:  # noqa: SIM103 - the reference's example, verbatim
            return False
        return True

    long_then_drop = ScriptedFactory(Script(chunks=["w"] * 150, fail_at=120), Script.tokens("x"))
    result = await l0.run(
        stream=long_then_drop, retry=Retry(attempts=5, should_retry=custom_should_retry)
    )
    with pytest.raises(l0.NetworkError):
        await result.read()
    assert long_then_drop.calls == 1

    short_drop = ScriptedFactory(Script(chunks=["w"] * 5, fail_at=2), Script.tokens("fine"))
    result = await l0.run(
        stream=short_drop,
        retry=Retry(attempts=5, base_delay=0.1, should_retry=custom_should_retry),
    )
    assert await result.read() == "fine"
    assert external_checks == [1]


async def test_calculate_delay_example() -> None:
    """The reference's custom_calculate_delay: 0.5 s for network errors."""

    def custom_calculate_delay(context: dict[str, Any]) -> float:
        if context["category"] == "network":
            return 0.5
        if context["reason"] == "rate_limit":
            return 5.0
        base = 1.0
        cap = 30.0
        temp = min(cap, base * (2 ** context["attempt"]))
        return random.random() * temp

    flaky = ScriptedFactory(Script(chunks=["x"], fail_at=0), Script.tokens("ok"))
    result = await l0.run(
        stream=flaky,
        retry=Retry(attempts=3, base_delay=1.0, calculate_delay=custom_calculate_delay),
    )
    started = anyio.current_time()
    assert await result.read() == "ok"
    assert anyio.current_time() - started == pytest.approx(0.5)


async def test_error_type_delays_example() -> None:
    """ErrorTypeDelays: a reset connection waits econnreset=1.5 s."""
    flaky = ScriptedFactory(Script(chunks=["x"], fail_at=0), Script.tokens("ok"))
    result = await l0.run(
        stream=flaky,
        retry=Retry(
            attempts=3,
            strategy=l0.BackoffStrategy.FIXED,
            error_type_delays=ErrorTypeDelays(
                connection_dropped=2.0,
                econnreset=1.5,
                econnrefused=3.0,
                fetch_error=0.5,
                dns_error=5.0,
                timeout=1.5,
                sse_aborted=1.0,
                no_bytes=0.5,
                partial_chunks=1.0,
                runtime_killed=5.0,
                background_throttle=2.0,
                unknown=1.0,
            ),
        ),
    )
    started = anyio.current_time()
    assert await result.read() == "ok"
    assert anyio.current_time() - started == pytest.approx(1.5)


async def test_retryable_error_types_example() -> None:
    """`retry_on=[NETWORK_ERROR, TIMEOUT, RATE_LIMIT]`: a guardrail violation is not retried."""
    retry = Retry(
        attempts=3,
        retry_on=[
            RetryableErrorType.NETWORK_ERROR,
            RetryableErrorType.TIMEOUT,
            RetryableErrorType.RATE_LIMIT,
        ],
    )

    def reject_everything(state: State) -> list[l0.GuardrailViolation]:
        return [l0.GuardrailViolation(rule="no", message="never good", severity="error")]

    factory = ScriptedFactory(Script.tokens("text"))
    result = await l0.run(
        stream=factory,
        retry=retry,
        guardrails=[l0.GuardrailRule(name="no", check=reject_everything, streaming=False)],
    )
    with pytest.raises(l0.Error) as caught:
        await result.read()
    assert caught.value.code is l0.ErrorCode.GUARDRAIL_VIOLATION
    assert factory.calls == 1
    assert [e.value for e in RetryableErrorType] == [
        "zero_output",
        "guardrail_violation",
        "drift",
        "incomplete",
        "network_error",
        "timeout",
        "rate_limit",
        "server_error",
    ]


async def test_timeout_error_example() -> None:
    """`except TimeoutError as e: e.timeout_type, e.timeout_seconds` with initial_token=1.0 ms."""
    from l0 import TimeoutError

    my_stream = ScriptedFactory(Script.tokens("late", stall_at=0, stall_for=1.0))
    with pytest.raises(TimeoutError) as caught:
        result = await l0.run(
            stream=my_stream,
            timeout=l0.Timeout(initial_token=1.0),
            retry=Retry(max_retries=0),
        )
        async for _event in result:
            pass
    e = caught.value
    assert e.timeout_type == "initial_token"
    assert e.timeout_seconds == 0.001


# After `abort(); break` the stream is dropped half-read; trio warns (ResourceWarning) for any
# async generator collected unfinished, then closes it. asyncio closes it silently.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_aborting_streams_example() -> None:
    """Abort mid-iteration, break, and `result.state.aborted` is True."""
    my_stream = ScriptedFactory(Script.tokens("abcdefgh"))
    result = await l0.run(stream=my_stream)
    processed: list[str] = []

    def should_stop(event: l0.Event) -> bool:
        return event.text == "d"

    def process(event: l0.Event) -> None:
        processed.append(event.text or "")

    async for event in result:
        if should_stop(event):
            result.abort()
            break
        process(event)
    assert result.state.aborted is True
    assert processed == ["a", "b", "c"]


def test_state_machine_example() -> None:
    """The State Machine section, verbatim."""
    from l0 import RuntimeState, RuntimeStates, StateMachine, create_state_machine

    sm = StateMachine()
    sm = create_state_machine()
    sm.transition(RuntimeState.STREAMING)
    assert sm.get() is RuntimeState.STREAMING
    assert sm.is_(RuntimeState.STREAMING, RuntimeState.CONTINUATION_MATCHING) is True
    assert sm.is_state(RuntimeState.STREAMING) is True
    assert sm.is_terminal() is False

    changes: list[RuntimeState] = []

    def on_state_change(state: RuntimeState) -> None:
        changes.append(state)

    unsubscribe = sm.subscribe(on_state_change)
    sm.transition(RuntimeState.FINALIZING)
    sm.transition(RuntimeState.COMPLETE)
    assert sm.is_terminal() is True
    assert changes == [RuntimeState.FINALIZING, RuntimeState.COMPLETE]
    history = sm.get_history()
    assert [(h.from_state, h.to_state) for h in history] == [
        (RuntimeState.INIT, RuntimeState.STREAMING),
        (RuntimeState.STREAMING, RuntimeState.FINALIZING),
        (RuntimeState.FINALIZING, RuntimeState.COMPLETE),
    ]
    assert all(isinstance(h.timestamp, float) for h in history)
    sm.reset()
    assert sm.get() is RuntimeState.INIT and sm.get_history() == []
    unsubscribe()
    sm.transition(RuntimeState.STREAMING)
    assert changes == [RuntimeState.FINALIZING, RuntimeState.COMPLETE]
    assert RuntimeStates is RuntimeState
    assert isinstance(StateMachine.create(), StateMachine)


def test_state_machine_rejects_undeclared_transitions() -> None:
    """An edge that is not declared raises l0.Error(INVALID_TRANSITION)."""
    sm = l0.StateMachine()
    with pytest.raises(l0.Error) as caught:
        sm.transition(l0.RuntimeState.COMPLETE)
    assert caught.value.code is l0.ErrorCode.INVALID_TRANSITION
    assert sm.get() is l0.RuntimeState.INIT


def test_state_machine_conditional_edges_follow_the_requested_state() -> None:
    """From streaming, `fail` leads to retrying, fallback or error, as asked."""
    for target in (l0.RuntimeState.RETRYING, l0.RuntimeState.FALLBACK, l0.RuntimeState.ERROR):
        sm = l0.StateMachine()
        sm.transition(l0.RuntimeState.STREAMING)
        sm.transition(target)
        assert sm.get() is target


def test_metrics_example() -> None:
    """The Metrics section: counters, snapshot, reset, to_dict, global and scoped API."""
    from l0 import (
        Metrics,
        MetricsSnapshot,
        create_metrics,
        get_global_metrics,
        reset_global_metrics,
    )

    metrics = Metrics()
    metrics = create_metrics()
    metrics.requests += 1
    metrics.tokens += 150
    metrics.completions += 1
    snapshot: MetricsSnapshot = metrics.snapshot()
    assert snapshot.tokens == 150
    assert snapshot.completions / snapshot.requests * 100 == 100.0
    metrics.requests += 1
    assert snapshot.requests == 1  # an immutable copy
    assert metrics.to_dict() == {
        "requests": 2,
        "tokens": 150,
        "retries": 0,
        "network_retry_count": 0,
        "errors": 0,
        "violations": 0,
        "drift_detections": 0,
        "fallbacks": 0,
        "completions": 1,
        "timeouts": 0,
    }
    metrics.reset()
    assert metrics.to_dict()["tokens"] == 0
    assert Metrics.get_global() is get_global_metrics()
    Metrics.get_global().requests += 1
    Metrics.reset_global()
    assert get_global_metrics().requests == 0
    get_global_metrics().requests += 1
    reset_global_metrics()
    assert Metrics.get_global().requests == 0
    assert isinstance(Metrics.create(), Metrics)


async def test_runs_update_the_global_metrics() -> None:
    """A run with one retry and a fallback adds its totals to the global metrics."""
    l0.reset_global_metrics()

    class Unauthorized(Exception):
        status_code = 401

    primary = ScriptedFactory(
        Script(chunks=["x"], fail_at=0), Script(chunks=["x"], fail_at=0, error=Unauthorized())
    )
    result = await l0.run(
        stream=primary,
        fallbacks=[ScriptedFactory(Script.tokens("abc"))],
        retry=Retry(base_delay=0.1),
    )
    await result.read()
    snapshot = l0.get_global_metrics().snapshot()
    assert snapshot.requests == 1
    assert snapshot.tokens == 3
    assert snapshot.retries == 1
    assert snapshot.network_retry_count == 1
    assert snapshot.errors == 2
    assert snapshot.fallbacks == 1
    assert snapshot.completions == 1


def test_event_bus_example(capsys: Any) -> None:
    """EventBus(handler, context): a UUIDv7 stream id and custom events."""
    from l0 import EventBus, ObservabilityEvent, ObservabilityEventType

    def my_handler(event: ObservabilityEvent) -> None:
        print(f"[{event.type}] stream={event.stream_id}")
        print(f"  ts={event.ts}ms")
        print(f"  context={event.context}")
        print(f"  meta={event.meta}")

    bus = EventBus(handler=my_handler, context={"service": "my-app", "request_id": "req-123"})
    stream_id = bus.stream_id
    assert stream_id[14] == "7" and stream_id[19] in "89ab"  # version 7, RFC variant
    bus.emit(ObservabilityEventType.CHECKPOINT_SAVED, checkpoint="...", token_count=100)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"[ObservabilityEventType.CHECKPOINT_SAVED] stream={stream_id}"
    assert out[2] == "  context={'service': 'my-app', 'request_id': 'req-123'}"
    assert out[3] == "  meta={'checkpoint': '...', 'token_count': 100}"


def test_categorize_error_example() -> None:
    """categorize_error and ErrorCategory from their documented modules."""
    from l0.errors import categorize_error
    from l0.types import ErrorCategory

    class Status(Exception):
        def __init__(self, code: int) -> None:
            super().__init__(f"HTTP {code}")
            self.status_code = code

    assert (
        categorize_error(ConnectionResetError("Connection reset by peer")) is ErrorCategory.NETWORK
    )
    assert categorize_error(Status(429)) is ErrorCategory.TRANSIENT
    assert categorize_error(Status(503)) is ErrorCategory.TRANSIENT
    assert categorize_error(Status(401)) is ErrorCategory.FATAL
    assert categorize_error(Status(403)) is ErrorCategory.FATAL
    assert categorize_error(Status(400)) is ErrorCategory.PROVIDER
    assert categorize_error(ValueError("model refused")) is ErrorCategory.MODEL
    guardrail = l0.Error("bad", code=l0.ErrorCode.GUARDRAIL_VIOLATION)
    assert categorize_error(guardrail) is ErrorCategory.CONTENT
    assert categorize_error(TypeError("bug")) is ErrorCategory.INTERNAL
