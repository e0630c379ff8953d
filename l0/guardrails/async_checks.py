"""Running full-content checks without blocking the event loop.

`run_checks` is the fast/slow path of the reference's "Async Checks": when the content is
smaller than `threshold` characters every rule's `check` runs inline (cheaper than a thread
hop); otherwise all of them run in an anyio worker thread, so tokens, timeouts and other tasks
keep moving meanwhile. Works on asyncio and trio.

The worker thread gets a snapshot of the state taken when `run_checks` is called (same
content and fields, a separate object), so tokens appended to the live state meanwhile cannot
change what the rules see halfway through. Every rule runs and all violations are returned,
in rule order; an exception from a rule propagates.
"""

from __future__ import annotations

from collections.abc import Sequence

from l0.guardrails.engine import DEFAULT_THREAD_THRESHOLD
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.types import State


def _check_all(rules: Sequence[GuardrailRule], state: State) -> list[GuardrailViolation]:
    found: list[GuardrailViolation] = []
    for rule in rules:
        found.extend(rule.check(state))
    return found


def _snapshot(state: State) -> State:
    copy = State()
    for name, value in state.to_dict().items():
        setattr(copy, name, list(value) if isinstance(value, list) else value)
    return copy


async def run_checks(
    rules: Sequence[GuardrailRule],
    state: State,
    *,
    threshold: int = DEFAULT_THREAD_THRESHOLD,
) -> list[GuardrailViolation]:
    """Run every rule's full `check(state)`; off the event loop when the content is large."""
    if state.content_length < threshold:
        return _check_all(rules, state)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(_check_all, tuple(rules), _snapshot(state))


__all__ = ["run_checks"]
