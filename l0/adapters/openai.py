"""The OpenAI adapter: chat completion chunks in, l0 events out.

`ChunkReader` is the pure, incremental part: `feed(chunk)` returns the chunk's text (or
None) and notes everything else the chunk says (tool-call fragments, finish reason, usage,
model, refusal, and the tokens' logprobs when the request asked for them). When
`tool_calls_ready` turns true (a finish reason arrived while calls were open),
`take_tool_calls()` hands them over; `complete()` builds the final COMPLETE event. Chunks
are read by attribute or by key, so SDK objects and plain dicts work alike and the `openai`
package is never imported.

`OpenAIAdapter.wrap` is the thin async part: it iterates the SDK stream, yields a TOKEN per
non-empty text delta, TOOL_CALL events when calls complete, then COMPLETE when the stream
ends, or a single ERROR with the exception the SDK raised. It closes the stream in
`finally`, so a consumer that stops early never leaks the connection.

A finish reason completes the answer: after it, each further read waits at most
`FINISH_GRACE` seconds (time for the trailing usage chunk and `[DONE]`). A provider that
then neither sends `[DONE]` nor closes the body is done all the same: its stream is closed
and COMPLETE follows, instead of an inter-token timeout discarding the whole answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio

from l0.adapters.base import AdaptedEvent, close_stream, defining_packages
from l0.adapters.diagnosis import html_page_error, http_response_of, not_a_stream_error
from l0.adapters.tool_calls import ToolCallAccumulator
from l0.errors import Error, ErrorCode
from l0.types import Event, EventType

_TOKEN = EventType.TOKEN
_TOOL_CALL = EventType.TOOL_CALL

# Seconds a finished answer waits for its trailing chunks (usage, `[DONE]`): OpenAI sends
# them right behind the finish chunk, so this only matters for a provider that never ends.
FINISH_GRACE = 0.25
_GRACE_OVER = object()


@dataclass(frozen=True, slots=True)
class OpenAIAdapterOptions:
    """What the OpenAI (and LiteLLM) adapter emits.

    `include_usage`: put the usage counts of the final usage chunk on COMPLETE.
    `emit_tool_calls`: assemble tool-call fragments and emit TOOL_CALL events.
    `choice_index`: which choice to follow when a request asked for several (`n` > 1).
    """

    include_usage: bool = True
    emit_tool_calls: bool = True
    choice_index: int = 0

    def __post_init__(self) -> None:
        index = self.choice_index
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise Error(
                f"OpenAIAdapterOptions.choice_index must be an int >= 0, got {index!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


def _get(obj: Any, name: str) -> Any:
    if type(obj) is dict:
        return obj.get(name)
    return getattr(obj, name, None)


def usage_counts(usage: Any) -> dict[str, int] | None:
    """The top-level integer counts of a usage object or dict (nested details are left out)."""
    if usage is None:
        return None
    if isinstance(usage, dict):
        items = usage
    elif callable(getattr(usage, "model_dump", None)):
        items = usage.model_dump()
    else:
        items = getattr(usage, "__dict__", {})
    counts = {
        key: value
        for key, value in items.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }
    return counts or None


class ChunkReader:
    """Reads OpenAI-shaped chunks one at a time; see the module docstring."""

    __slots__ = (
        "_choice_index",
        "_logprobs",
        "_refusal",
        "_tool_calls",
        "finish_reason",
        "model",
        "tool_calls_ready",
        "usage",
    )

    def __init__(self, options: OpenAIAdapterOptions) -> None:
        self._choice_index = options.choice_index
        self._tool_calls = ToolCallAccumulator() if options.emit_tool_calls else None
        # True once a finish reason arrived while calls were pending: the caller takes them.
        self.tool_calls_ready = False
        self._refusal: list[str] = []
        self._logprobs: list[dict[str, Any]] = []
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.usage: Any = None

    def feed(self, chunk: Any) -> str | None:
        """Note what `chunk` says; return its text delta when it has a non-empty one."""
        model = _get(chunk, "model")
        if model:
            self.model = model
        usage = _get(chunk, "usage")
        if usage is not None:
            self.usage = usage
        choices = _get(chunk, "choices")
        if not choices:
            return None
        text = None
        for choice in choices:
            index = _get(choice, "index")
            if (index or 0) != self._choice_index:
                continue
            delta = _get(choice, "delta")
            if delta is not None:
                text = self._read_delta(delta)
            logprobs = _get(choice, "logprobs")
            if logprobs is not None:  # only when the request asked for them
                self._logprobs.extend(map(_logprob, _get(logprobs, "content") or ()))
            finish_reason = _get(choice, "finish_reason")
            if finish_reason is not None:
                self.finish_reason = finish_reason
                self.tool_calls_ready = self._tool_calls is not None and self._tool_calls.pending
        return text

    def _read_delta(self, delta: Any) -> str | None:
        calls = _get(delta, "tool_calls")
        if calls and self._tool_calls is not None:
            for fragment in calls:
                self._tool_calls.add_fragment(fragment)
        refusal = _get(delta, "refusal")
        if refusal:
            self._refusal.append(refusal)
        content = _get(delta, "content")
        return content if content else None

    def take_tool_calls(self) -> list[dict[str, Any]]:
        """The complete tool calls not yet taken (at a finish reason, or at the end)."""
        self.tool_calls_ready = False
        if self._tool_calls is None or not self._tool_calls.pending:
            return []
        return self._tool_calls.take()

    def complete(self, *, include_usage: bool) -> Event:
        data: dict[str, Any] = {"finish_reason": self.finish_reason, "model": self.model}
        if self._refusal:
            data["refusal"] = "".join(self._refusal)
        if self._logprobs:
            data["logprobs"] = self._logprobs
        usage = usage_counts(self.usage) if include_usage else None
        return Event(type=EventType.COMPLETE, data=data, usage=usage)

    def ending(self, delivered: bool, response: Any, *, include_usage: bool) -> list[Event]:
        """The events that end a stream with no more chunks (both stream paths end so)."""
        # Nothing came, under a content type that is no event stream: not a stream at all
        # (LiteLLM even makes up a finish reason for it).
        wrong = None if delivered else not_a_stream_error(response)
        if wrong is not None:
            return [Event(type=EventType.ERROR, error=wrong)]
        if self.finish_reason is None:
            # An OpenAI stream always ends with a finish reason; without one the answer
            # (and any tool call still open) was cut short: the runtime retries it.
            return [Event(type=EventType.ERROR, error=_incomplete())]
        # calls still open when the stream ended, then the end
        ending = [Event(type=_TOOL_CALL, data=call) for call in self.take_tool_calls()]
        ending.append(self.complete(include_usage=include_usage))
        return ending


def _logprob(entry: Any) -> dict[str, Any]:
    """One token's `logprobs.content` entry as plain data (SDK object or dict alike)."""
    logprob = _get(entry, "logprob")
    data: dict[str, Any] = {
        "token": _get(entry, "token"),
        "logprob": float(logprob) if isinstance(logprob, (int, float)) else logprob,
        "bytes": _get(entry, "bytes"),
    }
    top = _get(entry, "top_logprobs")
    if top:
        data["top_logprobs"] = [_logprob(alternative) for alternative in top]
    return data


def _incomplete() -> Error:
    return Error(
        "The stream ended without a finish reason, so the answer may be cut short",
        code=ErrorCode.INCOMPLETE_STREAM,
    )


class OpenAIAdapter:
    """Adapter for `openai` SDK streams (`AsyncOpenAI().chat.completions.create(stream=True)`)."""

    name = "openai"
    _package = "openai"

    def __init__(self, options: OpenAIAdapterOptions | None = None) -> None:
        if options is not None and not isinstance(options, OpenAIAdapterOptions):
            raise Error(
                f"options must be an OpenAIAdapterOptions, got {options!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self.options = options if options is not None else OpenAIAdapterOptions()

    def detect(self, stream: Any) -> bool:
        """True for async streams whose class comes from the SDK's package (no import)."""
        return hasattr(stream, "__aiter__") and self._package in defining_packages(stream)

    async def wrap(self, stream: Any) -> AsyncIterator[AdaptedEvent]:
        reader = ChunkReader(self.options)
        iterator: Any = stream
        try:
            response = http_response_of(stream)
            page = await html_page_error(response)
            if page is not None:  # a proxy's or portal's page: say so, do not retry it
                yield Event(type=EventType.ERROR, error=page)
                return
            try:
                # Step the stream itself when it is an iterator: `async for` would make the
                # SDK build a generator around it that nobody closes if we stop early.
                if not hasattr(type(stream), "__anext__"):
                    iterator = aiter(stream)
                next_chunk = iterator.__anext__
                delivered = False  # any text or tool call: then the answer was a stream
                while True:
                    try:
                        if reader.finish_reason is None:
                            chunk = await next_chunk()
                        else:  # the answer is complete: wait briefly for trailing chunks
                            chunk = _GRACE_OVER
                            with anyio.move_on_after(FINISH_GRACE):
                                chunk = await next_chunk()
                            if chunk is _GRACE_OVER:
                                break
                    except StopAsyncIteration:
                        break
                    text = reader.feed(chunk)
                    if text is not None:
                        delivered = True
                        yield Event(type=_TOKEN, text=text)
                    if reader.tool_calls_ready:
                        delivered = True
                        for call in reader.take_tool_calls():
                            yield Event(type=_TOOL_CALL, data=call)
            except Exception as exc:  # the provider's own error, passed on unchanged
                yield Event(type=EventType.ERROR, error=exc)
                return
            for event in reader.ending(
                delivered, response, include_usage=self.options.include_usage
            ):
                yield event
        finally:
            if iterator is not stream:
                await close_stream(iterator)
            await close_stream(stream)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"


__all__ = ["ChunkReader", "OpenAIAdapter", "OpenAIAdapterOptions", "usage_counts"]
