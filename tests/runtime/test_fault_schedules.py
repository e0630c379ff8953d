"""Hypothesis: generated fault schedules through the whole runtime, on both event loops.

Each example is a run over up to three stream factories (a primary and fallbacks) whose
attempts succeed, raise one of several error classes at a random token, go silent, or emit
text a guardrail rejects. Whatever happens, the run must end in `complete` or `error`, stay
within its retry budgets by the counting rules, keep exactly the text of the attempt that
succeeded, close every stream it opened, and move only along declared edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import looptime
import trio.testing
from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.machines import load_spec
from l0.routes import InMemoryRouteHealth, with_route
from l0.testing.scripted import Script, ScriptedFactory


class RateLimited(Exception):
    status_code = 429


class Unavailable(Exception):
    status_code = 503


class Unauthorized(Exception):
    status_code = 401


FAILURES: dict[str, Any] = {
    "reset": lambda: ConnectionResetError("connection reset by peer"),
    "429": lambda: RateLimited("rate limited"),
    "503": lambda: Unavailable("service unavailable"),
    "401": lambda: Unauthorized("bad key"),
    "model": lambda: ValueError("the model refused"),
}
COUNTED = {"model", "bad"}  # failures that count toward `attempts`
RETRIED = {"reset", "429", "503", "model", "bad", "stall"}


def reject_bad(state: l0.State) -> list[l0.GuardrailViolation]:
    if "BAD" in state.content:
        return [l0.GuardrailViolation(rule="no_bad", message="BAD", severity="error")]
    return []


@dataclass(frozen=True)
class Attempt:
    words: tuple[str, ...]
    fault: str  # "ok", a FAILURES key, "stall" or "bad"
    at: int

    def script(self) -> Script:
        words = list(self.words)
        at = min(self.at, len(words))
        if self.fault == "ok":
            return Script(chunks=words)
        if self.fault == "stall":
            return Script(chunks=words, stall_at=at, stall_for=1000.0)
        if self.fault == "bad":
            return Script(chunks=[*words[:at], "BAD", *words[at:]])
        return Script(chunks=words, fail_at=at, error=FAILURES[self.fault]())


words = st.lists(st.sampled_from(["al", "be", "ga", " ", "de", "l0"]), min_size=1, max_size=6)
attempts = st.builds(
    Attempt,
    words=words.map(tuple),
    fault=st.sampled_from(["ok", "ok", "reset", "429", "503", "401", "model", "stall", "bad"]),
    at=st.integers(0, 6),
)
schedules = st.lists(st.lists(attempts, min_size=1, max_size=4), min_size=1, max_size=3)
retries = st.builds(
    l0.Retry,
    attempts=st.integers(0, 2),
    max_retries=st.integers(0, 3),
    base_delay=st.just(0.25),
    strategy=st.just(l0.BackoffStrategy.FIXED),
)
BACKENDS = {
    "asyncio": lambda: ("asyncio", {"loop_factory": looptime.new_event_loop}),
    "trio": lambda: ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}),
}
DECLARED = {(e.source, e.trigger, e.dest) for e in load_spec("runtime").edges}


async def play(schedule: list[list[Attempt]], retry: l0.Retry, routed: bool) -> dict[str, Any]:
    factories = [ScriptedFactory(*(a.script() for a in plan)) for plan in schedule]
    # Routed: the factories name their routes and share a fresh route health store, which
    # may skip a route that failed twice in a row (never the last one).
    streams: list[Any] = (
        [with_route(f, f"route-{i}") for i, f in enumerate(factories)] if routed else factories
    )
    result = await l0.run(
        stream=streams[0],
        fallbacks=streams[1:],
        route_health=InMemoryRouteHealth() if routed else False,
        retry=retry,
        guardrails=[l0.GuardrailRule(name="no_bad", check=reject_bad)],
        check_interval=1,
        timeout=l0.Timeout(initial_token=1000, inter_token=1000),
    )
    seen: list[str] = []
    error: BaseException | None = None
    try:
        async for event in result:
            if event.is_token:
                seen.append(event.text or "")
            elif event.is_reset:
                kept = event.data["kept"] if event.data else 0
                text = "".join(seen)[:kept]
                seen[:] = [text] if text else []
    except l0.Error as exc:
        error = exc
    return {"result": result, "factories": factories, "seen": "".join(seen), "error": error}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    schedule=schedules,
    retry=retries,
    backend=st.sampled_from(sorted(BACKENDS)),
    routed=st.booleans(),
)
def test_any_fault_schedule_keeps_the_runtime_invariants(
    schedule: list[list[Attempt]], retry: l0.Retry, backend: str, routed: bool
) -> None:
    """The runtime's invariants hold for any schedule of faults, on both loops, with and
    without route health."""
    name, options = BACKENDS[backend]()
    outcome = anyio.run(play, schedule, retry, routed, backend=name, backend_options=options)
    result: l0.Stream = outcome["result"]
    factories: list[ScriptedFactory] = outcome["factories"]
    core = result._core
    assert core is not None

    # The run ends, in one of the two terminal states, along declared edges only.
    assert core.phase in ("complete", "error")
    assert set(core.visits) <= DECLARED
    # Every stream that was opened was closed.
    assert all(f.all_closed for f in factories)

    # Budgets, per factory, by the counting rules.
    for index, factory in enumerate(factories):
        plan = schedule[index]
        played = [plan[min(i, len(plan) - 1)] for i in range(factory.calls)]
        retried = played[:-1] if factory.calls else []
        assert all(a.fault in RETRIED for a in retried)
        assert len(retried) <= retry.max_retries
        assert sum(a.fault in COUNTED for a in retried) <= retry.attempts

    if core.phase == "complete":
        # The surviving text is exactly the text of the attempt that succeeded, and what the
        # consumer assembled from tokens and RESETs agrees with it.
        last_factory = factories[core.factory_index]
        plan = schedule[core.factory_index]
        winner = plan[min(last_factory.calls - 1, len(plan) - 1)]
        assert winner.fault == "ok"
        assert result.state.content == "".join(winner.words)
        assert outcome["seen"] == result.state.content
        assert outcome["error"] is None
    else:
        assert isinstance(outcome["error"], l0.Error)
        assert result.state.completed is False
