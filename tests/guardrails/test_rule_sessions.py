"""Incremental sessions against full checks: same findings whatever the split, no re-reading
of the content while streaming, no state shared between streams."""

from __future__ import annotations

import itertools

from hypothesis import given, settings, strategies as st

from l0.drift import DriftDetector
from l0.guardrails.presets import Guardrails
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.types import State

FRAGMENTS = [
    "The report covers the last quarter in detail. ",
    "Revenue grew while costs stayed flat. ",
    "We will review the numbers again. ",
    "As an AI language model, ",
    "I hope this helps. ",
    "as an AI researcher ",
    "{", "}", "[", "]", '"', "\\", ", ", ": ", "\n",
    "```python\n", "```\n", "print(1)\n",
    "| a | b |\n", "|---|---|\n", "| 1 |\n",
    "- item\n", "* item\n", "1. first\n", "3. third\n",
    "\\begin{itemize}", "\\end{itemize}", "\\end{align}", "`\\begin{x}`",
    "lol!! this is sooo cool 😂 gonna try it ",
    "x8#kQ!2@vZ%^&*()_+=-}{|;'<>?/~`Wq9$Lm3&Rt7!Bn4*Hs6^Gd1#Jf0@Kp5%Ux2-Yc8+Ze3=",
]
TEXTS = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
JSONISH = st.lists(st.sampled_from(['{"a": ', "[1, 2", "]", "}", '"x}"', ", ", '"\\"', "{"]),
                   max_size=20).map("".join)


def all_rules() -> list[GuardrailRule]:
    return [
        Guardrails.json(),
        Guardrails.strict_json(),
        Guardrails.pattern(),
        Guardrails.zero_output(),
        Guardrails.repetition(),
        Guardrails.markdown(),
        Guardrails.latex(),
        DriftDetector().as_rule(),
    ]


RULES = all_rules()
BATCHED = {"pattern", "drift"}  # report a little later while streaming (see their docs)


def key(violations: list[GuardrailViolation]) -> list[tuple[object, ...]]:
    return sorted(
        ((v.rule, v.message, v.severity, v.recoverable, v.position, repr(v.context))
         for v in violations),
        key=repr,
    )


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted({c % (len(text) + 1) for c in cuts}), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b]


def run_session(rule: GuardrailRule, pieces: list[str], *, finish: bool) -> list[
    GuardrailViolation
]:
    assert rule.session is not None
    session = rule.session()
    state = State()
    found: list[GuardrailViolation] = []
    for piece in pieces:
        state.content = state.content + piece
        if rule.streaming:
            found.extend(session.feed(piece, state))
    if finish:
        state.completed = True
        if not rule.streaming:
            session.feed("".join(pieces), state)
        found.extend(session.finish(state))
    return found


@settings(max_examples=150, deadline=None)
@given(st.one_of(TEXTS, JSONISH), st.lists(st.integers(0, 10_000), max_size=30))
def test_session_over_any_split_equals_the_full_check(text: str, cuts: list[int]) -> None:
    pieces = split(text, cuts)
    for rule in RULES:
        expected = key(rule.check(State(content=text, completed=True)))
        assert key(run_session(rule, pieces, finish=True)) == expected, rule.name


@settings(max_examples=100, deadline=None)
@given(st.one_of(TEXTS, JSONISH), st.lists(st.integers(0, 10_000), max_size=30))
def test_mid_stream_session_equals_the_check_of_incomplete_output(
    text: str, cuts: list[int]
) -> None:
    pieces = split(text, cuts)
    for rule in RULES:
        if not rule.streaming:
            continue
        expected = key(rule.check(State(content=text)))
        found = key(run_session(rule, pieces, finish=False))
        if rule.name in BATCHED:
            assert set(found) <= set(expected), rule.name
        else:
            assert found == expected, rule.name


class ContentForbidden(State):
    """A state whose full content must not be read (a streaming check must use the delta)."""

    __slots__ = ()

    @property  # type: ignore[override]
    def content(self) -> str:
        raise AssertionError("a streaming session read state.content")


def test_streaming_sessions_never_read_the_whole_content() -> None:
    text = "".join(FRAGMENTS) * 3
    state = ContentForbidden()
    for rule in Guardrails.strict():
        assert rule.session is not None, rule.name
        if not rule.streaming:
            continue
        session = rule.session()
        for start in range(0, len(text), 7):
            session.feed(text[start : start + 7], state)


def test_one_rule_list_serves_interleaved_streams() -> None:
    rules = Guardrails.strict()
    first = '{"items": [' + ", ".join(f'"item {i}"' for i in range(40)) + "]}}"
    second = "Hello. " + "We will review the numbers again. " * 5 + "As an AI, I think."

    def alone(text: str) -> list[tuple[object, ...]]:
        return key([v for rule in rules for v in run_session(rule, [text], finish=True)])

    sessions = [(rule, rule.session(), rule.session()) for rule in rules if rule.session]
    state_a, state_b = State(), State()
    found_a: list[GuardrailViolation] = []
    found_b: list[GuardrailViolation] = []
    for start in range(0, max(len(first), len(second)), 5):
        piece_a, piece_b = first[start : start + 5], second[start : start + 5]
        for rule, session_a, session_b in sessions:
            if rule.streaming:
                found_a.extend(session_a.feed(piece_a, state_a))
                found_b.extend(session_b.feed(piece_b, state_b))
    state_a.content, state_b.content = first, second
    for _rule, session_a, session_b in sessions:
        found_a.extend(session_a.finish(state_a))
        found_b.extend(session_b.finish(state_b))
    assert key(found_a) == alone(first)
    assert key(found_b) == alone(second)
    assert {v.rule for v in found_b} >= {"repetition", "pattern", "drift"}
    assert {v.rule for v in found_a} == {"json"}
