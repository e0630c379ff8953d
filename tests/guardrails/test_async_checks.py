"""Async checks: small content checked inline, large content in a worker thread."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from l0 import GuardrailRule, GuardrailViolation, State
from l0.guardrails.async_checks import run_checks
from l0.guardrails.presets import Guardrails

pytestmark = pytest.mark.anyio


def thread_recording_rule(seen: list[tuple[int, str]]) -> GuardrailRule:
    def check(state: State) -> list[GuardrailViolation]:
        seen.append((threading.get_ident(), state.content[-5:]))
        return [
            GuardrailViolation(rule="spy", message=f"{state.content_length}", severity="warning")
        ]

    return GuardrailRule(name="spy", check=check)


async def test_small_content_is_checked_inline() -> None:
    seen: list[tuple[int, str]] = []
    state = State(content="x" * 100)
    found = await run_checks([thread_recording_rule(seen)], state)
    assert [v.message for v in found] == ["100"]
    assert seen == [(threading.get_ident(), "xxxxx")]


async def test_large_content_is_checked_in_a_worker_thread() -> None:
    seen: list[tuple[int, str]] = []
    state = State(content="x" * 20_000)
    found = await run_checks([thread_recording_rule(seen)], state)
    assert [v.message for v in found] == ["20000"]
    assert seen[0][0] != threading.get_ident()


async def test_threshold_is_configurable() -> None:
    seen: list[tuple[int, str]] = []
    await run_checks([thread_recording_rule(seen)], State(content="x" * 100), threshold=50)
    assert seen[0][0] != threading.get_ident()


async def test_the_worker_thread_sees_a_snapshot_of_the_state() -> None:
    started = threading.Event()
    release = threading.Event()
    seen: list[str] = []

    def slow_check(state: State) -> list[GuardrailViolation]:
        started.set()
        release.wait(5)
        seen.append(state.content[-6:])
        return []

    state = State(content="a" * 20_000)
    async with anyio.create_task_group() as group:
        group.start_soon(run_checks, [GuardrailRule(name="slow", check=slow_check)], state)
        await anyio.to_thread.run_sync(started.wait, 5)
        state.content = state.content + " later"  # the live state moves on
        release.set()
    assert seen == ["aaaaaa"]
    assert state.content.endswith(" later")


async def test_every_rule_runs_and_violations_come_in_rule_order() -> None:
    state = State(content="As an AI language model, I refuse. " * 400, completed=True)
    rules = [Guardrails.pattern(), Guardrails.repetition()]
    found = await run_checks(rules, state)
    assert [v.rule for v in found] == ["pattern", "repetition"]


async def test_an_exception_in_a_rule_propagates() -> None:
    def broken(state: State) -> list[GuardrailViolation]:
        raise ValueError("rule bug")

    for size in (10, 20_000):
        with pytest.raises(ValueError, match="rule bug"):
            await run_checks(
                [GuardrailRule(name="broken", check=broken)], State(content="x" * size)
            )


# The reference's Async Checks example, verbatim (it is written for asyncio).


async def process_with_async_guardrails(content: str, state: State):  # type: ignore[no-untyped-def]
    """Example of async guardrail pattern."""
    rules = Guardrails.recommended()

    # For small content, check synchronously (fast path)
    if len(content) < 10000:
        for rule in rules:
            violations = rule.check(state)
            if violations:
                return violations
        return []

    # For large content, defer to avoid blocking (slow path)
    loop = asyncio.get_event_loop()
    future = loop.create_future()

    def run_check():  # type: ignore[no-untyped-def]
        try:
            all_violations = []
            for rule in rules:
                all_violations.extend(rule.check(state))
            loop.call_soon_threadsafe(future.set_result, all_violations)
        except Exception as e:
            loop.call_soon_threadsafe(future.set_exception, e)

    loop.call_soon(run_check)
    return await future


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_reference_async_checks_example(anyio_backend: str) -> None:
    empty = State(content="", completed=True)
    [violation] = await process_with_async_guardrails(empty.content, empty)
    assert violation.rule == "zero_output"

    large = State(content='{"a": ' + "1" * 20_000 + "]", completed=True)
    found = await process_with_async_guardrails(large.content, large)
    assert [v.rule for v in found] == ["json"]
    assert await run_checks(Guardrails.recommended(), large) == found
