"""Saying what came back when a provider's answer is not an event stream.

A streaming request answered by a proxy, a login portal or a wrong `base_url` often gets an
HTML page with status 200. The SDK's event-stream parser finds no `data:` line in it and
the stream simply ends, which would read as a dropped connection ("ended without a finish
reason") and be retried in vain. The adapters ask here instead:

- `html_page_error(response)`, before the first read: when the HTTP response behind the SDK
  stream says `text/html`, a PROVIDER_ERROR naming the status, the content type and a short
  excerpt of the page (the body is not read yet, so it can be shown; at most
  `EXCERPT_BYTES` are read);
- `not_a_stream_error(response)`, when a stream ended without sending a single chunk: a
  PROVIDER_ERROR naming a content type that is not `text/event-stream` (a server that
  ignored `stream=True`, say), or None when the answer did look like an event stream.

The HTTP response is found where the SDKs keep it (`openai`: `stream.response`; LiteLLM:
`stream.completion_stream.response`, which LiteLLM replaces once read: it is looked up
before the first read); streams without one are left alone.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from l0.errors import Error, ErrorCode

EXCERPT_BYTES = 1024  # read at most this much of a page to quote it
EXCERPT_CHARS = 160  # and quote at most this much of it


def http_response_of(stream: Any) -> Any:
    """The httpx-style response behind an SDK stream, or None."""
    for holder in (stream, getattr(stream, "completion_stream", None)):
        response = getattr(holder, "response", None)
        if response is not None and hasattr(response, "headers"):
            return response
    return None


def _content_type(response: Any) -> str:
    try:
        value = response.headers.get("content-type")
    except Exception:  # a foreign object: nothing to say
        return ""
    return value if isinstance(value, str) else ""


async def _excerpt(response: Any) -> str:
    """The start of the body, whitespace collapsed, cut to EXCERPT_CHARS."""
    pieces: list[bytes] = []
    size = 0
    reader = getattr(response, "aiter_bytes", None)
    if callable(reader):
        with contextlib.suppress(Exception):
            async with contextlib.aclosing(reader()) as chunks:
                async for piece in chunks:
                    pieces.append(piece)
                    size += len(piece)
                    if size >= EXCERPT_BYTES:
                        break
    text = re.sub(r"\s+", " ", b"".join(pieces)[:EXCERPT_BYTES].decode("utf-8", "replace"))
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


async def html_page_error(response: Any) -> Error | None:
    """A PROVIDER_ERROR when `response` (from `http_response_of`) is an HTML page."""
    if response is None:
        return None
    content_type = _content_type(response)
    if "text/html" not in content_type.lower():
        return None
    status = getattr(response, "status_code", None)
    excerpt = await _excerpt(response)
    return Error(
        f"The provider answered HTTP {status} with an HTML page ({content_type}), not an "
        f"event stream: {excerpt!r}. Check the client's base_url and any proxy in between.",
        code=ErrorCode.PROVIDER_ERROR,
    )


def not_a_stream_error(response: Any) -> Error | None:
    """A PROVIDER_ERROR for a stream that sent nothing under a content type (of `response`,
    from `http_response_of`) that is not an event stream; None when nothing is known."""
    if response is None:
        return None
    content_type = _content_type(response)
    if not content_type or "event-stream" in content_type.lower():
        return None
    status = getattr(response, "status_code", None)
    return Error(
        f"The provider answered HTTP {status} with content type {content_type!r} and no "
        "stream chunk: not an event stream (did it ignore stream=True?). Check the client's "
        "base_url and the server.",
        code=ErrorCode.PROVIDER_ERROR,
    )


__all__ = [
    "EXCERPT_BYTES",
    "EXCERPT_CHARS",
    "html_page_error",
    "http_response_of",
    "not_a_stream_error",
]
