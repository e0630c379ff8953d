"""Fast failover with the real openai SDK against a FaultServer, one case per fault class of
issue 15: the primary keeps answering 503 with Retry-After 1, 429, dropping the connection
mid-stream, or stalling mid-stream. Default failover rules: the answer comes from the
fallback after at most two primary requests (one for the stall). A one-off blip is retried
on the primary and never reaches the fallback. Route health is on (the runs have fallbacks
and wrapped-client requests name their routes): a later run skips the failed primary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest

import l0
from l0.routes import InMemoryRouteHealth
from l0.testing import ErrorReply, FaultServer, Reply, Stall, Step
from tests.integration._support import USER, consume

pytestmark = pytest.mark.anyio

# Backoff shortened so the suite stays quick; the failover rules are the defaults.
QUICK = l0.Retry(base_delay=0.05, max_delay=2.0)
TOKENS = ["Hel", "lo", " wor", "ld"]


@pytest.fixture
async def completions(server: FaultServer) -> AsyncIterator[Any]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test")
    yield l0.wrap(client).chat.completions
    await client.close()


FAULTS: dict[str, tuple[Step, int]] = {
    # fault -> (what the primary keeps answering, requests it gets before the switch)
    "503-retry-after-1": (ErrorReply(503, retry_after=1), 2),
    "429": (ErrorReply(429), 2),
    "drop-mid-stream": (Reply(TOKENS, drop_after=2), 2),
    "stall-mid-stream": (Reply(TOKENS, stall=Stall(10.0, after=2)), 1),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_failing_primary_hands_over_to_the_fallback(
    fault: str, server: FaultServer, completions: Any, new_model: Callable[[str], str]
) -> None:
    """The fallback answers; the primary got at most two requests; later runs skip it."""
    step, primary_requests = FAULTS[fault]
    primary, backup = new_model("primary"), new_model("backup")
    server.script(primary, [], then=step)
    server.script(backup, [], then=Reply(["from the ", "fallback"]))
    store = InMemoryRouteHealth()

    async def call() -> str:
        stream = await l0.run(
            stream=completions.factory(model=primary, messages=USER),
            fallbacks=[completions.factory(model=backup, messages=USER)],
            retry=QUICK,
            timeout=l0.Timeout(inter_token=500),
            route_health=store,
        )
        outcome = await consume(stream)
        assert outcome.error is None
        return outcome.text

    assert await call() == "from the fallback"
    assert server.attempts(primary) == primary_requests
    assert server.attempts(backup) == 1
    if primary_requests == 2:  # two route failures in a row open the primary's route
        assert await call() == "from the fallback"
        assert server.attempts(primary) == primary_requests  # skipped, not called


async def test_a_stall_resumes_on_the_fallback_from_the_checkpoint(
    server: FaultServer, completions: Any, new_model: Callable[[str], str]
) -> None:
    """With continuation on, the fallback continues after the text already delivered."""
    primary, backup = new_model("stalling"), new_model("resuming")
    server.script(primary, [], then=Reply(TOKENS, stall=Stall(10.0, after=2)))
    server.script(backup, [], then=Reply([" wor", "ld"]), accept_prefill=True)
    stream = await l0.run(
        stream=completions.factory(model=primary, messages=USER),
        fallbacks=[completions.factory(model=backup, messages=USER)],
        timeout=l0.Timeout(inter_token=500),
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=1),
    )
    outcome = await consume(stream)
    assert outcome.error is None and outcome.text == "Hello world"
    (resumed,) = server.requests_for(backup)
    assert resumed.messages[-1] == {"role": "assistant", "content": "Hello"}


@pytest.mark.parametrize(
    "blip",
    [ErrorReply(503, retry_after=1), ErrorReply(429), Reply(TOKENS, drop_after=2)],
    ids=["503-retry-after-1", "429", "drop"],
)
async def test_a_one_off_blip_is_retried_on_the_primary(
    blip: Step, server: FaultServer, completions: Any, new_model: Callable[[str], str]
) -> None:
    """One failure, then success: the primary answers and the fallback gets no request."""
    primary, backup = new_model("blip"), new_model("unused")
    server.script(primary, [blip], then=Reply(TOKENS))
    server.script(backup, [], then=Reply(["fallback"]))
    stream = await l0.run(
        stream=completions.factory(model=primary, messages=USER),
        fallbacks=[completions.factory(model=backup, messages=USER)],
        retry=QUICK,
    )
    outcome = await consume(stream)
    assert outcome.error is None and outcome.text == "Hello world"
    assert server.attempts(primary) == 2 and server.attempts(backup) == 0


async def test_hedging_over_http_keeps_the_first_route_to_answer(
    server: FaultServer, completions: Any, new_model: Callable[[str], str]
) -> None:
    """hedge_after: a primary that is silent before its first token is overtaken."""
    primary, backup = new_model("silent"), new_model("prompt")
    server.script(primary, [], then=Reply(TOKENS, stall=Stall(10.0, before_headers=True)))
    server.script(backup, [], then=Reply(["from the ", "hedge"]))
    stream = await l0.run(
        stream=completions.factory(model=primary, messages=USER),
        fallbacks=[completions.factory(model=backup, messages=USER)],
        hedge_after=200,
    )
    outcome = await consume(stream)
    assert outcome.error is None and outcome.text == "from the hedge"
    assert stream.state.fallback_index == 1
    assert server.attempts(primary) == 1 and server.attempts(backup) == 1
