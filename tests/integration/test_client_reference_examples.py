"""The reference's wrapped-client examples, run with the same calls against a FaultServer.

`AsyncOpenAI()` is called exactly as the reference does: `OPENAI_BASE_URL` and
`OPENAI_API_KEY` point it at the server. Where an example cannot run as written offline, the
test says what differs: LiteLLM's Anthropic fallback is reached through the server's
OpenAI-compatible endpoint (`openai/...` with `api_base`), and the Fallback Models example
reads the stream before looking at `state` (a run is lazy: it starts when it is read).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

import l0
from l0 import ContinuationConfig, DeduplicationOptions
from l0.testing import ErrorReply, FaultServer, Reply, Stall, ToolCall

pytestmark = pytest.mark.anyio

HELLO = ["Hello", "!", " How", " can", " I", " help", " you", " today?"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    """A fresh server per example; `AsyncOpenAI()` finds it through the environment."""
    with FaultServer() as running:
        monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield running


@pytest.fixture(autouse=True)
async def close_clients(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Close every `AsyncOpenAI()` an example makes (the examples do not), on its own loop."""
    made: list[AsyncOpenAI] = []
    original = openai.AsyncOpenAI.__init__

    def init(self: AsyncOpenAI, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(openai.AsyncOpenAI, "__init__", init)
    yield
    for client in made:
        await client.close()


async def test_wrapping_a_client(server: FaultServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Wrapping a Client (Recommended): stream with l0 events, or read all at once."""
    server.script("gpt-4o", [Reply(HELLO)], then=Reply(HELLO))

    # Wrap the client once
    client = l0.wrap(AsyncOpenAI())

    # Use normally - L0 reliability is automatic
    response = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello!"}],
        stream=True,
    )

    # Stream with L0 events
    async for event in response:
        if event.is_token:
            print(event.text, end="")
    assert capsys.readouterr().out == "Hello! How can I help you today?"

    # Or read all at once
    response = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello!"}],
        stream=True,
    )
    text = await response.read()
    assert text == "Hello! How can I help you today?"
    assert server.attempts("gpt-4o") == 2


async def test_wrapping_a_client_with_full_configuration(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With Full Configuration: every option applies to the client's runs."""
    server.script("gpt-4o", [ErrorReply(503), Reply(HELLO)])
    client = l0.wrap(
        AsyncOpenAI(),
        guardrails=l0.Guardrails.recommended(),
        retry=l0.Retry(attempts=5),
        timeout=l0.Timeout(initial_token=10000, inter_token=30000),  # Milliseconds
        continue_from_last_good_token=True,  # Resume from checkpoint on failure
        on_event=lambda e: print(f"[{e.type}]"),
        context={"request_id": "req-123", "user_id": "user-456"},
    )
    response = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}], stream=True
    )
    assert await response.read() == "Hello! How can I help you today?"
    printed = capsys.readouterr().out.splitlines()
    kinds = l0.ObservabilityEventType
    assert printed[0] == f"[{kinds.SESSION_START}]" and printed[-1] == f"[{kinds.COMPLETE}]"
    assert f"[{kinds.RETRY_ATTEMPT}]" in printed  # the 503 was retried
    assert server.attempts("gpt-4o") == 2
    assert response.state.network_retry_count == 1


async def test_wrapping_a_raw_stream(server: FaultServer) -> None:
    """Wrapping a Raw Stream (Simple Cases): a one-off stream without retry support."""
    server.script("gpt-4o", [Reply(HELLO)])
    client = AsyncOpenAI()
    raw_stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}], stream=True
    )
    result = l0.wrap(raw_stream)
    text = await result.read()
    assert text == "Hello! How can I help you today?"


async def test_wrapped_client_mirrors_the_client(server: FaultServer) -> None:
    """WrappedClient: the same API, `unwrapped`, and `with_options` for a new client."""
    server.script(
        "gpt-4o",
        [Reply(HELLO, drop_after=3), Reply([" How", *HELLO[3:]])],
        accept_prefill=True,
    )
    raw = AsyncOpenAI()
    client = l0.wrap(raw)

    # Same API as OpenAI
    response = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello!"}],
        stream=True,
    )
    # Access the underlying client
    raw_client = client.unwrapped
    assert raw_client is raw

    # Create a new client with different options
    strict_client = client.with_options(
        guardrails=l0.Guardrails.strict(),
        continue_from_last_good_token=True,
    )
    assert client.options.continue_from_last_good_token is False

    # The first client has no continuation: the drop restarts from scratch.
    events = [event async for event in response]
    assert any(event.type is l0.EventType.RESET for event in events)
    server.script(
        "gpt-4o",
        [Reply(HELLO, drop_after=3), Reply([" How", *HELLO[3:]])],
        accept_prefill=True,
    )
    resumed = await strict_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello!"}], stream=True
    )
    assert await resumed.read() == "Hello! How can I help you today?"
    assert resumed.state.continuation_used and resumed.state.overlap_removed == " How"


async def test_tool_call_handling(server: FaultServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Tool Call Handling: the call arrives whole, with its name, arguments and id."""
    arguments = json.dumps({"location": "Paris"})
    server.script(
        "gpt-4o",
        [Reply(tool_calls=[ToolCall("get_weather", list(arguments), id="call_abc123")])],
    )
    client = AsyncOpenAI()
    result = await l0.run(
        stream=lambda: client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "What's the weather?"}],
            tools=[{
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get weather for a location",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                },
            }],
            stream=True,
        ),
    )  # fmt: skip

    async for event in result:
        if event.is_tool_call:
            assert event.data is not None  # (for the type checker)
            print(f"Tool: {event.data['name']}")
            print(f"Args: {event.data['arguments']}")
            print(f"ID: {event.data['id']}")

    assert capsys.readouterr().out.splitlines() == [
        "Tool: get_weather",
        'Args: {"location": "Paris"}',
        "ID: call_abc123",
    ]
    assert server.requests_for("gpt-4o")[0].body["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # LiteLLM streams on asyncio only
async def test_fallback_models_with_litellm_as_fallback_two(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fallback Models: the primary and fallback 1 fail; LiteLLM's fallback 2 answers."""
    import litellm

    litellm.suppress_debug_info = True
    server.script("gpt-4o", [ErrorReply(400, code="context_length_exceeded")])
    server.script("gpt-4o-mini", [ErrorReply(401)])
    server.script("claude-3-haiku-20240307", [Reply(HELLO)])
    openai_client = AsyncOpenAI()
    prompt = "Hello!"

    result = await l0.run(
        stream=lambda: openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
        ),
        fallbacks=[
            # Fallback 1: Cheaper OpenAI model
            lambda: openai_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": prompt}],
                stream=True,
            ),
            # Fallback 2: Different provider via LiteLLM (here: the server's endpoint)
            lambda: litellm.acompletion(
                model="openai/claude-3-haiku-20240307",
                api_base=server.base_url,
                api_key="test",
                messages=[{"role": "user", "content": prompt}],
                stream=True,
            ),
        ],
    )
    assert await result.read() == "Hello! How can I help you today?"

    # Check which model succeeded
    if result.state.fallback_index == 0:
        print("Primary model (gpt-4o) succeeded")
    elif result.state.fallback_index == 1:
        print("Fallback 1 (gpt-4o-mini) succeeded")
    else:
        print(f"Fallback {result.state.fallback_index} succeeded")

    assert capsys.readouterr().out == "Fallback 2 succeeded\n"
    assert [server.attempts(m) for m in ("gpt-4o", "gpt-4o-mini", "claude-3-haiku-20240307")] == [
        1,
        1,
        1,
    ]


async def test_checkpoint_resumption_after_a_timeout(server: FaultServer) -> None:
    """continue_from_last_good_token: a stream that times out after "Hello wor" resumes there,
    and the overlap the model repeats is removed."""
    server.script(
        "gpt-4o",
        [Reply(["Hel", "lo", " wor", "ld"], stall=Stall(5.0, after=3))],
        then=Reply(["world"]),
        accept_prefill=True,
    )
    client = l0.wrap(
        AsyncOpenAI(),
        continue_from_last_good_token=True,
        timeout=l0.Timeout(inter_token=30.0),  # the reference's value: milliseconds in l0
    )
    response = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Say hello"}], stream=True
    )
    async for _event in response:
        pass

    # Check if continuation was used
    assert response.state.resumed is True
    assert response.state.content == "Hello world"
    assert response.state.content.startswith(response.state.checkpoint)
    assert response.state.continuation_used is True
    assert response.state.deduplication_applied is True
    assert response.state.overlap_removed == "wor"
    continued = server.requests_for("gpt-4o")[1].messages[-1]
    assert continued == {"role": "assistant", "content": "Hello wor"}


async def test_checkpoint_resumption_with_a_continuation_config(server: FaultServer) -> None:
    """ContinuationConfig: fine-grained control, given to the wrapped client."""
    server.script(
        "gpt-4o",
        [Reply(["The quick", " brown", " fox"], drop_after=2), Reply(["brown fox", " jumps"])],
        accept_prefill=True,
    )
    config = ContinuationConfig(
        enabled=True,
        checkpoint_interval=5,  # Save checkpoint every N tokens
        deduplicate=True,  # Remove overlapping content
        deduplication_options=DeduplicationOptions(
            min_overlap=2,  # Minimum chars to consider overlap
            max_overlap=500,  # Maximum chars to check
            case_sensitive=True,
            normalize_whitespace=False,
        ),
        validate_checkpoint=True,  # Run guardrails on checkpoint
    )

    client = l0.wrap(
        AsyncOpenAI(),
        continue_from_last_good_token=config,
    )
    assert client.options.continue_from_last_good_token is config
    response = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "A fox"}], stream=True
    )
    assert await response.read() == "The quick brown fox jumps"
    assert response.state.overlap_removed == "brown"
