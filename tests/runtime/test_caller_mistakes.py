"""Caller mistakes are INVALID_*, never retried, and said in a short message (issue 13,
item 6). Before: a factory returning a sync generator was reported as PROVIDER_ERROR (the
driver tried to await the generator), a guardrail rule returning the wrong type as a
provider error (an AttributeError deep in the engine), and a JSON violation could carry a
100 kB message.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.errors import ErrorCode
from l0.guardrails.engine import MESSAGE_LIMIT
from l0.testing.scripted import Script, ScriptedFactory

RETRYING = l0.Retry(attempts=3, max_retries=3, base_delay=0.0)
BACKENDS = ["asyncio", "trio"]


def counting(value: Any) -> tuple[list[int], Any]:
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return value() if callable(value) else value

    return calls, factory


async def failure_of(stream: l0.Stream) -> l0.Error:
    with anyio.fail_after(10), pytest.raises(l0.Error) as caught:
        await stream.read()
    return caught.value


def not_a_stream() -> st.SearchStrategy[Any]:
    """What a factory may return by mistake: sync iterables (a generator), plain values."""
    return st.one_of(
        st.lists(st.text(max_size=3), max_size=3).map(lambda items: lambda: iter(items)),
        st.lists(st.text(max_size=3), max_size=3).map(lambda items: lambda: (t for t in items)),
        st.lists(st.text(max_size=3), max_size=3),
        st.text(max_size=5),
        st.integers(),
        st.none(),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=30)
@given(value=not_a_stream())
def test_a_factory_returning_no_async_stream_is_invalid_stream_and_not_retried(
    backend: str, value: Any
) -> None:
    """A sync generator (or list, str, number, None...) from the factory: INVALID_STREAM,
    the factory called once whatever the retry budget."""
    calls, factory = counting(value)

    async def main() -> l0.Error:
        return await failure_of(await l0.run(stream=factory, retry=RETRYING))

    error = anyio.run(main, backend=backend)
    assert error.code is ErrorCode.INVALID_STREAM
    assert len(calls) == 1
    assert len(str(error)) < 500


def wrong_results() -> st.SearchStrategy[Any]:
    """What a rule's check may return by mistake."""
    return st.one_of(
        st.text(min_size=1, max_size=5),
        st.integers(),
        st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=2),
        st.lists(st.one_of(st.text(max_size=3), st.integers(), st.none()), min_size=1, max_size=3),
        st.just({"rule": "x"}),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=30)
@given(result=wrong_results())
def test_a_rule_returning_the_wrong_type_is_invalid_argument_and_not_retried(
    backend: str, result: Any
) -> None:
    """INVALID_ARGUMENT naming the rule and what it returned; one attempt only."""
    rule = l0.GuardrailRule(name="mine", check=lambda state: result)
    factory = ScriptedFactory(Script.tokens("hello world"))

    async def main() -> l0.Error:
        return await failure_of(
            await l0.run(stream=factory, guardrails=[rule], retry=RETRYING, check_interval=1)
        )

    error = anyio.run(main, backend=backend)
    assert error.code is ErrorCode.INVALID_ARGUMENT
    assert "'mine'" in str(error)
    assert factory.calls == 1


@pytest.mark.anyio
async def test_a_rule_may_return_a_tuple_of_violations() -> None:
    """A tuple is a sequence of violations too: accepted."""
    found = (l0.GuardrailViolation(rule="mine", message="nope", severity="error"),)
    rule = l0.GuardrailRule(name="mine", check=lambda state: found)
    error = await failure_of(
        await l0.run(stream=ScriptedFactory(Script.tokens("hi")), guardrails=[rule])
    )
    assert error.code is ErrorCode.GUARDRAIL_VIOLATION


@pytest.mark.anyio
@pytest.mark.parametrize(
    "text",
    ["[" * 50_000, '{"a": ' + "[" * 30_000, '{"k": "' + "x" * 100_000 + '", ]'],
    ids=["50k brackets", "nested", "long string"],
)
async def test_json_violation_messages_stay_short(text: str) -> None:
    """However long the output, the JSON rule's message (and the run's error) stays short."""
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens(text, size=997)),
        guardrails=[l0.Guardrails.json()],
        retry=l0.Retry(attempts=0, max_retries=0),
    )
    error = await failure_of(stream)
    assert error.code is ErrorCode.GUARDRAIL_VIOLATION
    assert len(str(error)) < MESSAGE_LIMIT + 100
    assert all(len(v.message) <= MESSAGE_LIMIT for v in stream.state.violations)


@pytest.mark.anyio
async def test_a_user_rule_message_is_bounded() -> None:
    """A user's rule that writes a 100 kB message: the violation and the error are cut, saying
    how much was left out."""
    huge = l0.GuardrailViolation(rule="mine", message="m" * 100_000, severity="error")
    rule = l0.GuardrailRule(name="mine", check=lambda state: [huge])
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("hi")),
        guardrails=[rule],
        retry=l0.Retry(attempts=0, max_retries=0),
    )
    error = await failure_of(stream)
    assert len(str(error)) < MESSAGE_LIMIT + 100
    (violation,) = stream.state.violations
    assert len(violation.message) == MESSAGE_LIMIT
    assert "more characters)" in violation.message
