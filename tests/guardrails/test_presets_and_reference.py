"""The reference's Guardrails section: built-in rules, presets, rule details, custom rules,
violation handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0 import GuardrailRule, GuardrailViolation
from l0.guardrails.presets import Guardrails
from l0.testing.scripted import Script, ScriptedFactory
from l0.types import State

# -- built-in rules and the rule details table ---------------------------------------------


@pytest.mark.parametrize(
    ("make", "name", "streaming", "severity"),
    [
        (Guardrails.json, "json", True, "error"),
        (Guardrails.strict_json, "strict_json", False, "error"),
        (Guardrails.pattern, "pattern", True, "warning"),
        (Guardrails.zero_output, "zero_output", False, "error"),
        (Guardrails.stall, "stall", True, "warning"),
        (Guardrails.repetition, "repetition", True, "error"),
    ],
)
def test_rule_details_table(make: object, name: str, streaming: bool, severity: str) -> None:
    rule = make()  # type: ignore[operator]
    assert isinstance(rule, GuardrailRule)
    assert (rule.name, rule.streaming, rule.severity, rule.recoverable) == (
        name, streaming, severity, True,
    )
    assert rule.description
    assert rule.session is not None  # every built-in rule has an incremental form


def test_rules_take_the_documented_parameters() -> None:
    assert Guardrails.pattern([r"secret"]).check(State(content="a secret", completed=True))
    assert Guardrails.stall(max_gap=2.5).name == "stall"
    assert Guardrails.repetition(window=500, threshold=4).name == "repetition"


def test_recommended_is_json_pattern_zero_output() -> None:
    assert [rule.name for rule in Guardrails.recommended()] == ["json", "pattern", "zero_output"]


def test_strict_has_every_rule_including_drift() -> None:
    names = [rule.name for rule in Guardrails.strict()]
    assert names == [
        "json", "pattern", "zero_output", "stall", "repetition", "markdown", "latex", "drift",
    ]


def test_json_only_and_none() -> None:
    assert [rule.name for rule in Guardrails.json_only()] == ["json", "strict_json"]
    assert Guardrails.none() == []


def test_presets_return_fresh_lists() -> None:
    first = Guardrails.recommended()
    first.clear()
    assert len(Guardrails.recommended()) == 3


# -- GuardrailRule and GuardrailViolation as the reference declares them --------------------


def test_guardrail_rule_fields_and_defaults() -> None:
    rule = GuardrailRule(name="r", check=lambda state: [])
    assert (rule.description, rule.streaming, rule.severity, rule.recoverable) == (
        None, True, "error", True,
    )
    assert [f.name for f in fields(GuardrailRule)][:6] == [
        "name", "check", "description", "streaming", "severity", "recoverable",
    ]


def test_guardrail_violation_fields_and_defaults() -> None:
    violation = GuardrailViolation(rule="r", message="m", severity="warning")
    assert (violation.recoverable, violation.position, violation.timestamp, violation.context,
            violation.suggestion) == (True, None, None, None, None)
    assert l0.Violation is GuardrailViolation


# -- custom guardrails: the reference's example, verbatim ------------------------------------


def max_length_rule(limit: int = 1000) -> GuardrailRule:
    """Detect output exceeding length limit."""

    def check(state: State) -> list[GuardrailViolation]:
        if len(state.content) > limit:
            return [GuardrailViolation(
                rule="max_length",
                message=f"Output exceeds {limit} chars",
                severity="error",
                recoverable=True,
            )]
        return []

    return GuardrailRule(
        name="max_length",
        check=check,
        description="Detects output exceeding length limit",
        streaming=True,
        severity="error",
        recoverable=True,
    )


def test_custom_rule_check() -> None:
    rule = max_length_rule(10)
    assert rule.check(State(content="short")) == []
    [violation] = rule.check(State(content="much too long for ten"))
    assert violation.message == "Output exceeds 10 chars"


NO_DELAY = l0.Retry(attempts=2, calculate_delay=lambda context: 0.0)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_custom_rule_in_a_run_passes_short_output() -> None:
    my_stream = ScriptedFactory(Script.tokens("A short answer.", size=3))
    result = await l0.run(stream=my_stream, guardrails=[max_length_rule(500)])
    assert await result.read() == "A short answer."
    assert result.state.violations == []


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_custom_rule_in_a_run_stops_long_output_and_retries() -> None:
    long_text = "word " * 200  # 1000 characters
    my_stream = ScriptedFactory(Script.tokens(long_text, size=5), Script.tokens("Short.", size=2))
    result = await l0.run(stream=my_stream, guardrails=[max_length_rule(500)], retry=NO_DELAY)
    assert await result.read() == "Short."
    assert my_stream.calls == 2
    assert [v.rule for v in result.state.violations] == ["max_length"]


# -- violation handling ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_violation_handling_example() -> None:
    text = "As an AI language model, I think the answer is 42. I hope this helps!"
    result = await l0.run(
        stream=ScriptedFactory(Script.tokens(text, size=4)),
        guardrails=[Guardrails.pattern()],
    )
    assert await result.read() == text  # warnings are recorded, nothing more
    lines = []
    for violation in result.state.violations:
        lines.append(f"[{violation.severity}] {violation.rule}: {violation.message}")
        if not violation.recoverable:
            lines.append("  Fatal - cannot retry")
    assert lines == [
        "[warning] pattern: Matched meta commentary phrase: 'As an AI'",
        "[warning] pattern: Matched filler phrase: 'I hope this helps'",
    ]


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_recommended_preset_in_a_run_retries_broken_json() -> None:
    factory = ScriptedFactory(
        Script.tokens('{"a": [1, 2}', size=3), Script.tokens('{"a": [1, 2]}', size=3)
    )
    result = await l0.run(stream=factory, guardrails=Guardrails.recommended(), retry=NO_DELAY)
    assert await result.read() == '{"a": [1, 2]}'
    assert [v.rule for v in result.state.violations] == ["json"]
    assert factory.calls == 2


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_recommended_preset_in_a_run_fails_on_empty_output() -> None:
    factory = ScriptedFactory(Script(chunks=[" ", "\n"]))
    result = await l0.run(stream=factory, guardrails=Guardrails.recommended(), retry=NO_DELAY)
    with pytest.raises(l0.Error) as caught:
        await result.read()
    assert caught.value.code is l0.ErrorCode.ZERO_OUTPUT
    assert {v.rule for v in caught.value.violations} == {"zero_output"}


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_stall_rule_in_a_run_records_a_warning() -> None:
    factory = ScriptedFactory(Script(chunks=["a", "b", "c", "d", "e"], stall_at=3, stall_for=8.0))
    result = await l0.run(stream=factory, guardrails=[Guardrails.stall(max_gap=5.0)],
                          check_interval=1)
    assert await result.read() == "abcde"
    [violation] = result.state.violations
    assert (violation.rule, violation.severity) == ("stall", "warning")
    assert violation.context is not None
    assert violation.context["gap"] == pytest.approx(8.0, abs=0.01)


async def _paced(delays: list[float]) -> AsyncIterator[str]:
    """Token i after `delays[i]` seconds; a last extra delay is a wait before the end."""
    for index, delay in enumerate(delays):
        await anyio.sleep(delay)
        if index < len(delays) - 1:
            yield f"t{index} "


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_stall_catches_one_pause_among_quick_tokens() -> None:
    """One 9 s pause among 29 instant tokens, with the default check interval (15 tokens):
    the real gap is measured, not an average over the interval."""
    delays = [0.0] * 10 + [9.0] + [0.0] * 20
    result = await l0.run(stream=lambda: _paced(delays), guardrails=[Guardrails.stall(max_gap=5.0)])
    await result.read()
    [violation] = result.state.violations
    assert violation.context is not None
    assert violation.context["gap"] == pytest.approx(9.0, abs=0.01)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_stall_counts_the_wait_before_the_end() -> None:
    """Tokens arrive quickly, then the provider is silent for 7 s before it ends the stream."""
    result = await l0.run(
        stream=lambda: _paced([0.0, 0.0, 0.0, 7.0]), guardrails=[Guardrails.stall(max_gap=5.0)]
    )
    assert await result.read() == "t0 t1 t2 "
    [violation] = result.state.violations
    assert violation.context is not None
    assert violation.context["gap"] == pytest.approx(7.0, abs=0.01)


@settings(max_examples=40, deadline=None)
@given(
    delays=st.lists(st.sampled_from([0.0, 0.5, 2.0, 4.0, 6.0, 11.0]), min_size=2, max_size=30),
    interval=st.integers(1, 20),
    backend=st.sampled_from(["asyncio", "trio"]),
)
def test_stall_reports_exactly_the_longest_gap_above_max_gap(
    delays: list[float], interval: int, backend: str
) -> None:
    """Any pacing, any check interval: a stall is recorded iff some gap (between two tokens,
    or before the end) exceeds max_gap, and the largest recorded gap is the longest one.
    The time before the first token is the first-token timeout's business, not a stall."""
    import looptime
    import trio.testing

    options: dict[str, object] = (
        {"loop_factory": looptime.new_event_loop}
        if backend == "asyncio"
        else {"clock": trio.testing.MockClock(autojump_threshold=0)}
    )

    async def play() -> l0.State:
        result = await l0.run(
            stream=lambda: _paced(delays),
            guardrails=[Guardrails.stall(max_gap=5.0)],
            check_interval=interval,
            timeout=l0.Timeout(initial_token=60_000, inter_token=60_000),
        )
        await result.read()
        return result.state

    state = anyio.run(play, backend=backend, backend_options=options)
    longest = max(delays[1:])  # gaps after the first token, the wait before the end included
    gaps = [v.context["gap"] for v in state.violations if v.context is not None]
    if longest > 5.0:
        assert gaps and max(gaps) == pytest.approx(longest, abs=0.01)
    else:
        assert gaps == []


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_recorded_run_with_a_stall_replays_to_the_same_violation() -> None:
    """Recording keeps working with the stall rule's gap keeping, and the replay (fed the
    recorded clock) finds the same stall."""
    from l0.eventsourcing import InMemoryEventStore
    from l0.eventsourcing.replayer import EventReplayer

    store = InMemoryEventStore()
    result = await l0.run(
        stream=lambda: _paced([0.0, 0.0, 6.0, 0.0]),
        guardrails=[Guardrails.stall(max_gap=5.0)],
        event_store=store,
    )
    assert await result.read() == "t0 t1 t2 "
    [live] = result.state.violations
    assert result.stream_id is not None
    replayed = await EventReplayer(store).replay(result.stream_id)
    assert replayed.divergence() is None
    [again] = replayed.state.violations
    assert (again.message, again.context) == (live.message, live.context)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_stall_counts_gaps_between_whole_messages_too() -> None:
    """A stream of MESSAGE events (whole messages, not tokens): quick messages are no stall,
    a 6 s silence between two of them is."""

    async def messages(pause: float) -> AsyncIterator[l0.Event]:
        for index in range(4):
            await anyio.sleep(pause if index == 2 else 0.5)
            yield l0.Event(type=l0.EventType.MESSAGE, text=f"m{index} ")

    for pause, expected in ((0.5, []), (6.0, [pytest.approx(6.0, abs=0.01)])):
        result = await l0.run(
            stream=lambda pause=pause: messages(pause), guardrails=[Guardrails.stall(max_gap=5.0)]
        )
        assert await result.read() == "m0 m1 m2 m3 "
        assert [v.context["gap"] for v in result.state.violations if v.context] == expected
