"""Failover between routes (`Retry.failover`): the core's decisions, table by table, and the
timing rules on a virtual clock (asyncio and trio).

With a fallback, a route that fails the same way twice in a row, stalls, stays silent, or asks
for a Retry-After beyond the limit is left for the next one at once (no backoff, no retry
budget). Without a fallback, `Retry` alone decides, as the reference says.
"""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.event_bus import EventBus
from l0.retry import Failover
from l0.runtime.core import Consult, Fail, Open, RunCore, Sleep
from l0.runtime.facts import START, WOKE, CallbackAnswered, DeadlinePassed, Failed
from l0.runtime.plan import make_plan
from l0.testing import Script, ScriptedFactory

FIXED = l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=1.0)


def never() -> Any:
    raise AssertionError("the core never calls factories")


def make_core(fallbacks: int = 1, **options: Any) -> RunCore:
    options.setdefault("retry", FIXED)
    plan = make_plan(never, l0.RunOptions(fallbacks=[never] * fallbacks, **options))
    bus = EventBus(plan.on_event, plan.context)
    return RunCore(plan, now=0.0, epoch=1_700_000_000.0, rng=random.Random(3), bus=bus)


class Unavailable(Exception):
    status_code = 503

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("503 service unavailable")
        if retry_after is not None:
            self.retry_after = retry_after


class RateLimited(Exception):
    status_code = 429


def stall() -> l0.TimeoutError:
    return l0.TimeoutError("silent", timeout_type="inter_token", timeout_seconds=1.0)


def guardrail() -> l0.Error:
    return l0.Error("bad", code=l0.ErrorCode.GUARDRAIL_VIOLATION)


# -- the core: which failures leave the route ---------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "decisions"),
    [
        # the same route failure twice in a row: retried once, then the next route, no wait
        ([Unavailable(), Unavailable()], [Sleep(1.0), Sleep(0.0)]),
        ([RateLimited(), RateLimited()], [Sleep(1.0), Sleep(0.0)]),
        ([ConnectionResetError(), ConnectionResetError()], [Sleep(1.0), Sleep(0.0)]),
        # different ways in a row are not "the same way twice"
        ([Unavailable(), RateLimited(), Unavailable()], [Sleep(1.0), Sleep(1.0), Sleep(1.0)]),
        # a stall or a silent start moves on at once
        ([stall()], [Sleep(0.0)]),
        (
            [l0.TimeoutError("x", timeout_type="initial_token", timeout_seconds=1.0)],
            [Sleep(0.0)],
        ),
        # a Retry-After within the limit is waited for once; beyond it, the next route now
        ([Unavailable(retry_after=2.0), Unavailable(retry_after=2.0)], [Sleep(2.0), Sleep(0.0)]),
        ([Unavailable(retry_after=30.0)], [Sleep(0.0)]),
        # content failures keep the attempts budget (3), then fall back
        ([guardrail()] * 4, [Sleep(1.0)] * 3 + [Sleep(0.0)]),
    ],
)
def test_when_the_route_is_left(errors: list[BaseException], decisions: list[Any]) -> None:
    """Each failure's decision with one fallback; the last one moves to it (factory 1)."""
    core = make_core()
    core.handle(START, 0.0)
    seen = []
    for now, error in enumerate(errors, start=1):
        seen.append(core.handle(Failed(error), float(now)))
        if core.phase == "retrying":
            core.handle(WOKE, float(now))
    assert seen == decisions
    left = decisions[-1] == Sleep(0.0)
    assert core.factory_index == (1 if left else 0)
    if left:
        assert core.phase == "fallback"
        retries = core.state.network_retry_count + core.state.model_retry_count
        assert retries == len(errors) - 1  # the switch itself is no retry
        assert core.handle(WOKE, 10.0) == Open(1, len(errors), None)


@pytest.mark.parametrize(
    "error", [Unavailable(), RateLimited(), ConnectionResetError(), Unavailable(retry_after=30.0)]
)
def test_without_a_fallback_the_reference_budget_decides(error: BaseException) -> None:
    """No next route: the same failure is retried until max_retries, as before."""
    core = make_core(fallbacks=0, retry=l0.Retry(strategy="fixed", base_delay=1.0, max_retries=4))
    core.handle(START, 0.0)
    kinds = []
    for now in range(1, 6):
        decision = core.handle(Failed(error), float(now))
        kinds.append(type(decision))
        if isinstance(decision, Sleep):
            core.handle(WOKE, float(now))
    assert kinds == [Sleep] * 4 + [Fail]


def test_the_last_route_is_retried_by_the_budget() -> None:
    """After the switch, the fallback (the last route) is retried like a run without one."""
    core = make_core(retry=l0.Retry(strategy="fixed", base_delay=1.0, max_retries=2))
    core.handle(START, 0.0)
    core.handle(Failed(Unavailable()), 1.0)
    core.handle(WOKE, 1.0)
    assert core.handle(Failed(Unavailable()), 2.0) == Sleep(0.0)
    core.handle(WOKE, 2.0)
    assert [type(core.handle(Failed(Unavailable()), 3.0 + i)) for i in range(1)] == [Sleep]
    core.handle(WOKE, 4.0)
    assert core.handle(Failed(Unavailable()), 5.0) == Sleep(1.0)
    core.handle(WOKE, 5.0)
    assert isinstance(core.handle(Failed(Unavailable()), 6.0), Fail)


@pytest.mark.parametrize(
    ("failover", "error", "expected"),
    [
        (Failover(same_failure_limit=3), Unavailable(), [Sleep(1.0), Sleep(1.0), Sleep(0.0)]),
        (Failover(same_failure_limit=1), Unavailable(), [Sleep(0.0)]),
        (Failover(stall_prefers_fallback=False), stall(), [Sleep(1.0), Sleep(0.0)]),
        (Failover(retry_after_limit=None), Unavailable(30.0), [Sleep(10.0), Sleep(0.0)]),
        (Failover(retry_after_limit=60), Unavailable(30.0), [Sleep(10.0), Sleep(0.0)]),
    ],
)
def test_the_rules_are_configuration(
    failover: Failover, error: BaseException, expected: list[Any]
) -> None:
    """Retry(failover=Failover(...)) changes the thresholds (Retry-After capped by max_delay)."""
    retry = l0.Retry(strategy="fixed", base_delay=1.0, failover=failover)
    core = make_core(retry=retry)
    core.handle(START, 0.0)
    seen = []
    while core.factory_index == 0:
        seen.append(core.handle(Failed(error), 1.0))
        core.handle(WOKE, 1.0)
    assert seen == expected


@pytest.mark.parametrize(
    "options",
    [{"same_failure_limit": 0}, {"stall_prefers_fallback": 1}, {"retry_after_limit": -1}],
)
def test_bad_failover_values_are_refused(options: dict[str, Any]) -> None:
    """A bad Failover field is an INVALID_ARGUMENT naming it."""
    with pytest.raises(l0.Error) as info:
        Failover(**options)
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert next(iter(options)) in str(info.value)
    with pytest.raises(l0.Error):
        l0.Retry(failover="fast")  # type: ignore[arg-type]


def test_should_retry_is_not_asked_about_a_switch() -> None:
    """Switching routes is not a retry: the user's should_retry is not consulted for it."""
    retry = l0.Retry(strategy="fixed", should_retry=lambda *a: True)
    core = make_core(retry=retry)
    core.handle(START, 0.0)
    # a retry: the user may veto
    assert isinstance(core.handle(Failed(Unavailable()), 1.0), Consult)
    core.handle(CallbackAnswered(True), 1.0)
    core.handle(WOKE, 1.0)
    assert core.handle(Failed(Unavailable()), 2.0) == Sleep(0.0)  # a switch: nobody is asked
    assert core.factory_index == 1


def test_a_stall_resumes_the_fallback_from_the_checkpoint() -> None:
    """With continuation on, the fallback opens after the text already delivered."""
    core = make_core(continue_from_last_good_token=True)
    core.handle(START, 0.0)
    for token in "Hello world":
        core.token(token, 0.5)
    assert core.handle(DeadlinePassed("inter_token", 1.0), 2.0) == Sleep(0.0)
    assert core.handle(WOKE, 2.0) == Open(1, 1, "Hello world")


# -- the routing rule against a reference model ---------------------------------------------------

KINDS = {
    "503": lambda: Unavailable(),
    "429": lambda: RateLimited(),
    "drop": lambda: ConnectionResetError("reset"),
    "stall": stall,
    "hold": lambda: Unavailable(retry_after=30.0),
    "guardrail": guardrail,
}


def reference_route(schedule: list[str], fallbacks: int, max_retries: int) -> list[str]:
    """What each failure leads to: "retry", "switch" or "fail" (the rules of retry.md)."""
    route, last, streak, retries, model_retries, out = 0, "", 0, 0, 0, []
    for kind in schedule:
        same_way = {"503": "server", "hold": "server"}.get(kind, kind)
        streak = streak + 1 if same_way == last else 1
        last = same_way
        more = route < fallbacks
        route_trouble = kind != "guardrail"
        leave = more and route_trouble and (kind in ("stall", "hold") or streak >= 2)
        budget = retries < max_retries and (kind != "guardrail" or model_retries < 3)
        if leave or (not budget and more):
            out.append("switch")
            route, last, streak, retries, model_retries = route + 1, "", 0, 0, 0
        elif budget:
            out.append("retry")
            retries += 1
            model_retries += kind == "guardrail"
        else:
            out.append("fail")
            break
    return out


@settings(max_examples=200)
@given(
    schedule=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=14),
    fallbacks=st.integers(0, 3),
    max_retries=st.integers(0, 5),
    tokens=st.lists(st.integers(0, 3), min_size=14, max_size=14),
)
def test_routing_agrees_with_the_reference_model(
    schedule: list[str], fallbacks: int, max_retries: int, tokens: list[int]
) -> None:
    """Any schedule of failures (with tokens between them): retry, switch or fail as modelled,
    and a switch never waits."""
    core = make_core(fallbacks=fallbacks, retry=l0.Retry(strategy="fixed", max_retries=max_retries))
    core.handle(START, 0.0)
    seen = []
    for step, kind in enumerate(schedule):
        for _ in range(tokens[step]):
            core.token("t", float(step))
        index = core.factory_index
        decision = core.handle(Failed(KINDS[kind]()), float(step))
        if isinstance(decision, Fail):
            seen.append("fail")
            break
        assert isinstance(decision, Sleep)
        switched = core.factory_index == index + 1
        assert not switched or decision.seconds == 0.0
        seen.append("switch" if switched else "retry")
        core.handle(WOKE, float(step))
    assert seen == reference_route(schedule, fallbacks, max_retries)


# -- the driver on a virtual clock -------------------------------------------------------------


def failing(error: BaseException, *, tokens: int = 0) -> Script:
    chunks = ["x"] * (tokens + 1)
    return Script(chunks=chunks, fail_at=tokens, error=error)


async def timed(**run_options: Any) -> tuple[str, float]:
    start = anyio.current_time()
    result = await l0.run(**run_options)
    text = await result.read()
    return text, anyio.current_time() - start


@pytest.mark.anyio
@pytest.mark.virtual_time
@pytest.mark.parametrize(
    "error",
    [Unavailable(retry_after=1.0), RateLimited(), ConnectionResetError("connection reset")],
    ids=["503-retry-after", "429", "drop"],
)
async def test_a_failing_primary_hands_over_within_the_goal(error: BaseException) -> None:
    """Default settings: the primary is tried twice, the fallback answers in under 4 s."""
    primary = ScriptedFactory(failing(error, tokens=3))
    backup = ScriptedFactory(Script.tokens("from the fallback"))
    text, took = await timed(stream=primary, fallbacks=[backup])
    assert text == "from the fallback"
    assert primary.calls == 2 and backup.calls == 1
    assert took <= 1.0 + 1e-6  # one backoff (fixed-jitter <= 1 s) or Retry-After 1 s


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_one_off_blip_is_retried_on_the_primary() -> None:
    """One failure then success: the primary answers, the fallback is never called."""
    primary = ScriptedFactory(failing(Unavailable()), Script.tokens("primary"))
    backup = ScriptedFactory(Script.tokens("fallback"))
    text, _ = await timed(stream=primary, fallbacks=[backup])
    assert text == "primary" and primary.calls == 2 and backup.calls == 0


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_stall_mid_stream_moves_on_after_one_timeout() -> None:
    """A stall costs the inter-token timeout once; the fallback resumes after the checkpoint."""
    primary = ScriptedFactory(Script.tokens("Hello ", stall_at=6, stall_for=100.0))
    backup = ScriptedFactory(Script.tokens("world"))
    text, took = await timed(
        stream=primary,
        fallbacks=[backup],
        timeout=l0.Timeout(inter_token=2000),
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=2),
    )
    assert text == "Hello world"
    assert took == pytest.approx(2.0)
    assert primary.calls == 1 and backup.calls == 1 and primary.all_closed


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_without_fallbacks_a_failing_route_keeps_the_reference_budget() -> None:
    """No fallback: the primary is retried max_retries times with backoff (6 by default)."""
    primary = ScriptedFactory(failing(RateLimited()))
    result = await l0.run(stream=primary, retry=l0.Retry(strategy="fixed", base_delay=0.5))
    with pytest.raises(l0.Error):
        await result.read()
    assert primary.calls == 7
