"""A consumer that stops reading releases the provider at once (issue 13, item 3).

`abort(); break` (the reference's pattern) and leaving `async for` early without
`async with` must close the provider connection right away, not when the consumer reads
again (it may never) nor when the provider finishes: the FaultServer's reply stalls for a
minute after its first token, and the server must see the client disconnect long before.
Each case runs with the real openai SDK on asyncio and trio and LiteLLM on asyncio, through
the wrapped client, a `run()` factory calling the SDK, and `wrap()` of one SDK stream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import pytest

import l0
from l0.errors import ErrorCode
from l0.runtime.stream import Stream
from l0.testing import FaultServer, Reply, Stall
from tests.integration._support import Provider

pytestmark = pytest.mark.anyio

SLOW = Reply(["Hello", " world", " again"], stall=Stall(60.0, after=1))
NOTICE = 20.0  # seconds the server is given to see the disconnect (the stall lasts 60)


async def disconnected(server: FaultServer, model: str) -> bool:
    """Whether the server saw the client of `model` leave (the loop runs meanwhile)."""
    wait = functools.partial(server.wait_for_disconnect, model, timeout=NOTICE)
    return await anyio.to_thread.run_sync(wait)


def raw_factory(provider: Provider, model: str) -> Callable[[], Any]:
    """A plain stream factory calling the SDK itself (no wrapped client)."""
    request = provider.request(model)
    if provider.name == "litellm":
        import litellm

        return functools.partial(litellm.acompletion, **request)
    client = provider.sdk_client()
    return lambda: client.chat.completions.create(**request)


async def open_stream(how: str, provider: Provider, model: str) -> Stream:
    if how == "wrapped client":
        return await provider.create(provider.wrap(), model)
    factory = raw_factory(provider, model)
    if how == "run":
        return await l0.run(stream=factory)
    return l0.wrap(await factory())  # one SDK stream, wrapped once


WAYS = ["wrapped client", "run", "wrap"]


@pytest.mark.parametrize("how", WAYS)
async def test_abort_then_break_closes_the_provider_at_once(
    how: str, provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """The reference's pattern: the server sees the disconnect while its reply still
    stalls; reading afterwards raises STREAM_ABORTED."""
    model = new_model("abort-break")
    server.script(model, [SLOW])
    with anyio.fail_after(NOTICE + 10):
        result = await open_stream(how, provider, model)
        async for event in result:
            if event.is_token:
                result.abort()
                break
        assert await disconnected(server, model)
        assert result.state.aborted
        with pytest.raises(l0.Error) as caught:
            await result.read()
    assert caught.value.code is ErrorCode.STREAM_ABORTED
    assert result.state.content == "Hello"


@pytest.mark.parametrize("how", WAYS)
async def test_leaving_async_for_early_closes_the_provider_at_once(
    how: str, provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """Breaking out without abort() and without `async with`: the provider is closed as
    the loop is left; the stream, ended there, cannot be read on."""
    model = new_model("leave-early")
    server.script(model, [SLOW])
    with anyio.fail_after(NOTICE + 10):
        result = await open_stream(how, provider, model)
        async for event in result:
            if event.is_token:
                break
        assert await disconnected(server, model)
        with pytest.raises(l0.Error) as caught:
            await result.read()
    assert caught.value.code is ErrorCode.STREAM_CONSUMED
    assert result.state.content == "Hello"
    assert not result.state.aborted and not result.state.completed


async def test_an_exception_in_the_loop_body_closes_the_provider_at_once(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """A consumer whose loop body raises leaves the loop too: the provider is released."""
    model = new_model("body-raises")
    server.script(model, [SLOW])
    with anyio.fail_after(NOTICE + 10):
        result = await open_stream("wrapped client", provider, model)
        with pytest.raises(KeyError):
            async for event in result:
                if event.is_token:
                    raise KeyError(event.text)
        assert await disconnected(server, model)


@pytest.mark.parametrize("how", WAYS)
async def test_abort_alone_closes_the_provider_while_the_consumer_holds_an_event(
    how: str, provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """abort() between two reads, with the iterator still held and never read again: the
    provider is closed by abort() itself, not by a next read."""
    model = new_model("abort-held")
    server.script(model, [SLOW])
    with anyio.fail_after(NOTICE + 10):
        result = await open_stream(how, provider, model)
        events = aiter(result)
        while not (await anext(events)).is_token:
            pass
        result.abort()
        assert await disconnected(server, model)
        with pytest.raises(l0.Error) as caught:
            await anext(events)
    assert caught.value.code is ErrorCode.STREAM_ABORTED
