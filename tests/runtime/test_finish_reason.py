"""A finish reason completes the answer (issue 13.4), through the real SDKs on a FaultServer.

The provider sends its last chunk with a finish reason (and the usage chunk), then neither
`[DONE]` nor the end of the body. The answer is complete: l0 waits a short grace for a
trailing chunk (`l0.adapters.openai.FINISH_GRACE`), then completes the run, without waiting
for the inter-token timeout, without a retry, and closes the connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
import pytest

import l0
from l0.adapters.openai import FINISH_GRACE
from l0.testing import FaultServer, Reply

# On trio, the openai SDK leaves its inner async generators unexhausted when a stream ends
# early; trio warns when they are collected. The SDK's behaviour, not ours.
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator '(openai|httpx|httpcore):ResourceWarning"),
]

USER = [{"role": "user", "content": "Say hello"}]
HANG = 30.0  # the provider's silence after its finish chunk: far beyond the test's timeouts
# Generous: the inter-token timeout would discard the answer if l0 waited for it.
TIMEOUT = l0.Timeout(initial_token=10_000, inter_token=5_000)


async def consume(stream: Any) -> tuple[str, list[l0.Event]]:
    seen = ""
    events = []
    async for event in stream:
        events.append(event)
        if event.is_token:
            seen += event.text or ""
        elif event.is_reset:
            seen = seen[: event.data["kept"]]
    return seen, events


async def test_openai_answer_with_a_finish_reason_and_no_end_completes(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """l0.run over the openai SDK: the answer completes after the grace, attempt 1, usage kept."""
    model = new_model("hang")
    server.script(model, [Reply(["Hello", " world"], hang_after_finish=HANG)])
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="test", max_retries=0
    ) as client:
        result = await l0.run(
            stream=lambda: client.chat.completions.create(
                model=model,
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},
            ),
            timeout=TIMEOUT,
            retry=l0.Retry(attempts=2, base_delay=0.01),
        )
        started = time.monotonic()
        text, events = await consume(result)
        waited = time.monotonic() - started
    assert text == "Hello world" == result.state.content
    assert events[-1].is_complete
    assert result.state.finish_reason == "stop"
    assert result.state.usage is not None and result.state.usage["completion_tokens"] == 2
    assert server.attempts(model) == 1  # no retry: the answer was complete
    # Well before the inter-token timeout: it was the finish reason that ended the wait.
    assert waited < FINISH_GRACE + 2.0 < TIMEOUT.inter_token_seconds


async def test_wrapped_client_answer_with_a_finish_reason_and_no_end_completes(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """The same through l0.wrap(AsyncOpenAI()): the wrapped client's stream completes."""
    model = new_model("hang-wrapped")
    server.script(model, [Reply(["Hi", " there"], hang_after_finish=HANG)])
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="test", max_retries=0
    ) as raw:
        client = l0.wrap(raw, timeout=TIMEOUT, retry=l0.Retry(attempts=2, base_delay=0.01))
        response = await client.chat.completions.create(model=model, messages=USER, stream=True)
        text, _ = await consume(response)
    assert text == "Hi there" == response.state.content
    assert response.state.completed and response.state.finish_reason == "stop"
    assert server.attempts(model) == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # LiteLLM streams on asyncio only
@pytest.mark.filterwarnings("ignore:Item.*ReadOnly:UserWarning")
@pytest.mark.filterwarnings("ignore:Accessing the 'model_.*on the instance is deprecated")
async def test_litellm_answer_with_a_finish_reason_and_no_end_completes(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """l0.run over litellm.acompletion: the same contract."""
    import litellm

    litellm.suppress_debug_info = True
    model = new_model("hang-litellm")
    server.script(model, [Reply(["Hello", " world"], hang_after_finish=HANG)])
    result = await l0.run(
        stream=lambda: litellm.acompletion(
            model=f"openai/{model}",
            api_base=server.base_url,
            api_key="test",
            messages=USER,
            stream=True,
            num_retries=0,
        ),
        timeout=TIMEOUT,
        retry=l0.Retry(attempts=2, base_delay=0.01),
    )
    text, events = await consume(result)
    assert text == "Hello world" == result.state.content
    assert events[-1].is_complete and result.state.finish_reason == "stop"
    assert server.attempts(model) == 1
