"""The lean stream path of a wrapped OpenAI client: the SDK's request, l0's own body reader.

The `openai` SDK spends most of a stream's CPU building a Pydantic object for every chunk.
On this path the SDK still makes the request (`with_streaming_response.create`: auth, base
URL, headers, Azure, organisation and project, and a non-2xx status raised as its own
exception class), but l0 reads the body itself (straight from the connection where it came
over the SDK's own HTTP/1.1 stack, `body.py`; else httpx2's `aiter_bytes()`): `SSEDecoder`
splits the bytes into events, `jiter` parses each chunk's JSON into plain dicts, and the
OpenAI adapter's `ChunkReader` (the same one the SDK path uses) turns them into l0 events.
So what reaches the runtime is exactly what `OpenAIAdapter.wrap` yields on the SDK path:

- `data: [DONE]` ends the stream (the rest of the body is drained briefly, as the SDK does,
  so the connection can be reused); comments and keep-alives are skipped;
- a chunk whose JSON has a truthy `error` raises `openai.APIError` with the SDK's message
  and body; malformed JSON raises the `json.JSONDecodeError` that `json.loads` raises
  (jiter parses, and a chunk it refuses is parsed again by `json.loads` so that the same
  exception, or the same value, comes out);
- a read that times out or fails raises `openai.APITimeoutError` / `APIConnectionError`
  from the response's request, as the SDK's stream does;
- the stream, the body and the connection are closed whenever the reader stops: at the end,
  on an error, when the consumer leaves early, and on `aclose()` (the runtime calls it on
  abort, timeout or retry).

`LeanChatStream` is what the wrapped client's request returns on this path; it iterates as
l0 `Event`s, so no adapter is needed for it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import jiter

from l0.adapters.diagnosis import html_page_error
from l0.adapters.openai import FINISH_GRACE, ChunkReader, OpenAIAdapterOptions
from l0.client.body import direct_body
from l0.client.sse import SSEDecoder
from l0.types import Event, EventType

_TOKEN = EventType.TOKEN
_TOOL_CALL = EventType.TOOL_CALL
_OPTIONS = OpenAIAdapterOptions()
_DRAIN_SECONDS = 0.1  # as long as the SDK waits for the rest of a body after [DONE]


# The fields of the SDK's `CompletionUsage`, in its order: its `model_dump()` lists them
# first, then any other keys in the order they came.
_USAGE_FIELDS = (
    "completion_tokens",
    "prompt_tokens",
    "total_tokens",
    "completion_tokens_details",
    "prompt_tokens_details",
)


def _in_sdk_order(usage: dict[str, Any]) -> dict[str, Any]:
    """The usage dict with its keys in the order the SDK path reports them."""
    ordered = {name: usage[name] for name in _USAGE_FIELDS if name in usage}
    ordered.update(usage)
    return ordered


def _parse(data: str) -> Any:
    """`json.loads(data)`, computed by jiter (the same value, or the same exception)."""
    try:
        return jiter.from_json(data.encode())
    except ValueError:
        return json.loads(data)  # raises what the SDK raises, or accepts what jiter refused


def _stream_error(data: Any, request: Any) -> BaseException:
    """The `openai.APIError` the SDK raises for a chunk that carries an `error`."""
    from openai import APIError

    error = data.get("error")
    message = error.get("message") if isinstance(error, Mapping) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return APIError(message=message, request=request, body=error)


def _sdk_error(name: str, request: Any) -> BaseException:
    """`openai.APITimeoutError` or `openai.APIConnectionError` for the response's request."""
    import openai

    error: BaseException = getattr(openai, name)(request=request)
    return error


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """The read errors the SDK's stream turns into APITimeoutError / APIConnectionError."""
    try:
        from openai._httpx2 import request_exceptions, timeout_exceptions
    except ImportError:  # openai releases built on httpx
        import httpx

        return (httpx.TimeoutException,), (httpx.RequestError,)
    return timeout_exceptions(), request_exceptions()


_GRACE_OVER: Any = object()  # no read came within FINISH_GRACE after the finish reason


class LeanChatStream:
    """A streaming chat completion read without the SDK's chunk objects (module docstring)."""

    __slots__ = ("_closed", "_response", "http_response")

    def __init__(self, response: Any) -> None:
        self._response = response  # the SDK's AsyncAPIResponse
        self.http_response: Any = response.http_response
        self._closed = False

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        # One generator reads, decodes and emits: a chunk costs no extra async frame.
        reader = ChunkReader(_OPTIONS)
        feed = reader.feed
        response = self.http_response
        request = response.request
        timeouts, failures = _transport_errors()
        decoder = SSEDecoder()
        body: AsyncIterator[bytes] | None = None
        try:
            page = await html_page_error(response)
            if page is not None:  # a proxy's or portal's page: say so, do not retry it
                yield Event(type=EventType.ERROR, error=page)
                return
            # Straight from the connection where it came the usual way (body.py), else httpx2's.
            body = direct_body(response) or response.aiter_bytes()
            next_read = body.__anext__
            try:
                delivered = False  # any text or tool call: then the answer was a stream
                ended = False
                while not ended:
                    try:
                        if reader.finish_reason is None:
                            raw = await next_read()
                        else:  # the answer is complete: wait briefly for trailing chunks
                            raw = _GRACE_OVER
                            with anyio.move_on_after(FINISH_GRACE):
                                raw = await next_read()
                            if raw is _GRACE_OVER:  # nothing came: the answer stands as it is
                                break
                    except StopAsyncIteration:
                        events = decoder.finish()
                        ended = True
                    except timeouts as exc:
                        raise _sdk_error("APITimeoutError", request) from exc
                    except failures as exc:
                        raise _sdk_error("APIConnectionError", request) from exc
                    else:
                        events = decoder.feed(raw)
                    for name, payload in events:
                        if payload.startswith("[DONE]"):
                            await self._drain(body)
                            ended = True
                            break
                        data = _parse(payload)
                        if name is not None and name.startswith("thread."):
                            continue  # an Assistants event: no chat completion chunk in it
                        if type(data) is dict and data.get("error"):
                            raise _stream_error(data, request)
                        text = feed(data)
                        if text is not None:
                            delivered = True
                            yield Event(type=_TOKEN, text=text)
                        if reader.tool_calls_ready:
                            delivered = True
                            for call in reader.take_tool_calls():
                                yield Event(type=_TOOL_CALL, data=call)
                    if decoder.error is not None and not ended:
                        raise decoder.error
            except Exception as exc:  # what the SDK would have raised, passed on unchanged
                yield Event(type=EventType.ERROR, error=exc)
                return
            if type(reader.usage) is dict:
                reader.usage = _in_sdk_order(reader.usage)
            for event in reader.ending(delivered, response, include_usage=_OPTIONS.include_usage):
                yield event
        finally:
            if body is not None:
                await _close_iterator(body)
            await self.aclose()

    async def _drain(self, body: AsyncIterator[bytes]) -> None:
        """Read what follows `[DONE]` (normally nothing) so the connection can be reused."""
        if getattr(self.http_response, "http_version", "HTTP/1.1") != "HTTP/1.1":
            return
        with anyio.move_on_after(_DRAIN_SECONDS):
            try:
                async for _ in body:
                    await anyio.lowlevel.checkpoint()
            except Exception:  # cleanup must not turn a finished answer into an error
                return

    async def aclose(self) -> None:
        """Close the body and release the connection (idempotent, shielded)."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            await self.http_response.aclose()

    close = aclose

    def __repr__(self) -> str:
        return f"LeanChatStream({self.http_response!r})"


async def _close_iterator(body: Any) -> None:
    closer = getattr(body, "aclose", None)
    if closer is not None:
        with anyio.CancelScope(shield=True):
            await closer()


def lean_call(completions: Any) -> Callable[..., Any]:
    """The per-attempt call of the lean path for an SDK `chat.completions` resource: it
    makes the request with the SDK and returns a `LeanChatStream` over the response."""
    streaming = completions.with_streaming_response

    async def open_lean(**kwargs: Any) -> LeanChatStream:
        manager = streaming.create(**kwargs)
        response = await manager.__aenter__()  # the request; a bad status raises here
        return LeanChatStream(response)

    return open_lean


__all__ = ["LeanChatStream", "lean_call"]
