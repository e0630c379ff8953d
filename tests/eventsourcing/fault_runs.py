"""Generated runs with faults, for property tests: scripted streams on a virtual clock.

A `Scenario` is a run over up to three stream factories whose attempts succeed, raise one of
several error classes at a random chunk, go silent, emit text a guardrail rejects or a tool
call; plus a retry policy (jitter included, so the random generator matters), continuation,
a consumer that may abort after some events, and user callbacks (`calculate_delay`,
`should_retry`) whose answers a recording must keep. `play` runs one on asyncio or trio with
an auto-jumping clock and returns what the consumer saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import looptime
import trio.testing
from hypothesis import strategies as st

import l0
from l0.testing.scripted import Script, ScriptedFactory


class RateLimited(Exception):
    status_code = 429

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(Exception):
    status_code = 503


class Unauthorized(Exception):
    status_code = 401


FAILURES: dict[str, Any] = {
    "reset": lambda: ConnectionResetError("connection reset by peer"),
    "429": lambda: RateLimited("rate limited", retry_after=0.5),
    "503": lambda: Unavailable("service unavailable"),
    "401": lambda: Unauthorized("bad key"),
    "model": lambda: ValueError("the model refused"),
    "dropped": lambda: EOFError("stream ended early"),
}


def reject_bad(state: l0.State) -> list[l0.GuardrailViolation]:
    if "BAD" in state.content:
        return [l0.GuardrailViolation(rule="no_bad", message="BAD found", severity="error")]
    return []


NO_BAD = l0.GuardrailRule(name="no_bad", check=reject_bad)


def tool_call(index: int) -> l0.Event:
    return l0.Event(
        l0.EventType.TOOL_CALL,
        data={"id": f"call_{index}", "name": "lookup", "arguments": '{"q": "x"}'},
    )


@dataclass(frozen=True)
class Attempt:
    words: tuple[str, ...]
    fault: str  # "ok", a FAILURES key, "stall", "bad" or "tool"
    at: int

    def script(self) -> Script:
        words: list[Any] = list(self.words)
        at = min(self.at, len(words))
        if self.fault == "ok":
            return Script(chunks=words)
        if self.fault == "stall":
            return Script(chunks=words, stall_at=at, stall_for=1000.0)
        if self.fault == "bad":
            return Script(chunks=[*words[:at], "BAD", *words[at:]])
        if self.fault == "tool":
            return Script(chunks=[*words[:at], tool_call(at), *words[at:]])
        return Script(chunks=words, fail_at=at, error=FAILURES[self.fault]())


@dataclass(frozen=True)
class Scenario:
    schedule: tuple[tuple[Attempt, ...], ...]
    retry: l0.Retry
    continuation: bool
    check_interval: int
    abort_after: int | None  # the consumer aborts after this many events
    veto_odd_attempts: bool  # should_retry vetoes odd attempts
    custom_delay: bool  # calculate_delay halves the default
    context: dict[str, Any] = field(default_factory=dict)


words = st.lists(st.sampled_from(["al", "be", "ga", " ", "de", "l0"]), min_size=1, max_size=6)
attempts = st.builds(
    Attempt,
    words=words.map(tuple),
    fault=st.sampled_from(
        ["ok", "ok", "reset", "429", "503", "401", "model", "dropped", "stall", "bad", "tool"]
    ),
    at=st.integers(0, 6),
)
retries = st.builds(
    l0.Retry,
    attempts=st.integers(0, 2),
    max_retries=st.integers(0, 3),
    base_delay=st.just(0.25),
    strategy=st.sampled_from([l0.BackoffStrategy.FIXED_JITTER, l0.BackoffStrategy.FULL_JITTER]),
)
scenarios = st.builds(
    Scenario,
    schedule=st.lists(
        st.lists(attempts, min_size=1, max_size=4).map(tuple), min_size=1, max_size=3
    ).map(tuple),
    retry=retries,
    continuation=st.booleans(),
    check_interval=st.integers(1, 3),
    abort_after=st.none() | st.integers(1, 12),
    veto_odd_attempts=st.booleans(),
    custom_delay=st.booleans(),
    context=st.just({"request_id": "req-1", "api_key": "sk-live-0123456789abcdef0123"}),
)

BACKENDS = {
    "asyncio": lambda: ("asyncio", {"loop_factory": looptime.new_event_loop}),
    "trio": lambda: ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}),
}


@dataclass
class Outcome:
    stream: l0.Stream
    factories: list[ScriptedFactory]
    events: list[l0.Event]
    lifecycle: list[l0.ObservabilityEvent]
    error: BaseException | None
    recorded: Any = None  # the store's envelopes, when recording


def _retry(scenario: Scenario) -> l0.Retry:
    retry = scenario.retry
    should_retry = None
    calculate_delay = None
    if scenario.veto_odd_attempts:

        async def should_retry(
            error: BaseException, state: l0.State, attempt: int, category: Any
        ) -> bool:
            await anyio.sleep(0.01)
            return attempt % 2 == 0

    if scenario.custom_delay:

        def calculate_delay(context: dict[str, Any]) -> float:
            return float(context["default_delay"]) / 2

    return l0.Retry(
        attempts=retry.attempts,
        max_retries=retry.max_retries,
        base_delay=retry.base_delay,
        strategy=retry.strategy,
        should_retry=should_retry,
        calculate_delay=calculate_delay,
    )


async def play(scenario: Scenario, store: Any = None) -> Outcome:
    factories = [ScriptedFactory(*(a.script() for a in plan)) for plan in scenario.schedule]
    lifecycle: list[l0.ObservabilityEvent] = []
    stream = await l0.run(
        stream=factories[0],
        fallbacks=factories[1:],
        retry=_retry(scenario),
        guardrails=[NO_BAD],
        check_interval=scenario.check_interval,
        timeout=l0.Timeout(initial_token=1000, inter_token=1000),
        continue_from_last_good_token=scenario.continuation,
        on_event=lifecycle.append,
        context=dict(scenario.context),
        event_store=store,
    )
    events: list[l0.Event] = []
    error: BaseException | None = None
    try:
        async for event in stream:
            events.append(event)
            if scenario.abort_after is not None and len(events) == scenario.abort_after:
                stream.abort()
    except l0.Error as exc:
        error = exc
    recorded = None
    if store is not None:
        (stream_id,) = await store.list_streams()
        recorded = await store.read(stream_id)
    return Outcome(stream, factories, events, lifecycle, error, recorded)


def run_scenario(scenario: Scenario, backend: str, store: Any = None) -> Outcome:
    name, options = BACKENDS[backend]()
    outcome: Outcome = anyio.run(play, scenario, store, backend=name, backend_options=options)
    return outcome
