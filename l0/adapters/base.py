"""The adapter protocol: how l0 reads a provider's stream.

An adapter has a `name`, a cheap `detect(stream)` that recognises the provider's stream
object without importing the provider's package, and `wrap(stream)`, an async iterator of
`AdaptedEvent`s. `AdaptedEvent` is `Event` itself (an alias, so the reference's examples
that yield `Event(...)` are adapters as they stand): TOKEN events with the text exactly as
received, TOOL_CALL events with a complete call, and at the end either one COMPLETE (with
`usage`, and `data` holding `finish_reason` and `model`) or one ERROR carrying the provider's
exception object unchanged, after which the adapter stops.

`close_stream` is the shared way to release a provider stream: adapters call it in
`finally`, and the runtime may call it again when it abandons a stream (it is idempotent
for the SDKs l0 knows).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any, Protocol, TypeAlias, cast, runtime_checkable

from l0.errors import Error, ErrorCode
from l0.types import Event

AdaptedEvent: TypeAlias = Event

# Closing a stream releases a local connection; the bound only guards against a close()
# that never returns, so that abandoning a stream cannot hang the run.
CLOSE_TIMEOUT_SECONDS = 5.0


@runtime_checkable
class Adapter(Protocol):
    """Turns one provider's stream objects into l0 events."""

    name: str

    def detect(self, stream: Any) -> bool:
        """Return True if this adapter can handle the stream."""
        ...

    def wrap(self, stream: Any) -> AsyncIterator[AdaptedEvent]:
        """Wrap raw stream into Event stream."""
        ...


def check_adapter(adapter: object) -> Adapter:
    """`adapter` itself when it has a usable name, detect and wrap; a clear error otherwise."""
    name = getattr(adapter, "name", None)
    if not isinstance(name, str) or not name:
        raise Error(
            f"an adapter needs a non-empty string `name`, got {name!r} on {adapter!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    for method in ("detect", "wrap"):
        if not callable(getattr(adapter, method, None)):
            raise Error(
                f"adapter {name!r} has no callable `{method}`: an adapter needs "
                "`detect(stream) -> bool` and `wrap(stream) -> AsyncIterator[Event]`",
                code=ErrorCode.INVALID_ARGUMENT,
            )
    return cast(Adapter, adapter)


def defining_packages(stream: Any) -> frozenset[str]:
    """The top-level packages that define the stream's class and its bases."""
    kind: type = type(stream)
    return _packages_of(kind)


@functools.lru_cache(maxsize=256)
def _packages_of(kind: type) -> frozenset[str]:
    # Asked once per attempt for every adapter; a class's packages never change.
    return frozenset(klass.__module__.partition(".")[0] for klass in kind.__mro__)


async def close_stream(stream: Any) -> None:
    """Close a provider stream (`aclose()` or `close()`), shielded from cancellation.

    Errors from closing are dropped: the stream is being abandoned and whatever it failed
    with has already been reported.
    """
    import anyio

    closer = getattr(stream, "aclose", None)
    if not callable(closer):
        closer = getattr(stream, "close", None)
    if not callable(closer):
        return
    with anyio.move_on_after(CLOSE_TIMEOUT_SECONDS, shield=True), suppress(Exception):
        result = closer()
        if inspect.isawaitable(result):
            await result


__all__ = [
    "CLOSE_TIMEOUT_SECONDS",
    "AdaptedEvent",
    "Adapter",
    "check_adapter",
    "close_stream",
    "defining_packages",
]
