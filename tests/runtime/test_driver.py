"""The driver on asyncio and trio, on a virtual clock: no test here sleeps for real."""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import looptime
import pytest
import trio.testing
from hypothesis import given, settings, strategies as st

import l0
from l0.errors import ErrorCode
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

FIXED = l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.5)


async def collect(stream: l0.Stream) -> list[l0.Event]:
    return [event async for event in stream]


async def test_read_returns_the_text() -> None:
    """read() consumes the stream and returns its text."""
    factory = ScriptedFactory(Script.tokens("Hello world", size=3))
    result = await l0.run(stream=factory)
    assert await result.read() == "Hello world"
    assert result.state.completed
    assert factory.all_closed


async def test_iteration_yields_tokens_then_complete() -> None:
    """async for yields one TOKEN event per chunk, then COMPLETE."""
    result = await l0.run(stream=ScriptedFactory(Script(chunks=["a", "b"])))
    events = await collect(result)
    assert [(e.type, e.text) for e in events] == [
        (l0.EventType.TOKEN, "a"),
        (l0.EventType.TOKEN, "b"),
        (l0.EventType.COMPLETE, None),
    ]


async def test_retry_after_a_drop_resets_and_keeps_only_surviving_text() -> None:
    """A stream dropped mid-answer is retried after the backoff; the consumer gets RESET."""
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello world"))
    result = await l0.run(stream=factory, retry=FIXED)
    started = anyio.current_time()
    events = await collect(result)
    assert anyio.current_time() - started == pytest.approx(0.5)
    kinds = [e.type for e in events]
    reset_at = kinds.index(l0.EventType.RESET)
    assert "".join(e.text or "" for e in events[:reset_at]) == "Hello"
    assert events[reset_at].data == {
        "reason": "econnreset",
        "attempt": 1,
        "fallback_index": 0,
        "discarded": 5,
        "kept": 0,
    }
    assert "".join(e.text or "" for e in events[reset_at:]) == "Hello world"
    assert result.state.content == "Hello world"
    assert result.state.network_retry_count == 1
    assert factory.calls == 2 and factory.all_closed


async def test_first_token_timeout_moves_to_the_fallback_at_the_deadline() -> None:
    """A primary silent past initial_token is abandoned (and closed) for the fallback."""
    primary = ScriptedFactory(Script.tokens("never", stall_at=0, stall_for=100.0))
    fallback = ScriptedFactory(Script.tokens("backup"))
    result = await l0.run(
        stream=primary, fallbacks=[fallback], timeout=l0.Timeout(initial_token=2000)
    )
    started = anyio.current_time()
    assert await result.read() == "backup"
    assert anyio.current_time() - started == pytest.approx(2.0)
    assert result.state.fallback_index == 1
    (error,) = result.errors
    assert isinstance(error, l0.TimeoutError)
    assert error.timeout_type == "initial_token" and error.timeout_seconds == 2.0
    assert primary.all_closed and fallback.all_closed


async def test_inter_token_timeout_raises_after_retries() -> None:
    """A stream that goes silent mid-answer times out; with no retries left the error is raised."""
    factory = ScriptedFactory(Script.tokens("abc", stall_at=2, stall_for=60.0))
    result = await l0.run(
        stream=factory,
        timeout=l0.Timeout(inter_token=1500),
        retry=l0.Retry(max_retries=0),
    )
    started = anyio.current_time()
    with pytest.raises(l0.TimeoutError) as caught:
        await result.read()
    assert anyio.current_time() - started == pytest.approx(1.5)
    assert caught.value.timeout_type == "inter_token"
    assert caught.value.code is ErrorCode.INTER_TOKEN_TIMEOUT
    assert factory.all_closed


async def test_a_slow_consumer_is_not_a_silent_provider() -> None:
    """Time the consumer spends between events never counts against inter_token."""
    factory = ScriptedFactory(Script.tokens("abcd"))
    result = await l0.run(stream=factory, timeout=l0.Timeout(inter_token=1000))
    text = []
    async for event in result:
        if event.is_token:
            text.append(event.text)
            await anyio.sleep(5.0)
    assert "".join(text) == "abcd"
    assert result.errors == []


async def test_total_timeout_bounds_every_attempt_and_backoff() -> None:
    """Timeout(total=...) ends the run when its budget is spent, whatever is in progress."""
    factory = ScriptedFactory(Script(chunks=["x"], fail_at=0))
    result = await l0.run(
        stream=factory,
        retry=l0.Retry(max_retries=100, base_delay=2.0, strategy=l0.BackoffStrategy.FIXED),
        timeout=l0.Timeout(total=5000),
    )
    started = anyio.current_time()
    with pytest.raises(l0.TimeoutError) as caught:
        await result.read()
    assert caught.value.timeout_type == "total"
    assert anyio.current_time() - started == pytest.approx(5.0)


async def test_backoff_waits_exactly_the_computed_delays() -> None:
    """Exponential backoff: 0.5, 1, 2 seconds between the attempts."""
    factory = ScriptedFactory(
        Script(chunks=["x"], fail_at=0),
        Script(chunks=["x"], fail_at=0),
        Script(chunks=["x"], fail_at=0),
        Script.tokens("ok"),
    )
    starts: list[float] = []

    def on_event(event: l0.ObservabilityEvent) -> None:
        if event.type is l0.ObservabilityEventType.STREAM_INIT:
            starts.append(anyio.current_time())

    result = await l0.run(
        stream=factory,
        retry=l0.Retry(base_delay=0.5, strategy=l0.BackoffStrategy.EXPONENTIAL),
        on_event=on_event,
    )
    assert await result.read() == "ok"
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(starts)]
    assert gaps == [0.5, 1.0, 2.0]


async def test_abort_cancels_a_pending_read_promptly() -> None:
    """abort() from another task ends a silent stream at once and closes the provider."""
    factory = ScriptedFactory(Script(chunks=["first", "never"], stall_at=1, stall_for=1000.0))
    result = await l0.run(stream=factory)
    received: list[str] = []
    started = anyio.current_time()

    async def consume() -> None:
        with pytest.raises(l0.Error) as caught:
            async for event in result:
                if event.is_token:
                    received.append(event.text or "")
        assert caught.value.code is ErrorCode.STREAM_ABORTED

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(consume)
        await anyio.sleep(3.0)
        result.abort()
    assert anyio.current_time() - started == pytest.approx(3.0)
    assert received == ["first"]
    assert result.state.aborted
    assert factory.all_closed


async def test_abort_between_events_raises_on_the_next_iteration() -> None:
    """The reference's pattern: abort() then break; state.aborted is set at once."""
    factory = ScriptedFactory(Script.tokens("abcdef"))
    result = await l0.run(stream=factory)
    async for event in result:
        if event.text == "c":
            result.abort()
            break
    assert result.state.aborted
    with pytest.raises(l0.Error) as caught:
        await result.read()
    assert caught.value.code is ErrorCode.STREAM_ABORTED
    assert factory.all_closed


async def test_async_with_closes_the_provider_when_the_consumer_leaves_early() -> None:
    """Leaving `async with stream` early closes the provider stream."""
    factory = ScriptedFactory(Script.tokens("abcdef"))
    async with await l0.run(stream=factory) as result:
        async for event in result:
            if event.text == "b":
                break
    assert factory.all_closed


# trio warns (ResourceWarning) when any async generator is collected unfinished, then closes
# it anyway; that advice to use `async with` is what this test's consumer ignores on purpose.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_a_dropped_half_read_stream_is_closed() -> None:
    """A consumer that breaks out and drops the stream still gets the provider closed."""
    factory = ScriptedFactory(Script.tokens("abcdef"))
    result = await l0.run(stream=factory)
    async for event in result:
        if event.text == "b":
            break
    del result, event
    gc.collect()
    await anyio.sleep(0.01)  # the loop runs the generator's finalizer
    assert factory.all_closed


async def test_cancellation_from_outside_propagates_and_closes_the_provider() -> None:
    """A cancelled consumer is cancelled (not converted into an l0 error); the provider closes."""
    factory = ScriptedFactory(Script(chunks=["a", "b"], stall_at=1, stall_for=1000.0))
    result = await l0.run(stream=factory)
    with anyio.move_on_after(2.0) as scope:
        await result.read()
    assert scope.cancelled_caught
    assert result.errors == []
    assert factory.all_closed


async def test_consumer_scopes_nest_correctly_around_iteration() -> None:
    """A consumer's own cancel scope around a partial iteration exits cleanly (the consumer
    holds the iterator, so leaving the loop does not end the run)."""
    factory = ScriptedFactory(Script.tokens("abcdef", delay=1.0))
    result = await l0.run(stream=factory)
    events = aiter(result)
    with anyio.move_on_after(100.0):
        async for event in events:
            if event.text == "c":
                break
    async with anyio.create_task_group():
        pass
    assert await result.read() == "abcdef"


async def test_async_should_retry_can_veto() -> None:
    """An async should_retry that says no stops the retries."""
    calls: list[tuple[str, int, l0.ErrorCategory]] = []

    async def should_retry(
        error: BaseException, state: l0.State, attempt: int, category: l0.ErrorCategory
    ) -> bool:
        await anyio.sleep(0)
        calls.append((type(error).__name__, attempt, category))
        return False

    factory = ScriptedFactory(Script(chunks=["x"], fail_at=0))
    result = await l0.run(stream=factory, retry=l0.Retry(should_retry=should_retry))
    with pytest.raises(l0.NetworkError):
        await result.read()
    assert calls == [("ConnectionResetError", 0, l0.ErrorCategory.NETWORK)]
    assert factory.calls == 1


async def test_unknown_chunks_fail_with_a_clear_error() -> None:
    """A stream of objects l0 cannot read fails at once, naming the type."""
    factory = ScriptedFactory(Script(chunks=[123]))
    result = await l0.run(stream=factory)
    with pytest.raises(l0.Error) as caught:
        await result.read()
    assert caught.value.code is ErrorCode.INVALID_CHUNK
    assert "builtins.int" in str(caught.value)
    assert factory.calls == 1 and factory.all_closed


async def test_events_from_the_stream_pass_through() -> None:
    """l0.Event chunks are accepted: tokens count as text, other events pass as they are,
    given their time when they came without one."""
    progress = l0.Event(type=l0.EventType.PROGRESS, data={"percent": 50})
    factory = ScriptedFactory(
        Script(chunks=[l0.Event(type=l0.EventType.TOKEN, text="hi"), progress, " there"])
    )
    result = await l0.run(stream=factory)
    events = await collect(result)
    assert (events[1].type, events[1].data) == (l0.EventType.PROGRESS, {"percent": 50})
    assert events[1].timestamp is not None and events[1].timestamp > 1.7e9
    assert result.state.content == "hi there"


async def test_a_guardrail_violation_stops_the_attempt_and_retries() -> None:
    """No token of a violating attempt reaches the consumer after the violation."""

    def no_oops(state: l0.State) -> list[l0.GuardrailViolation]:
        if "oops" in state.content:
            return [l0.GuardrailViolation(rule="no_oops", message="oops", severity="error")]
        return []

    factory = ScriptedFactory(
        Script(chunks=["fine ", "oops", " more", " text"]), Script(chunks=["all ", "good"])
    )
    result = await l0.run(
        stream=factory,
        guardrails=[l0.GuardrailRule(name="no_oops", check=no_oops)],
        retry=FIXED,
        check_interval=1,
    )
    events = await collect(result)
    texts = [e.text for e in events if e.is_token]
    assert texts == ["fine ", "all ", "good"]
    assert [e.type for e in events].count(l0.EventType.RESET) == 1
    assert result.state.model_retry_count == 1
    assert result.state.content == "all good"


async def test_streaming_checks_keep_their_interval_after_a_retry() -> None:
    """A retried attempt is checked every `check_interval` of its own tokens, however many
    tokens the failed attempt had streamed (3 here, not a multiple of 15)."""

    def no_bad(state: l0.State) -> list[l0.GuardrailViolation]:
        if "BAD" in state.content:
            return [l0.GuardrailViolation(rule="no_bad", message="BAD", severity="error")]
        return []

    factory = ScriptedFactory(
        Script(chunks=["a", "b", "c"], fail_at=3),
        Script(chunks=["BAD", *["x"] * 40]),
        Script(chunks=["fine"]),
    )
    result = await l0.run(
        stream=factory,
        guardrails=[l0.GuardrailRule(name="no_bad", check=no_bad)],
        retry=FIXED,
    )
    assert await result.read() == "fine"
    assert factory.streams[1].position == 15  # stopped at its first check, mid-stream
    assert [v.rule for v in result.state.violations] == ["no_bad"]


async def test_checkpoints_keep_advancing_after_a_resume() -> None:
    """After a resume from a checkpoint, the attempt goes on saving checkpoints."""
    saved: list[int] = []

    def on_event(event: l0.ObservabilityEvent) -> None:
        if event.type is l0.ObservabilityEventType.CHECKPOINT_SAVED:
            saved.append(event.meta["token_count"])

    first = [f"w{i} " for i in range(7)]
    rest = [f"v{i} " for i in range(12)]
    factory = ScriptedFactory(Script(chunks=first, fail_at=7), Script(chunks=rest))
    result = await l0.run(
        stream=factory,
        retry=FIXED,
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=5),
        on_event=on_event,
    )
    await result.read()
    # attempt 1 saves after its 5th token; the resumed attempt twice more, counting the
    # tokens it streams after the overlap with the resume point is settled (the first here)
    assert len(saved) == 3
    state = result.state
    assert state.checkpoint == state.content[: state.checkpoint_length]
    assert state.checkpoint.endswith(rest[10])


async def test_network_recovery_is_reported_when_a_retry_resumes_from_a_checkpoint() -> None:
    """NETWORK_RECOVERY follows a network error whether or not the retry continues."""
    for continuation in (False, True):
        seen: list[l0.ObservabilityEventType] = []
        tokens = [f"t{i} " for i in range(12)]
        factory = ScriptedFactory(Script(chunks=tokens, fail_at=6), Script(chunks=tokens))
        result = await l0.run(
            stream=factory,
            retry=FIXED,
            continue_from_last_good_token=continuation,
            on_event=lambda event, seen=seen: seen.append(event.type),
        )
        await result.read()
        kinds = [k for k in seen if k.name.startswith("NETWORK_")]
        assert kinds == [
            l0.ObservabilityEventType.NETWORK_ERROR,
            l0.ObservabilityEventType.NETWORK_RECOVERY,
        ], continuation


async def test_large_checks_run_in_a_worker_thread() -> None:
    """A plain rule over more than 10 KB of text is run off the event loop."""
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def record(state: l0.State) -> list[l0.GuardrailViolation]:
        threads.add(threading.get_ident())
        return []

    factory = ScriptedFactory(Script(chunks=["x" * 1000] * 30))
    result = await l0.run(
        stream=factory,
        guardrails=[l0.GuardrailRule(name="record", check=record)],
        check_interval=5,  # the first check sees 5 KB (inline), later ones more (a thread)
    )
    assert len(await result.read()) == 30_000
    assert loop_thread in threads
    assert threads - {loop_thread}


async def test_a_raising_event_handler_does_not_break_the_stream(caplog: Any) -> None:
    """An on_event handler that raises is logged; the stream completes."""

    def broken(event: l0.ObservabilityEvent) -> None:
        raise RuntimeError("handler bug")

    result = await l0.run(stream=ScriptedFactory(Script.tokens("ok")), on_event=broken)
    assert await result.read() == "ok"
    assert "handler raised" in caplog.text


async def test_the_context_is_copied_when_run_is_called() -> None:
    """Mutating the context dict after run() (even before the first read) does not change
    the events."""
    context = {"request_id": "r1", "nested": {"k": 1}}
    seen: list[dict[str, Any]] = []
    result = await l0.run(
        stream=ScriptedFactory(Script.tokens("ok")),
        context=context,
        on_event=lambda e: seen.append(e.context),
    )
    context["request_id"] = "changed"
    context["nested"]["k"] = 2  # type: ignore[index]
    async for _ in result:
        pass
    assert seen and all(c == {"request_id": "r1", "nested": {"k": 1}} for c in seen)


async def test_a_context_that_cannot_be_copied_is_refused_at_the_call() -> None:
    with pytest.raises(l0.Error, match="context must be copyable") as caught:
        await l0.run(
            stream=ScriptedFactory(Script.tokens("ok")), context={"lock": threading.Lock()}
        )
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


async def test_a_consumed_stream_cannot_be_iterated_again() -> None:
    """Iterating a finished stream is a clear error; read() returns the text again."""
    result = await l0.run(stream=ScriptedFactory(Script.tokens("once")))
    assert await result.read() == "once"
    assert await result.read() == "once"
    with pytest.raises(l0.Error) as caught:
        async for _ in result:
            pass
    assert caught.value.code is ErrorCode.STREAM_CONSUMED


async def test_wrap_reads_a_raw_stream_once() -> None:
    """wrap(raw_stream) needs no await and reads the stream."""

    async def raw() -> AsyncIterator[str]:
        yield "raw "
        yield "text"

    result = l0.wrap(raw())
    assert isinstance(result, l0.LazyStream)
    assert await result.read() == "raw text"


async def test_wrap_rejects_retry_for_a_raw_stream() -> None:
    """A raw stream cannot be re-created, so asking for retries is an error."""

    async def raw() -> AsyncIterator[str]:
        yield "x"

    stream = raw()
    with pytest.raises(l0.Error) as caught:
        l0.wrap(stream, retry=l0.Retry())
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    await stream.aclose()


async def test_run_rejects_bad_arguments_clearly() -> None:
    """A non-callable stream or fallback is an INVALID_ARGUMENT error naming the problem."""
    with pytest.raises(l0.Error, match="factory"):
        await l0.run(stream="not a factory")  # type: ignore[arg-type]
    with pytest.raises(l0.Error, match=r"fallbacks\[0\]"):
        await l0.run(stream=lambda: None, fallbacks=[42])  # type: ignore[list-item]


async def test_factory_returning_a_coroutine_is_awaited() -> None:
    """A factory may return an awaitable that resolves to the stream (like SDK create())."""

    async def create() -> Any:
        await anyio.sleep(0.1)
        return ScriptedFactory(Script.tokens("made"))()

    result = await l0.run(stream=create)
    assert await result.read() == "made"


async def test_state_machine_view_and_diagram_of_a_run() -> None:
    """A finished run exposes its machine history and a diagram of the path it took."""
    factory = ScriptedFactory(Script(chunks=["x"], fail_at=0), Script.tokens("ok"))
    result = await l0.run(stream=factory, retry=FIXED)
    await result.read()
    machine = result.state_machine
    assert machine.get() is l0.RuntimeState.COMPLETE
    path = [t.to_state for t in machine.get_history()]
    assert path == [
        l0.RuntimeState.WAITING_FOR_TOKEN,
        l0.RuntimeState.RETRYING,
        l0.RuntimeState.WAITING_FOR_TOKEN,
        l0.RuntimeState.STREAMING,
        l0.RuntimeState.FINALIZING,
        l0.RuntimeState.COMPLETE,
    ]
    diagram = result.diagram()
    assert "waiting_for_token --> retrying: fail [retry_allowed] / schedule_backoff (x1)" in diagram
    assert "class complete current" in diagram
    with pytest.raises(l0.Error):
        machine.transition(l0.RuntimeState.INIT)


async def test_abort_while_the_consumer_holds_an_event_closes_the_provider_at_once() -> None:
    """abort() between two reads closes the provider from a task of its own: no next read
    is needed (the consumer may never read again)."""
    factory = ScriptedFactory(Script.tokens("abcdef"))
    result = await l0.run(stream=factory)
    events = aiter(result)
    while (await anext(events)).text != "b":
        pass
    result.abort()
    await anyio.sleep(0.001)  # the loop runs the close
    assert factory.all_closed
    with pytest.raises(l0.Error) as caught:
        await anext(events)
    assert caught.value.code is ErrorCode.STREAM_ABORTED


async def test_leaving_async_for_early_closes_the_provider_at_once() -> None:
    """Breaking out without `async with`: the provider is closed as the loop is left, and the
    stream, ended there, says so when read again."""
    factory = ScriptedFactory(Script.tokens("abcdef"))
    result = await l0.run(stream=factory)
    async for event in result:
        if event.text == "b":
            break
    await anyio.sleep(0.001)  # the loop runs the close
    assert factory.all_closed
    with pytest.raises(l0.Error) as caught:
        await result.read()
    assert caught.value.code is ErrorCode.STREAM_CONSUMED
    assert result.state.content == "ab"


LEAVINGS = ["abort then break", "break", "raise in the body", "abort and hold the iterator"]


async def stop_reading(factory: ScriptedFactory, leave_at: int, how: str) -> None:
    """Read `factory`'s run and stop at token number `leave_at`, the way `how` says."""
    result = await l0.run(stream=factory, retry=l0.Retry(base_delay=0.0))
    holding = how == "abort and hold the iterator"
    events: Any = aiter(result) if holding else result
    seen = 0
    with anyio.fail_after(100):
        try:
            async for event in events:
                if not event.is_token or event.text == "x":
                    continue
                if seen == leave_at:
                    if how == "raise in the body":
                        raise KeyError(event.text)
                    if how != "break":
                        result.abort()
                    break
                seen += 1
        except KeyError:
            pass
        await anyio.sleep(0.001)  # one turn: the close runs in a task of its own
        assert factory.all_closed, how


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=30)
@given(
    leave_at=st.integers(0, 11),
    how=st.sampled_from(LEAVINGS),
    stall=st.booleans(),
    retry_first=st.booleans(),
)
def test_however_and_wherever_the_consumer_stops_the_provider_is_closed_at_once(
    backend: str, leave_at: int, how: str, stall: bool, retry_first: bool
) -> None:
    """Any way of stopping (abort then break, break, an exception in the loop body, abort
    with the iterator kept), at any token, of an attempt that stalls afterwards or not, after
    a failed first attempt or not: one turn of the loop later every stream the run opened is
    closed, without a further read (virtual clocks)."""
    scripts = [Script(chunks=list("abcdefghijkl"), stall_at=leave_at + 1, stall_for=1000.0)]
    if not stall:
        scripts = [Script(chunks=list("abcdefghijkl"))]
    if retry_first:
        scripts.insert(0, Script(chunks=["x"], fail_at=1))
    factory = ScriptedFactory(*scripts)
    if backend == "asyncio":
        options: dict[str, Any] = {"loop_factory": looptime.new_event_loop}
    else:
        options = {"clock": trio.testing.MockClock(autojump_threshold=0)}
    anyio.run(stop_reading, factory, leave_at, how, backend=backend, backend_options=options)
