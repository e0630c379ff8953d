"""Mistakes of a first hour with the real SDKs, each answered by a clear message: a request
made without `stream=True`; an SDK client that retries on its own under `run()`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

import l0
from l0.testing import FaultServer, Reply, ToolCall
from tests.integration._support import USER, Provider

pytestmark = pytest.mark.anyio


async def test_forgetting_stream_true_says_pass_stream_true(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """The factory returns a whole completion (openai's ChatCompletion, LiteLLM's
    ModelResponse): the error says to pass stream=True, with INVALID_STREAM."""
    model = new_model("no-stream")
    server.script(model, [Reply(["Hello"])])
    request = provider.request(model)
    del request["stream"]

    def factory() -> Any:
        if provider.name == "openai":
            return provider.sdk_client().with_options(max_retries=0).chat.completions.create(
                **request
            )
        import litellm

        return litellm.acompletion(**request)

    # LiteLLM's first call in a process can take seconds (it loads its tables).
    result = await l0.run(
        stream=factory, retry=l0.Retry(max_retries=0), timeout=l0.Timeout(initial_token=60_000)
    )
    with pytest.raises(l0.Error) as caught:
        await result.read()
    assert caught.value.code is l0.ErrorCode.INVALID_STREAM
    assert "pass stream=True" in str(caught.value)


def _sdk_retry_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "l0" and r.levelno == logging.WARNING and "max_retries=" in r.getMessage()
    ]


async def test_run_notices_an_sdk_client_that_retries_by_itself(
    server: FaultServer, new_model: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    """`run()` over `AsyncOpenAI()` with the SDK's default retries: one WARNING on the `l0`
    logger for that client (not one per run), naming max_retries and the fix."""
    import openai

    model = new_model("sdk-retries")
    server.script(model, [Reply(["Hi"])] * 3)
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:

        def ask() -> Any:
            return raw.chat.completions.create(model=model, messages=USER, stream=True)

        caplog.set_level(logging.WARNING, logger="l0")
        for _ in range(2):
            assert await (await l0.run(stream=ask)).read() == "Hi"
        (record,) = _sdk_retry_warnings(caplog)
        assert "max_retries=2" in record.getMessage()
        assert "max_retries=0" in record.getMessage() and "l0.wrap" in record.getMessage()


async def test_clients_without_their_own_retries_are_not_warned_about(
    server: FaultServer, new_model: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    """max_retries=0 under run(), the wrapped client (it turns the SDK's retries off), and a
    single stream given to wrap() (l0 does not retry it): no warning."""
    import openai

    model = new_model("sdk-no-retries")
    server.script(model, [Reply(["Hi"])] * 3)
    caplog.set_level(logging.WARNING, logger="l0")
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        quiet = raw.with_options(max_retries=0)
        request: dict[str, Any] = {"model": model, "messages": USER, "stream": True}
        run = await l0.run(stream=lambda: quiet.chat.completions.create(**request))
        assert await run.read() == "Hi"
        wrapped = await l0.wrap(raw).chat.completions.create(**request)
        assert await wrapped.read() == "Hi"
        lazy = l0.wrap(await raw.chat.completions.create(**request))
        assert await lazy.read() == "Hi"
    assert _sdk_retry_warnings(caplog) == []


async def test_every_event_carries_its_time_tool_calls_included(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """Tokens, tool calls and COMPLETE each carry a Unix timestamp, in delivery order (the
    reference's `Event.timestamp`; the adapters' tool-call events are stamped when they
    arrive)."""
    model = new_model("stamped")
    server.script(
        model,
        [Reply(["Let me check. "], tool_calls=[ToolCall("get_time", ['{"tz": ', '"UTC"}'])])],
    )
    stream = await provider.create(provider.wrap(), model)
    events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert l0.EventType.TOOL_CALL in kinds and kinds[-1] is l0.EventType.COMPLETE
    stamps = [event.timestamp for event in events]
    assert all(isinstance(stamp, float) and stamp > 1.7e9 for stamp in stamps), events
    assert stamps == sorted(stamps)  # type: ignore[type-var]
