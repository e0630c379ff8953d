"""When the guardrail engine's groups run: `due` against the plain rule.

`GuardrailEngine.due(count)` looks the answer up in a table over the intervals' common
multiple (it runs every few tokens); the reference is the plain rule, "some group's
interval divides `count`". Intervals whose common multiple is too large for a table take
the plain loop.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from l0.guardrails._rule import make_rule
from l0.guardrails.engine import DUE_TABLE_LIMIT, GuardrailEngine
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.types import State


class _Silent:
    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        return []

    def finish(self, state: State) -> list[GuardrailViolation]:
        return []


class _Bus:
    active = False


def rule(name: str, every: int | None, *, streaming: bool = True) -> GuardrailRule:
    made = make_rule(name, _Silent, description=name, streaming=streaming, severity="error",
                     recoverable=True)
    made.check_every = every
    return made


@settings(max_examples=200)
@given(
    intervals=st.lists(st.one_of(st.none(), st.integers(1, 40), st.sampled_from([997, 1009])),
                       max_size=5),
    check_interval=st.integers(1, 30),
    drift=st.booleans(),
)
def test_due_is_some_interval_dividing_the_count(
    intervals: list[int | None], check_interval: int, drift: bool
) -> None:
    rules = [rule(f"r{i}", every) for i, every in enumerate(intervals)]
    rules.append(rule("final_only", 3, streaming=False))  # never streams: never due
    if drift:
        rules.append(rule("drift", None))  # every DRIFT_CHECK_INTERVAL tokens
    engine = GuardrailEngine(rules, bus=_Bus(), check_interval=check_interval)  # type: ignore[arg-type]
    every = engine.intervals
    for count in range(1, 3000):
        assert engine.due(count) == any(count % interval == 0 for interval in every)


def test_large_common_multiples_take_the_loop() -> None:
    engine = GuardrailEngine([rule("a", 997), rule("b", 1009)], bus=_Bus())  # type: ignore[arg-type]
    assert DUE_TABLE_LIMIT < 997 * 1009
    assert [count for count in range(1, 2100) if engine.due(count)] == [997, 1009, 1994, 2018]
