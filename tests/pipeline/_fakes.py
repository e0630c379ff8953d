"""Stand-ins for the network in pipeline and pool tests.

`FakeClient` has the shape the reference's examples call (`client.chat.completions.create(
model=..., messages=[...], stream=True)`, awaited like the real async SDK) and answers with
a scripted stream whose text `respond(prompt)` decides. `Gauge` counts streams that are
open at the same moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from l0.testing.scripted import Script, ScriptedStream


@dataclass
class FakeCompletions:
    respond: Callable[[str], str]
    delay: float = 0.1
    prompts: list[str] = field(default_factory=list)
    streams: list[ScriptedStream] = field(default_factory=list)

    async def create(self, *, model: str, messages: list[dict[str, str]], stream: bool) -> Any:
        assert stream is True
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        scripted = ScriptedStream(Script.tokens(self.respond(prompt), size=4, delay=self.delay))
        self.streams.append(scripted)
        return scripted


class FakeChat:
    def __init__(self, completions: FakeCompletions) -> None:
        self.completions = completions


class FakeClient:
    """`client.chat.completions.create(...)`, answered by `respond(prompt)`."""

    def __init__(self, respond: Callable[[str], str], *, delay: float = 0.1) -> None:
        self.chat = FakeChat(FakeCompletions(respond, delay))

    @property
    def prompts(self) -> list[str]:
        return self.chat.completions.prompts

    @property
    def all_closed(self) -> bool:
        return all(stream.closed for stream in self.chat.completions.streams)


class Gauge:
    """How many streams are open now, and the most that ever were at once."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self.started: list[str] = []

    def stream(self, text: str, *, delay: float = 1.0) -> Callable[[], AsyncIterator[str]]:
        """A factory for a stream of `text`, one chunk per `delay` seconds, that is counted
        from the moment it opens to the moment it is closed."""

        async def chunks() -> AsyncIterator[str]:
            self.open += 1
            self.peak = max(self.peak, self.open)
            self.started.append(text)
            try:
                for word in text.split():
                    await anyio.sleep(delay)
                    yield word + " "
            finally:
                self.open -= 1

        return chunks
