"""A user's guardrail pattern cannot freeze the process (issue 13, item 7).

Before: `Guardrails.pattern([r"(x+x+)+y"])` over a few hundred streamed characters ran
Python's backtracking `re` on the event loop for minutes (hours, for longer text): no
timeout, no abort could run. User patterns now run on the `regex` engine with a time limit
per search: they finish, or fail the run at once with INVALID_ARGUMENT naming the pattern.
Built-in patterns stay on `re`, written to stay linear: no unbounded repetition of a
repetition or of an alternation.

A frozen check cannot be interrupted from its own thread, so these tests run it in a
thread of their own and give up on it after a generous wait.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.errors import ErrorCode
from l0.guardrails import Guardrails
from l0.testing.scripted import Script, ScriptedFactory
from l0.types import State

try:
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_parse  # type: ignore[no-redef]

PATIENCE = 60.0  # seconds a check may take before the test calls it frozen (a fixed one: ms)


def finishes(work: Callable[[], Any]) -> tuple[bool, Any]:
    """Run `work` in a daemon thread: (finished in time, its result or exception)."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(PATIENCE)
    return (not thread.is_alive(), outcome[0] if outcome else None)


RUN_WITH_PATTERN = """
import sys, anyio, l0
from l0.guardrails import Guardrails
from l0.testing.scripted import Script, ScriptedFactory

async def main():
    rule = Guardrails.pattern([sys.argv[2]])
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("x" * 300, size=7)),
                          guardrails=[rule])
    try:
        print(len(await stream.read()))
    except l0.Error as error:
        print(error.code.value)

anyio.run(main, backend=sys.argv[1])
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_catastrophic_pattern_over_a_stream_does_not_freeze_the_run(backend: str) -> None:
    """(x+x+)+y over 300 streamed x's: the run ends (no match, or the pattern refused as
    out of time) instead of backtracking for ever on the event loop. In a child process:
    a frozen `re` search holds the GIL, so nothing in this process could even time it out."""
    try:
        child = subprocess.run(
            [sys.executable, "-c", RUN_WITH_PATTERN, backend, r"(x+x+)+y"],
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the run was frozen by the pattern")
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() in ("300", "INVALID_ARGUMENT")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_pattern_out_of_time_fails_the_run_with_invalid_argument(backend: str) -> None:
    """A pattern even `regex` cannot settle in time: INVALID_ARGUMENT naming it, at once,
    not retried."""
    factory = ScriptedFactory(Script.tokens("a" * 80 + "b", size=9))

    async def main() -> l0.Error:
        rule = Guardrails.pattern([r"^(a|aa)+$"])
        stream = await l0.run(stream=factory, guardrails=[rule], retry=l0.Retry(base_delay=0))
        with pytest.raises(l0.Error) as caught:
            await stream.read()
        return caught.value

    done, error = finishes(lambda: anyio.run(main, backend=backend))
    assert done
    assert isinstance(error, l0.Error), error
    assert error.code is ErrorCode.INVALID_ARGUMENT
    assert "(a|aa)+" in str(error) and "backtracking" in str(error)
    assert factory.calls == 1


def test_an_invalid_pattern_is_refused_when_the_rule_is_built() -> None:
    with pytest.raises(l0.Error) as caught:
        Guardrails.pattern([r"(unclosed"])
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert "(unclosed" in str(caught.value)


def test_compiled_patterns_keep_their_flags_on_the_new_engine() -> None:
    """A compiled `re.Pattern` is matched with its own flags (here: case-sensitive)."""
    rule = Guardrails.pattern([re.compile(r"Secret"), r"(?s)begin.end"])
    found = rule.check(State(content="secret Secret begin\nend", completed=True))
    assert [(v.context or {}).get("match") for v in found] == ["Secret", "begin\nend"]


NESTED = st.builds(
    lambda unit, shape, tail: shape.format(x=unit, y=tail),
    unit=st.sampled_from(["a", "x", r"\w", ".", "[ab]", "ab"]),
    shape=st.sampled_from(
        ["({x}+{x}+)+{y}", "({x}|{x}{x})+$", "({x}*)*{y}", "({x}+)+{y}", "(.*{x}){{12}}{y}"]
    ),
    tail=st.sampled_from(["y", "!", "$", r"\d"]),
)


@settings(max_examples=25)
@given(pattern=NESTED, length=st.integers(20, 400))
def test_nested_repetition_patterns_always_finish(pattern: str, length: int) -> None:
    """Patterns of the shapes that make `re` backtrack exponentially, over text that nearly
    matches them: each check finishes, with a result or with INVALID_ARGUMENT."""
    rule = Guardrails.pattern([pattern])
    text = ("a" * length) if "a" in pattern or "." in pattern else ("x" * length)
    done, result = finishes(lambda: rule.check(State(content=text, completed=True)))
    assert done, pattern
    if isinstance(result, BaseException):
        assert isinstance(result, l0.Error), result
        assert result.code is ErrorCode.INVALID_ARGUMENT


def _unbounded_repeats(tree: Any, inside: bool, problems: list[str]) -> None:
    """Walk a parsed pattern: flag an unbounded repetition of a repetition or alternation."""
    for op, value in tree:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _low, high, body = value
            unbounded = high == sre_parse.MAXREPEAT
            if unbounded and any(str(o) in ("BRANCH",) for o, _ in body):
                problems.append("repetition of an alternation")
            if unbounded and inside:
                problems.append("repetition inside a repetition")
            _unbounded_repeats(body, inside or unbounded, problems)
        elif name == "SUBPATTERN":
            _unbounded_repeats(value[-1], inside, problems)
        elif name == "BRANCH":
            for branch in value[1]:
                _unbounded_repeats(branch, inside, problems)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _unbounded_repeats(value[1], inside, problems)


def test_built_in_patterns_have_no_nested_unbounded_repetition() -> None:
    """What l0 ships stays on `re`; it must not contain the shapes that backtrack
    exponentially (an unbounded repetition of a repetition or of an alternation)."""
    from l0.drift import _meta_patterns
    from l0.guardrails.content_rules import _default_pattern_set

    shipped = [*_default_pattern_set().patterns, *_meta_patterns().patterns]
    for pattern in shipped:
        problems: list[str] = []
        _unbounded_repeats(sre_parse.parse(pattern.pattern, pattern.flags), False, problems)
        assert problems == [], pattern.pattern
    problems = []
    _unbounded_repeats(sre_parse.parse(r"(a+)+$"), False, problems)
    assert problems, "the check must catch a nested repetition"
