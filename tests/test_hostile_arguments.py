"""Hostile arguments get a clear `l0.Error`, never a raw exception or a hang (issue 13).

Every public configuration constructor and every argument of `run()` and `wrap()` is given
hostile values (NaN, infinities, negative and huge numbers, wrong types): each is either
refused with `l0.Error` (INVALID_ARGUMENT, or the more precise code the docs name:
ADAPTER_NOT_FOUND for an unknown adapter name, INVALID_STREAM for a factory whose result
cannot be streamed), or accepted and then usable: a run with it ends, on a virtual clock,
within a bounded (virtual) time. Both event loops.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

import anyio
import looptime
import pytest
import trio.testing
from hypothesis import given, settings, strategies as st

import l0
from l0.errors import ErrorCode
from l0.testing.scripted import Script, ScriptedFactory

HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, -0.0, 1e308, -1e308, 5e-324]),
    st.integers(-(10**120), 10**120),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.builds(object),
    st.just(lambda: None),
    st.just(lambda *args: "not what was asked"),
)

BACKENDS = ["asyncio", "trio"]


def run_on(backend: str, main: Callable[[], Any]) -> Any:
    """`main()` on a virtual clock that jumps ahead whenever everything waits."""
    if backend == "asyncio":
        options: dict[str, Any] = {"loop_factory": looptime.new_event_loop}
    else:
        options = {"clock": trio.testing.MockClock(autojump_threshold=0)}
    return anyio.run(main, backend=backend, backend_options=options)


def refused_or_accepted(make: Callable[[], Any], *codes: ErrorCode) -> Any:
    """What `make()` built, or None when it raised l0.Error with an allowed code (any other
    exception fails the test by propagating)."""
    try:
        return make()
    except l0.Error as error:
        assert error.code in (ErrorCode.INVALID_ARGUMENT, *codes), error
        return None


# How a run of a good stream may still fail with an accepted config: a deadline so short
# that even an instant first token misses it.
TIMEOUTS = (ErrorCode.INITIAL_TOKEN_TIMEOUT, ErrorCode.INTER_TOKEN_TIMEOUT, ErrorCode.TOTAL_TIMEOUT)


def openai_ok(index: int) -> dict[str, Any]:
    """The text "ok" as one OpenAI-shaped chunk for the choice the adapter follows."""
    return {"choices": [{"index": index, "delta": {"content": "ok"}, "finish_reason": "stop"}]}


async def a_run_ends(*, may_fail_with: tuple[ErrorCode, ...] = (), **arguments: Any) -> None:
    """A short run of a good stream with `arguments`: refused at run(), or it ends, in bounded
    (virtual) time, with its text or an l0.Error of `may_fail_with`."""
    adapter = arguments.get("adapter")
    chunk: Any = "ok"
    if isinstance(adapter, l0.OpenAIAdapter):
        chunk = openai_ok(adapter.options.choice_index)
    with anyio.fail_after(3600):  # virtual seconds: every wait is instant
        try:
            stream = await l0.run(stream=ScriptedFactory(Script(chunks=[chunk])), **arguments)
        except l0.Error as error:
            assert error.code in (ErrorCode.INVALID_ARGUMENT, ErrorCode.ADAPTER_NOT_FOUND)
            return
        try:
            assert await stream.read() == "ok"
        except l0.Error as error:
            assert error.code in may_fail_with, error


CONFIGS = [
    l0.Timeout,
    l0.Retry,
    l0.ErrorTypeDelays,
    l0.ContinuationConfig,
    l0.DeduplicationOptions,
    l0.DriftConfig,
    l0.OpenAIAdapterOptions,
    l0.StructuredConfig,
    l0.ParallelOptions,
]


def use_in_a_run(config: Any) -> dict[str, Any]:
    """Run arguments that put `config` to work."""
    if isinstance(config, l0.Timeout):
        return {"timeout": config}
    if isinstance(config, l0.Retry):
        return {"retry": config}
    if isinstance(config, l0.ErrorTypeDelays):
        return {"retry": l0.Retry(error_type_delays=config)}
    if isinstance(config, l0.ContinuationConfig):
        return {"continue_from_last_good_token": config}
    if isinstance(config, l0.DeduplicationOptions):
        return {
            "continue_from_last_good_token": l0.ContinuationConfig(deduplication_options=config)
        }
    if isinstance(config, l0.DriftConfig):
        return {"drift_detector": l0.DriftDetector(config)}
    if isinstance(config, l0.OpenAIAdapterOptions):
        return {"adapter": l0.OpenAIAdapter(config)}
    return {}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", CONFIGS, ids=[c.__name__ for c in CONFIGS])
@settings(max_examples=40)
@given(data=st.data(), value=HOSTILE)
def test_config_constructors_refuse_or_work(
    backend: str, config: type, data: st.DataObject, value: Any
) -> None:
    """Any field of any configuration, any hostile value: INVALID_ARGUMENT, or a config a
    run can use to its end."""
    field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(config)]))
    built = refused_or_accepted(lambda: config(**{field: value}))
    if built is not None:
        run_on(backend, lambda: a_run_ends(may_fail_with=TIMEOUTS, **use_in_a_run(built)))


@settings(max_examples=60)
@given(data=st.data(), value=HOSTILE)
def test_circuit_breaker_and_guardrail_rule_refuse_or_work(data: st.DataObject, value: Any) -> None:
    """The other public constructors with keyword configuration."""
    breaker_field = data.draw(
        st.sampled_from([n for n in inspect.signature(l0.CircuitBreaker).parameters])
    )
    refused_or_accepted(lambda: l0.CircuitBreaker(**{breaker_field: value}))
    rule_field = data.draw(
        st.sampled_from(["name", "check", "description", "streaming", "severity", "check_every"])
    )
    arguments: dict[str, Any] = {"name": "mine", "check": lambda state: [], rule_field: value}
    refused_or_accepted(lambda: l0.GuardrailRule(**arguments))


RUN_PARAMETERS = [name for name in inspect.signature(l0.run).parameters if name != "stream"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("parameter", RUN_PARAMETERS)
@settings(max_examples=25)
@given(value=HOSTILE)
def test_run_arguments_refuse_or_work(backend: str, parameter: str, value: Any) -> None:
    """Each argument of run(): INVALID_ARGUMENT (ADAPTER_NOT_FOUND for an unknown adapter
    name) at run(), or a run that ends with its text or an l0.Error, never a raw one."""
    run_on(backend, lambda: a_run_ends(**{parameter: value}))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40)
@given(value=HOSTILE)
def test_run_refuses_a_hostile_stream_factory(backend: str, value: Any) -> None:
    """`stream=` itself: not callable is INVALID_ARGUMENT at run(); a callable whose result
    cannot be streamed is INVALID_STREAM when read."""

    async def main() -> None:
        with anyio.fail_after(3600):
            try:
                stream = await l0.run(stream=value)
                await stream.read()
            except l0.Error as error:
                assert error.code in (ErrorCode.INVALID_ARGUMENT, ErrorCode.INVALID_STREAM)
            else:
                pytest.fail(f"stream={value!r} was accepted")

    run_on(backend, main)


WRAP_PARAMETERS = [n for n in inspect.signature(l0.wrap).parameters if n != "client_or_stream"]


@pytest.mark.parametrize("parameter", WRAP_PARAMETERS)
@settings(max_examples=25)
@given(value=HOSTILE)
def test_wrap_arguments_refuse_or_work(parameter: str, value: Any) -> None:
    """Each option of wrap(), for a one-off stream and for a client."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="test")
    stream = ScriptedFactory(Script.tokens("ok"))()
    refused_or_accepted(lambda: l0.wrap(stream, **{parameter: value}), ErrorCode.ADAPTER_NOT_FOUND)
    refused_or_accepted(lambda: l0.wrap(client, **{parameter: value}), ErrorCode.ADAPTER_NOT_FOUND)
