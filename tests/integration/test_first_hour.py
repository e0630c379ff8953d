"""Mistakes of a first hour with the real SDKs, each answered by a clear message: a request
made without `stream=True`; an SDK client that retries on its own under `run()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import l0
from l0.testing import FaultServer, Reply
from tests.integration._support import Provider

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
