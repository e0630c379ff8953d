"""Async callbacks are either awaited or refused where they are passed (issue 13, item 8).

`Retry.should_retry` and the pipeline's hooks may be `async def` (they are awaited; see
tests/runtime/test_driver.py and tests/pipeline). Every other callback is called
synchronously, so an `async def` there is refused with INVALID_ARGUMENT when it is passed:
before, its coroutine was dropped with a RuntimeWarning and its work was lost.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import BaseModel

import l0
from l0.callbacks import is_async_callable
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = pytest.mark.anyio


async def async_callback(*args: Any) -> None:
    """What a user passes by mistake: its body would never run."""


class AsyncCallable:
    async def __call__(self, *args: Any) -> None:
        return None


ASYNC_FORMS: list[Any] = [async_callback, functools.partial(async_callback, "x"), AsyncCallable()]


class Person(BaseModel):
    name: str


def factory() -> ScriptedFactory:
    return ScriptedFactory(Script(chunks=['{"name": "Ada"}']))


# Each entry: (where, a function that passes `callback` where the reference documents it).
SITES: list[tuple[str, Callable[[Any], Awaitable[object] | object]]] = [
    ("run(on_event)", lambda cb: l0.run(stream=factory(), on_event=cb)),
    ("wrap(stream, on_event)", lambda cb: l0.wrap(factory()(), on_event=cb)),
    (
        "run(build_continuation_prompt)",
        lambda cb: l0.run(stream=factory(), build_continuation_prompt=cb),
    ),
    ("Retry(calculate_delay)", lambda cb: l0.Retry(calculate_delay=cb)),
    ("GuardrailRule(check)", lambda cb: l0.GuardrailRule(name="mine", check=cb)),
    ("structured(on_event)", lambda cb: l0.structured(Person, factory(), on_event=cb)),
    (
        "structured(on_validation_error)",
        lambda cb: l0.structured(Person, factory(), on_validation_error=cb),
    ),
    (
        "structured(on_auto_correct)",
        lambda cb: l0.structured(Person, factory(), on_auto_correct=cb),
    ),
    ("StateMachine.subscribe", lambda cb: l0.create_state_machine().subscribe(cb)),
    ("parallel(on_progress)", lambda cb: l0.parallel([], on_progress=cb)),
]


@pytest.mark.parametrize("form", ASYNC_FORMS, ids=["async def", "partial", "async __call__"])
@pytest.mark.parametrize(("where", "passing"), SITES, ids=[where for where, _ in SITES])
async def test_an_async_callback_where_a_sync_one_is_called_is_refused(
    where: str, passing: Callable[[Any], Any], form: Any
) -> None:
    """INVALID_ARGUMENT at once, saying that the callback must be a plain function."""
    with pytest.raises(l0.Error) as caught:
        outcome = passing(form)
        if hasattr(outcome, "__await__"):
            await outcome
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert "plain (sync) function" in str(caught.value)


async def test_the_wrapped_client_refuses_an_async_on_event(server: l0.testing.FaultServer) -> None:
    """`l0.wrap(AsyncOpenAI(...), on_event=async_def)` is refused when wrapping."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=server.base_url, api_key="test")
    try:
        with pytest.raises(l0.Error) as caught:
            l0.wrap(client, on_event=async_callback)
    finally:
        await client.close()
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


def test_sync_callables_are_not_taken_for_async() -> None:
    """Plain functions, lambdas, bound methods, builtins and partials of them pass."""
    events: list[Any] = []
    for callback in (print, events.append, lambda e: None, functools.partial(print, end="")):
        assert not is_async_callable(callback)
    assert is_async_callable(async_callback)
    assert is_async_callable(AsyncCallable())


async def test_an_awaitable_returned_by_a_sync_on_event_is_closed_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A plain function that returns a coroutine (which run() cannot see coming): the run
    goes on, the coroutine is closed (no 'never awaited' RuntimeWarning, which this suite
    turns into an error) and the mistake is logged."""
    calls: list[str] = []

    async def work(event: l0.ObservabilityEvent) -> None:
        calls.append(event.type.value)  # pragma: no cover - never awaited, by design

    result = await l0.run(stream=ScriptedFactory(Script.tokens("ok")), on_event=lambda e: work(e))
    with caplog.at_level(logging.ERROR, logger="l0"):
        assert await result.read() == "ok"
    assert calls == []
    assert "never awaits it" in caplog.text
