"""Scripted streams: in-process provider streams that misbehave on cue.

A `Script` says what one attempt's stream does: which chunks it yields, where it raises,
where it goes silent and for how long. A `ScriptedFactory` hands out one scripted stream per
call (the next script each time; the last one repeats) and remembers every stream it made,
so tests can check how many attempts ran and that every abandoned stream was closed.
Waiting uses `anyio.sleep`, so virtual clocks in tests make stalls instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from l0.types import Event


@dataclass(frozen=True, slots=True)
class Script:
    """What one attempt's stream does. Positions are chunk indexes."""

    chunks: Sequence[str | Event | Any] = ()
    fail_at: int | None = None  # raise `error` instead of yielding chunk `fail_at`
    error: BaseException | None = None
    stall_at: int | None = None  # before chunk `stall_at`, go silent for `stall_for` seconds
    stall_for: float = 0.0
    delay: float = 0.0  # seconds between chunks (0: never suspends)

    @classmethod
    def tokens(cls, text: str, *, size: int = 1, **options: Any) -> Script:
        """Split `text` into chunks of `size` characters."""
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        return cls(chunks=chunks, **options)


class ScriptedStream:
    """An async iterator that plays one `Script`; records whether it was closed."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.position = 0
        self.closed = False
        self.finished = False

    def __aiter__(self) -> ScriptedStream:
        return self

    async def __anext__(self) -> Any:
        script = self.script
        index = self.position
        if self.closed:
            raise StopAsyncIteration
        if script.stall_at == index and script.stall_for > 0:
            await anyio.sleep(script.stall_for)
        elif script.delay > 0 and index > 0:
            await anyio.sleep(script.delay)
        if script.fail_at == index:
            self.finished = True
            raise script.error or ConnectionResetError("connection reset by peer (scripted)")
        if index >= len(script.chunks):
            self.finished = True
            raise StopAsyncIteration
        self.position += 1
        return script.chunks[index]

    async def aclose(self) -> None:
        self.closed = True


class ScriptedFactory:
    """A stream factory playing `scripts` in order, one per call; the last one repeats."""

    def __init__(self, *scripts: Script) -> None:
        if not scripts:
            raise ValueError("ScriptedFactory needs at least one Script")
        self.scripts = scripts
        self.streams: list[ScriptedStream] = []

    def __call__(self) -> ScriptedStream:
        script = self.scripts[min(len(self.streams), len(self.scripts) - 1)]
        stream = ScriptedStream(script)
        self.streams.append(stream)
        return stream

    @property
    def calls(self) -> int:
        return len(self.streams)

    @property
    def all_closed(self) -> bool:
        """Every stream handed out was closed (or ran to its end and then closed)."""
        return all(stream.closed for stream in self.streams)


__all__ = ["Script", "ScriptedFactory", "ScriptedStream"]
