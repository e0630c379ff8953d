"""Each built-in rule: what it reports, when, with which severity; and its bad arguments."""

from __future__ import annotations

import re

import pytest
from sample_texts import ALL

import l0
from l0.guardrails.presets import Guardrails
from l0.guardrails.types import GuardrailRule, GuardrailViolation
from l0.types import State


def stream(rule: GuardrailRule, pieces: list[str], state: State | None = None) -> tuple[
    list[GuardrailViolation], list[GuardrailViolation]
]:
    """Feed `pieces` to a fresh session; (found while streaming, found at finish)."""
    state = state or State()
    session = rule.session() if rule.session else None
    assert session is not None
    during: list[GuardrailViolation] = []
    for piece in pieces:
        during.extend(session.feed(piece, state))
    state.content = "".join(pieces)
    return during, session.finish(state)


def done(content: str, **fields: object) -> State:
    return State(content=content, completed=True, **fields)  # type: ignore[arg-type]


# -- json ---------------------------------------------------------------------------------------


def test_json_rule_reports_an_impossible_closer_while_streaming() -> None:
    during, _ = stream(Guardrails.json(), ['{"a": [1, 2', "}", ', "b": 3}'])
    assert len(during) == 1
    violation = during[0]
    assert (violation.rule, violation.severity, violation.recoverable) == ("json", "error", True)
    assert violation.position == 11
    assert "expected ']'" in violation.message


def test_json_rule_judges_imbalance_only_at_the_end() -> None:
    during, final = stream(Guardrails.json(), ['{"a": [1, ', "2"])
    assert during == []
    assert len(final) == 1
    assert "2 unclosed bracket(s) ('{[')" in final[0].message
    _, final = stream(Guardrails.json(), ['{"a": "unterminated'])
    assert "string is never closed" in final[0].message


def test_json_rule_ignores_brackets_in_strings_and_non_json_output() -> None:
    assert Guardrails.json().check(done('{"s": "}]{["}')) == []
    assert Guardrails.json().check(done("The set {1, 2] is not JSON, and that is fine.")) == []
    assert Guardrails.json().check(done(ALL["json"])) == []


def test_json_rule_check_judges_the_end_only_for_complete_output() -> None:
    rule = Guardrails.json()
    assert rule.check(State(content='{"a": 1')) == []  # still streaming: may close later
    assert len(rule.check(done('{"a": 1'))) == 1
    assert len(rule.check(State(content='{"a": 1]'))) == 1  # impossible at any time


# -- strict_json --------------------------------------------------------------------------------


def test_strict_json_requires_json_loads_to_succeed() -> None:
    rule = Guardrails.strict_json()
    assert rule.streaming is False
    assert rule.check(State(content=' {"a": [1, 2]} ')) == []
    [violation] = rule.check(State(content='{"a": 1,}'))
    assert violation.rule == "strict_json"
    assert violation.severity == "error"
    assert violation.position == 8
    assert "Invalid JSON" in violation.message
    assert len(rule.check(State(content='Here it is: {"a": 1}'))) == 1
    assert len(rule.check(State(content=""))) == 1


def test_strict_json_session_judges_the_whole_content_at_the_end() -> None:
    rule = Guardrails.strict_json()
    assert rule.session is not None
    session = rule.session()
    assert session.feed('{"a":', State()) == []
    assert session.finish(State(content='{"a": 1}')) == []
    assert len(rule.session().finish(State(content='{"a":'))) == 1


# -- pattern ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phrase",
    [
        "As an AI language model, I cannot",
        "As an AI, I have no opinions",
        "as a large language model",
        "I'm just an AI",
        "I am an AI",
        "my knowledge cutoff",
        "As of my last update",
        "I cannot help with that",
        "I can’t assist with this",
        "I'm sorry, but I can't",
        "I am unable to help",
        "I hope this helps!",
        "It's important to note that",
        "Let me know if you have any other questions.",
        "Feel free to ask",
        "in today's fast-paced world",
        "let us delve into",
    ],
)
def test_pattern_rule_default_phrases(phrase: str) -> None:
    [violation] = Guardrails.pattern().check(done(f"Well. {phrase} and more."))
    assert violation.rule == "pattern"
    assert violation.severity == "warning"
    assert violation.context is not None
    assert violation.position == 6 + phrase.lower().find(violation.context["match"].lower())


def test_pattern_rule_ignores_ordinary_text() -> None:
    rule = Guardrails.pattern()
    for name, text in ALL.items():
        assert rule.check(done(text)) == [], name
    assert rule.check(done("As an AI researcher, I study models. I hope this is useful.")) == []


def test_pattern_rule_finds_a_phrase_split_across_many_pieces() -> None:
    text = "Sure. As an AI language model, I can't do that."
    pieces = [text[i : i + 2] for i in range(0, len(text), 2)]
    during, final = stream(Guardrails.pattern(), pieces)
    found = during + final
    assert [v.position for v in found] == [6]
    assert found[0].context == {"pattern": "meta commentary phrase", "match": "As an AI"}


def test_pattern_rule_reports_each_pattern_once() -> None:
    text = "I hope this helps. Really, I hope this helps."
    assert len(Guardrails.pattern().check(done(text))) == 1


def test_pattern_rule_with_custom_patterns_and_severity() -> None:
    rule = Guardrails.pattern([r"\bTODO\b", re.compile(r"lorem ipsum")], severity="error")
    assert rule.severity == "error"
    found = rule.check(done("todo: fill in. Lorem ipsum dolor. lorem ipsum again"))
    assert [(v.position, v.severity) for v in found] == [(0, "error"), (34, "error")]
    # str patterns are case-insensitive, compiled ones keep their flags ("Lorem" did not match)


def test_pattern_rule_word_boundary_waits_for_the_next_character() -> None:
    rule = Guardrails.pattern([r"\bcat\b"])
    during, final = stream(rule, ["the cat", "alog is long"])
    assert during == [] and final == []  # "catalog", not "cat"
    during, final = stream(rule, ["the cat"])
    assert during == [] and len(final) == 1  # at the very end, "cat" is a whole word


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ("As an AI", "list of regexes"),
        ([""], "non-empty"),
        ([3], "non-empty str or re.Pattern"),
        (["(unclosed"], "invalid regex"),
    ],
)
def test_pattern_rule_rejects_bad_patterns(patterns: object, message: str) -> None:
    with pytest.raises(l0.Error, match=message) as caught:
        Guardrails.pattern(patterns)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


def test_pattern_rule_rejects_bad_severity() -> None:
    with pytest.raises(l0.Error, match="severity"):
        Guardrails.pattern(severity="critical")  # type: ignore[arg-type]


# -- zero_output --------------------------------------------------------------------------------


def test_zero_output_flags_empty_and_whitespace_output() -> None:
    rule = Guardrails.zero_output()
    assert rule.streaming is False
    [empty] = rule.check(State(content=""))
    assert (empty.rule, empty.severity, empty.recoverable) == ("zero_output", "error", True)
    assert "no output" in empty.message
    [blank] = rule.check(State(content=" \n\t "))
    assert "only whitespace" in blank.message
    assert rule.check(State(content=" ok ")) == []


def test_zero_output_counts_tool_calls_as_output() -> None:
    state = State(content="", tool_calls=[{"name": "get_weather", "arguments": "{}"}])
    assert Guardrails.zero_output().check(state) == []


# -- stall --------------------------------------------------------------------------------------


def at(token_count: int, last: float, first: float = 100.0) -> State:
    return State(content="x" * token_count, token_count=token_count, first_token_at=first,
                 last_token_at=last)


def silent_for(gap: float) -> State:
    """A state whose run recorded `gap` seconds as its longest silence (the runtime keeps it)."""
    state = at(3, 101.0)
    state._longest_gap = gap
    return state


def test_stall_reports_the_longest_silence_once_as_a_warning() -> None:
    """"No tokens for max_gap seconds": the recorded longest gap, reported when it exceeds
    max_gap, once, and again only when a longer one comes."""
    session = Guardrails.stall(max_gap=2.0).session()  # type: ignore[misc]
    assert session.feed("abc", silent_for(2.0)) == []  # exactly max_gap: not a stall
    [violation] = session.feed("de", silent_for(4.0))
    assert (violation.rule, violation.severity, violation.recoverable) == ("stall", "warning", True)
    assert violation.context == {"gap": 4.0, "max_gap": 2.0}
    assert violation.position == 5 and "4.00s with no output" in violation.message
    assert session.feed("f", silent_for(4.0)) == []  # the same gap: already reported
    assert session.finish(silent_for(3.0)) == []
    [longer] = session.finish(silent_for(6.5))  # e.g. the wait before the end
    assert longer.context == {"gap": 6.5, "max_gap": 2.0}


def test_stall_check_of_a_hand_built_state_uses_the_average_gap() -> None:
    """`check(state)` on a state no run kept: the mean gap from first to last token."""
    rule = Guardrails.stall(max_gap=1.0)
    assert rule.check(at(5, 104.0)) == []  # 4 gaps in 4 s
    [violation] = rule.check(at(5, 120.0))
    assert "on average" in violation.message and violation.context == {"gap": 5.0, "max_gap": 1.0}
    assert rule.check(State(content="x")) == []  # no timing known
    assert len(rule.check(silent_for(1.5))) == 1  # a kept record wins over the average


def test_stall_rejects_bad_max_gap() -> None:
    for bad in (-1, "5", None, True):
        with pytest.raises(l0.Error, match="max_gap"):
            Guardrails.stall(max_gap=bad)  # type: ignore[arg-type]


# -- repetition ---------------------------------------------------------------------------------


def test_repetition_detects_a_sentence_loop_while_streaming() -> None:
    text = "Here is the plan for today. " + "We will review the numbers again. " * 6
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
    during, final = stream(Guardrails.repetition(), pieces)
    assert len(during) == 1 and final == []
    violation = during[0]
    assert (violation.rule, violation.severity, violation.recoverable) == (
        "repetition", "error", True,
    )
    assert violation.context is not None
    assert "review the numbers" in violation.context["unit"]
    # The loop starts at 28; the periodic stretch reaches back over ". " (the unit's ending).
    assert violation.position == 26


def test_repetition_detects_a_loop_without_punctuation() -> None:
    text = "and then the model said " * 8
    assert len(Guardrails.repetition().check(State(content=text))) == 1


def test_repetition_threshold_and_window() -> None:
    text = "Intro words here. " + "This line repeats again and again. " * 3
    assert len(Guardrails.repetition(threshold=3).check(done(text))) == 1
    assert Guardrails.repetition(threshold=4).check(done(text)) == []
    long_unit = "A rather long sentence that goes on for quite a while before ending. "
    looped = long_unit * 4
    assert len(Guardrails.repetition(window=1000).check(done(looped))) == 1
    assert Guardrails.repetition(window=150).check(done(looped)) == []  # 3 copies do not fit


def test_repetition_ignores_ordinary_text_and_single_word_lists() -> None:
    rule = Guardrails.repetition()
    for name, text in ALL.items():
        assert rule.check(done(text * 2)) == [], name  # a whole answer twice is not a loop
    assert rule.check(done("[" + "None, " * 30 + "None]")) == []
    assert rule.check(done("-" * 300)) == []
    assert rule.check(done("| --- | --- |\n" * 20)) == []


def test_repetition_rejects_bad_arguments() -> None:
    with pytest.raises(l0.Error, match="threshold"):
        Guardrails.repetition(threshold=1)
    with pytest.raises(l0.Error, match="window"):
        Guardrails.repetition(window=10)


# -- markdown and latex -------------------------------------------------------------------------


def test_markdown_rule_severities() -> None:
    rule = Guardrails.markdown()
    during, final = stream(rule, ["- a\n", "* b\n", "| x | y |\n|---|\n", "```py\nprint(1)\n"])
    assert [(v.context or {}).get("kind") for v in during] == ["list_marker", "table_columns"]
    assert {v.severity for v in during} == {"warning"}
    [unclosed] = final
    assert (unclosed.severity, (unclosed.context or {}).get("kind")) == ("error", "unclosed_fence")


def test_markdown_rule_accepts_realistic_answers() -> None:
    rule = Guardrails.markdown()
    for name, text in ALL.items():
        assert rule.check(done(text)) == [], name


def test_latex_rule_reports_order_errors_mid_stream_and_imbalance_at_the_end() -> None:
    rule = Guardrails.latex()
    during, final = stream(rule, ["\\begin{a}\n\\begin{b}\n", "\\end{a}\n", "\\begin{c}\n"])
    assert [(v.context or {}).get("kind") for v in during] == ["mismatched_end"]
    assert [(v.context or {}).get("kind") for v in final] == ["unclosed_environment"]
    assert {v.severity for v in during + final} == {"error"}


def test_latex_rule_accepts_realistic_answers() -> None:
    rule = Guardrails.latex()
    for name, text in ALL.items():
        assert rule.check(done(text)) == [], name


def test_pattern_rule_waits_for_context_after_a_match_until_the_output_is_complete() -> None:
    rule = Guardrails.pattern()
    text = "Honestly, as an AI, I"
    assert rule.check(State(content=text)) == []  # "AI" might still become "AI researcher"
    assert len(rule.check(done(text))) == 1
    assert len(rule.check(State(content=text + " would rather not say so."))) == 1


def test_pattern_rule_default_phrases_talk_about_the_model_itself() -> None:
    rule = Guardrails.pattern()
    for text in ("As an AI researcher, I study models.", "As an AI-powered tool, it helps.",
                 "I am an AI engineer at a startup.", "As an AI ethics expert, she spoke."):
        assert rule.check(done(text)) == [], text


# -- the incremental scan's bounds --------------------------------------------------------------


def max_width(pattern: re.Pattern[str]) -> int:
    from re import _parser  # type: ignore[attr-defined]

    return int(_parser.parse(pattern.pattern, pattern.flags).getwidth()[1])


def test_default_patterns_fit_the_incremental_scan() -> None:
    """Every default phrase (and drift's meta phrases) is shorter than the tail the scanner
    keeps, so no match can be missed when it is split across tokens."""
    from l0.drift import _META_MAX_MATCH, _meta_patterns
    from l0.guardrails.content_rules import DEFAULT_MAX_MATCH, _default_pattern_set

    for pattern in _default_pattern_set().patterns:
        assert max_width(pattern) <= DEFAULT_MAX_MATCH, pattern.pattern
    for pattern in _meta_patterns().patterns:
        assert max_width(pattern) <= _META_MAX_MATCH, pattern.pattern


def test_pattern_rule_with_groups_backreferences_and_inline_flags() -> None:
    """Patterns that cannot share one alternation are still each found."""
    rule = Guardrails.pattern([r"(\b\w+) \1\b", r"(?P<n>\d+)-(?P=n)", r"(?s)begin.end"])
    found = rule.check(done("it was the the end: 42-42 and begin\nend here"))
    assert [(v.context or {}).get("match") for v in found] == ["the the", "42-42", "begin\nend"]


def test_batched_sessions_flush_on_demand() -> None:
    """Pattern and drift sessions scan in batches; `flush` scans what is pending now (for a
    runtime that wants a checkpoint checked before trusting it)."""
    from l0.drift import DriftDetector

    text = "Sure. As an AI language model, I would say that the answer is forty-two."
    for rule in (Guardrails.pattern(), DriftDetector().as_rule()):
        assert rule.session is not None
        session = rule.session()
        assert session.feed(text, State()) == []  # fewer than 256 characters: not scanned yet
        flushed = session.flush(State())  # type: ignore[attr-defined]
        assert [v.position for v in flushed] == [6], rule.name
        assert session.flush(State()) == []  # type: ignore[attr-defined]
        assert session.finish(State(content=text)) == []  # reported once
