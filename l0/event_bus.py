"""`EventBus`: one per run, it hands the run's lifecycle events to its handlers.

The bus owns what the core must not touch: the wall clock (an `emit` without `ts` is stamped
now) and the run's `stream_id`, a UUIDv7 made only when first needed. The context is
deep-copied once, when the bus is made. Handlers that raise are logged and ignored:
observability never breaks a stream. The events themselves are `l0.observability`'s.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import time
from typing import Any

from l0.errors import Error, ErrorCode
from l0.observability import EventHandler, ObservabilityEvent, ObservabilityEventType

logger = logging.getLogger("l0")


def uuid7() -> str:
    """A UUIDv7 string: 48 bits of Unix milliseconds, then random bits (RFC 9562).

    Written here rather than taken from a package: it is eight lines, and the standard
    library only gains `uuid.uuid7` in Python 3.14.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # RFC 9562 variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _snapshot(context: dict[str, Any]) -> dict[str, Any]:
    """A deep copy: events report the context as it was given, whatever happens to it later."""
    try:
        return copy.deepcopy(context)
    except Exception as exc:
        raise Error(
            f"context must be copyable (it is deep-copied so events report it as it was "
            f"passed): {exc}",
            code=ErrorCode.INVALID_ARGUMENT,
        ) from exc


class EventBus:
    """Dispatches a run's lifecycle events to its handlers."""

    __slots__ = ("_context", "_handlers", "_stream_id", "active")

    def __init__(
        self,
        handler: EventHandler | None = None,
        context: dict[str, Any] | None = None,
        *,
        stream_id: str | None = None,
    ) -> None:
        self._handlers: list[EventHandler] = [handler] if handler is not None else []
        # Whether anyone listens; the runtime skips building events when nobody does. A
        # field, not a property: the runtime asks at every phase boundary.
        self.active = handler is not None
        self._context: dict[str, Any] = _snapshot(context) if context else {}
        self._stream_id = stream_id

    @property
    def stream_id(self) -> str:
        if self._stream_id is None:
            self._stream_id = uuid7()
        return self._stream_id

    @property
    def context(self) -> dict[str, Any]:
        return dict(self._context)

    def add_handler(self, handler: EventHandler) -> None:
        self._handlers.append(handler)
        self.active = True

    def emit(
        self,
        event_type: ObservabilityEventType,
        *,
        ts: float | None = None,
        **meta: Any,
    ) -> ObservabilityEvent | None:
        """Build an event and hand it to every handler. Returns it (None if nobody listens)."""
        if not self._handlers:
            return None
        event = ObservabilityEvent(
            type=ObservabilityEventType(event_type),
            ts=time.time() * 1000.0 if ts is None else ts,
            stream_id=self.stream_id,
            context=dict(self._context),
            meta=meta,
        )
        for handler in self._handlers:
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):
                    _refuse_awaitable(result, event)
            except Exception:  # a broken handler must not break the stream
                logger.exception("l0: on_event handler raised for %s", event.type.value)
        return event


def _refuse_awaitable(result: Any, event: ObservabilityEvent) -> None:
    """A handler that looked sync (run() refuses `async def` ones) returned an awaitable:
    nobody would await it. It is closed (no RuntimeWarning) and the mistake raised, to be
    logged like any broken handler."""
    close = getattr(result, "close", None)
    if close is not None:
        close()
    raise TypeError(
        f"on_event returned an awaitable for {event.type.value}; l0 calls on_event "
        "synchronously and never awaits it: pass a plain function"
    )


__all__ = ["EventBus", "uuid7"]
