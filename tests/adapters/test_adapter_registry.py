"""Adapters registry: detection, priority, lookup by name, and the reference's examples."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from l0 import adapters as l0_adapters
from l0.adapters import (
    AdaptedEvent,
    Adapter,
    Adapters,
    LiteLLMAdapter,
    OpenAIAdapter,
)
from l0.errors import Error, ErrorCode
from l0.types import Event, EventType


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    Adapters.clear()
    yield
    Adapters.clear()


def stream_from(module: str, items: list[Any] | None = None) -> Any:
    """An async stream object whose class claims to live in `module`."""

    class Stream:
        def __init__(self) -> None:
            self.items = list(items or [])

        def __aiter__(self) -> Stream:
            return self

        async def __anext__(self) -> Any:
            if not self.items:
                raise StopAsyncIteration
            return self.items.pop(0)

    Stream.__module__ = module
    Stream.__qualname__ = "Stream"
    return Stream()


# The reference's custom adapter, as users will write it ("Creating Custom Adapters").
class AnthropicAdapter:
    """Adapter for direct Anthropic SDK (if not using LiteLLM)."""

    name = "anthropic"

    def detect(self, stream: Any) -> bool:
        return "anthropic" in type(stream).__module__

    async def wrap(self, stream: Any) -> AsyncIterator[Event]:
        usage = None

        async for event in stream:
            event_type = getattr(event, "type", None)

            if event_type == "content_block_delta":
                delta = getattr(event, "delta", None)
                if delta and hasattr(delta, "text"):
                    yield Event(type=EventType.TOKEN, text=delta.text)

            elif event_type == "content_block_start":
                block = getattr(event, "content_block", None)
                if block and getattr(block, "type", None) == "tool_use":
                    yield Event(
                        type=EventType.TOOL_CALL,
                        data={
                            "id": getattr(block, "id", None),
                            "name": getattr(block, "name", None),
                        },
                    )

            elif event_type == "message_delta":
                msg_usage = getattr(event, "usage", None)
                if msg_usage:
                    usage = {
                        "input_tokens": getattr(msg_usage, "input_tokens", 0),
                        "output_tokens": getattr(msg_usage, "output_tokens", 0),
                    }

            elif event_type == "message_stop":
                yield Event(type=EventType.COMPLETE, usage=usage)


def anthropic_events() -> list[Any]:
    ns = SimpleNamespace
    return [
        ns(type="message_start"),
        ns(type="content_block_start", content_block=ns(type="text")),
        ns(type="content_block_delta", delta=ns(text="Hel")),
        ns(type="content_block_delta", delta=ns(text="lo")),
        ns(type="content_block_start", content_block=ns(type="tool_use", id="tu_1", name="f")),
        ns(type="message_delta", usage=ns(input_tokens=4, output_tokens=2)),
        ns(type="message_stop"),
    ]


@pytest.mark.anyio
async def test_reference_anthropic_adapter_registers_detects_and_wraps() -> None:
    Adapters.register(AnthropicAdapter())
    stream = stream_from("anthropic.lib.streaming", anthropic_events())
    adapter = Adapters.detect(stream)
    assert adapter.name == "anthropic"
    events = [event async for event in adapter.wrap(stream)]
    assert [(e.type, e.text) for e in events] == [
        (EventType.TOKEN, "Hel"),
        (EventType.TOKEN, "lo"),
        (EventType.TOOL_CALL, None),
        (EventType.COMPLETE, None),
    ]
    assert events[2].data == {"id": "tu_1", "name": "f"}
    assert events[3].usage == {"input_tokens": 4, "output_tokens": 2}


def test_reference_custom_adapter_satisfies_the_protocol() -> None:
    assert isinstance(AnthropicAdapter(), Adapter)
    assert AdaptedEvent is Event


def test_builtins_detect_openai_and_litellm_streams_by_module() -> None:
    assert Adapters.detect(stream_from("openai._streaming")).name == "openai"
    litellm_stream = stream_from("litellm.litellm_core_utils.streaming_handler")
    assert Adapters.detect(litellm_stream).name == "litellm"


def test_a_subclass_defined_elsewhere_is_detected_through_its_bases() -> None:
    base = type(stream_from("openai._streaming"))
    subclass = type("MyStream", (base,), {"__module__": "myapp.streams"})
    assert Adapters.detect(subclass()).name == "openai"


def test_registered_adapter_takes_priority_over_builtins() -> None:
    class Custom:
        name = "custom-openai"

        def detect(self, stream: Any) -> bool:
            return "openai" in type(stream).__module__

        async def wrap(self, stream: Any) -> AsyncIterator[Event]:
            yield Event(type=EventType.COMPLETE)

    custom = Custom()
    Adapters.register(custom)
    assert Adapters.detect(stream_from("openai._streaming")) is custom
    assert Adapters.get("openai").name == "openai"  # lookup by name still finds the built-in
    assert Adapters.names() == ["custom-openai", "litellm", "openai"]


def test_later_registrations_win_and_same_name_replaces() -> None:
    first = AnthropicAdapter()
    second = AnthropicAdapter()
    Adapters.register(first)
    Adapters.register(second)
    assert Adapters.names() == ["anthropic", "litellm", "openai"]
    assert Adapters.get("anthropic") is second


def test_a_registered_adapter_named_like_a_builtin_shadows_it() -> None:
    mine = OpenAIAdapter()
    Adapters.register(mine)
    assert Adapters.get("openai") is mine


def test_lookup_by_name() -> None:
    assert isinstance(Adapters.get("openai"), OpenAIAdapter)
    assert isinstance(Adapters.get("litellm"), LiteLLMAdapter)


def test_unknown_name_is_adapter_not_found_listing_the_known_ones() -> None:
    with pytest.raises(Error) as caught:
        Adapters.get("gemini")
    assert caught.value.code is ErrorCode.ADAPTER_NOT_FOUND
    assert "'gemini'" in str(caught.value) and "litellm, openai" in str(caught.value)


def test_undetectable_stream_is_adapter_not_found_naming_its_type() -> None:
    with pytest.raises(Error) as caught:
        Adapters.detect(stream_from("somewhere.else"))
    assert caught.value.code is ErrorCode.ADAPTER_NOT_FOUND
    assert "somewhere.else.Stream" in str(caught.value)
    assert "adapter='openai'" in str(caught.value)


def test_sync_iterators_and_awaitables_get_a_hint() -> None:
    with pytest.raises(Error, match="synchronous iterator"):
        Adapters.detect(iter(["a"]))

    async def make() -> None:
        return None

    coroutine = make()
    try:
        with pytest.raises(Error, match="await it"):
            Adapters.detect(coroutine)
    finally:
        coroutine.close()


def test_a_sync_openai_stream_is_not_taken_by_the_async_adapter() -> None:
    sync_stream = type("Stream", (), {"__iter__": lambda self: iter(()), "__module__": "openai"})()
    with pytest.raises(Error, match="synchronous iterator"):
        Adapters.detect(sync_stream)


def test_unregister_and_clear() -> None:
    Adapters.register(AnthropicAdapter())
    assert Adapters.unregister("anthropic") is True
    assert Adapters.unregister("anthropic") is False
    assert Adapters.unregister("openai") is False  # built-ins stay
    Adapters.register(AnthropicAdapter())
    Adapters.clear()
    assert Adapters.names() == ["litellm", "openai"]


def test_resolve_follows_the_adapter_argument() -> None:
    openai_stream = stream_from("openai._streaming")
    assert Adapters.resolve(openai_stream).name == "openai"
    assert Adapters.resolve(openai_stream, "litellm").name == "litellm"
    mine = AnthropicAdapter()
    assert Adapters.resolve(openai_stream, mine) is mine


@pytest.mark.parametrize(
    "bad",
    [
        object(),
        SimpleNamespace(name="", detect=lambda s: True, wrap=lambda s: s),
        SimpleNamespace(name="x", detect=True, wrap=lambda s: s),
        SimpleNamespace(name="x", detect=lambda s: True),
    ],
)
def test_register_rejects_what_is_not_an_adapter(bad: Any) -> None:
    with pytest.raises(Error) as caught:
        Adapters.register(bad)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(Error):
        Adapters.resolve(stream_from("openai"), bad)


def test_the_adapters_package_exports() -> None:
    assert set(l0_adapters.__all__) >= {
        "AdaptedEvent",
        "Adapter",
        "Adapters",
        "LiteLLMAdapter",
        "OpenAIAdapter",
        "OpenAIAdapterOptions",
    }


def test_detecting_a_real_openai_stream_imports_neither_litellm_nor_more() -> None:
    """In a fresh interpreter: importing l0.adapters loads no provider package, and detecting
    a real openai stream (from a local FaultServer) never imports litellm."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        import l0.adapters
        assert "openai" not in sys.modules and "litellm" not in sys.modules, "eager import"
        from openai import AsyncOpenAI
        from l0.adapters import Adapters
        from l0.testing import FaultServer, Reply

        async def main():
            with FaultServer() as server:
                server.script("m", [Reply(["hi"])])
                client = AsyncOpenAI(base_url=server.base_url, api_key="t", max_retries=0)
                stream = await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}], stream=True
                )
                adapter = Adapters.detect(stream)
                text = "".join([e.text async for e in adapter.wrap(stream) if e.is_token])
                await client.close()
            return adapter.name, text

        name, text = asyncio.run(main())
        assert (name, text) == ("openai", "hi"), (name, text)
        assert "litellm" not in sys.modules, "detection imported litellm"
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
