"""Helpers for the integration tests: the SDKs pointed at a FaultServer, and a consumer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import l0
from l0.client import WrappedClient
from l0.runtime.stream import Stream
from l0.testing import FaultServer
from l0.types import Event, EventType

USER: list[dict[str, Any]] = [{"role": "user", "content": "Say hello to the world"}]


@dataclass
class Provider:
    """One SDK pointed at the server."""

    name: str
    server: FaultServer
    clients: list[Any]

    def sdk_client(self) -> Any:
        """A real `AsyncOpenAI` with the SDK's default retries (l0 must turn them off)."""
        import openai

        client = openai.AsyncOpenAI(base_url=self.server.base_url, api_key="test")
        self.clients.append(client)
        return client

    def wrap(self, **options: Any) -> WrappedClient:
        if self.name == "openai":
            wrapped: WrappedClient = l0.wrap(self.sdk_client(), **options)
            return wrapped
        import litellm

        litellm.suppress_debug_info = True
        wrapped = l0.wrap(litellm.acompletion, **options)
        return wrapped

    def request(self, model: str, **extra: Any) -> dict[str, Any]:
        """The keyword arguments of a streaming `create(...)` for `model`."""
        base: dict[str, Any] = {"model": model, "messages": USER, "stream": True}
        if self.name == "litellm":
            base.update(model=f"openai/{model}", api_base=self.server.base_url, api_key="test")
        return {**base, **extra}

    async def create(self, client: WrappedClient, model: str, **extra: Any) -> Stream:
        stream: Stream = await client.chat.completions.create(**self.request(model, **extra))
        return stream


@dataclass
class Outcome:
    """What a consumer saw: its text with RESETs applied, the events, the error raised."""

    text: str
    events: list[Event]
    error: BaseException | None

    def of_type(self, kind: EventType) -> list[Event]:
        return [event for event in self.events if event.type is kind]


async def consume(stream: Stream) -> Outcome:
    """Read a stream as a careful consumer does: drop text beyond `kept` on a RESET."""
    text, events = "", []
    try:
        async for event in stream:
            events.append(event)
            if event.is_token:
                text += event.text or ""
            elif event.type is EventType.RESET:
                assert event.data is not None
                text = text[: event.data["kept"]]
    except Exception as error:
        return Outcome(text, events, error)
    return Outcome(text, events, None)
