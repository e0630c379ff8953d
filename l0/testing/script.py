"""What a `FaultServer` answers: the steps of a per-model script.

A script is a list of steps, consumed one per request. A step is one of:

- `Reply`: a streamed chat completion. Its fields also inject the faults that happen inside
  a stream: a stall, a malformed chunk, a body cut after some chunks, a missing `[DONE]`
  or finish chunk.
- `ErrorReply`: an HTTP error with an OpenAI-style error body (429 with `Retry-After`,
  5xx, 401/403, 400 with a code such as `context_length_exceeded`).
- `ResetConnection`: the connection is reset before any response byte is sent.
- `RawReply`: a streamed body of exactly the given bytes (for SSE that `Reply` cannot say).
- `PageReply`: any other HTTP answer, sent whole as it is: the HTML page a proxy, a login
  portal or a wrong `base_url` serves with status 200, for instance.

Positions inside a stream (`Stall.after`, `drop_after`, `malformed_after`) count *content
chunks*: each text token is one chunk, each tool call is a head chunk (id and name) followed
by one chunk per argument fragment. These are plain immutable values, checked when built,
so a script can be shared between tests and repeated (`[ErrorReply(503)] * 3`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from l0.errors import Error, ErrorCode


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _check_seconds(owner: str, name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _invalid(f"{owner}.{name} must be a number of seconds >= 0, got {value!r}")


def _check_position(name: str, value: int | None, limit: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise _invalid(
            f"Reply.{name} must be a chunk count between 0 and {limit} (the reply's content "
            f"chunks), got {value!r}"
        )


@dataclass(frozen=True, slots=True)
class Stall:
    """Go silent for `seconds` (real time) after `after` content chunks.

    With `before_headers=True` the server waits before sending the response headers, so
    the client's `create(...)` call itself hangs; `after` must then be 0.
    """

    seconds: float
    after: int = 0
    before_headers: bool = False

    def __post_init__(self) -> None:
        _check_seconds("Stall", "seconds", self.seconds)
        if isinstance(self.after, bool) or not isinstance(self.after, int) or self.after < 0:
            raise _invalid(f"Stall.after must be a chunk count >= 0, got {self.after!r}")
        if self.before_headers and self.after:
            raise _invalid("Stall(before_headers=True) cannot also stall after chunks")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call streamed as a head chunk (id, name) and one chunk per argument fragment.

    `arguments` is the whole JSON string (sent in one fragment) or the fragments to send;
    they are sent exactly as given, valid JSON or not.
    """

    name: str
    arguments: str | Sequence[str] = ""
    id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _invalid(f"ToolCall.name must be a non-empty string, got {self.name!r}")
        if isinstance(self.arguments, str):
            return
        if not isinstance(self.arguments, Sequence) or not all(
            isinstance(part, str) for part in self.arguments
        ):
            raise _invalid(
                f"ToolCall.arguments must be a string or a sequence of strings, "
                f"got {self.arguments!r}"
            )
        object.__setattr__(self, "arguments", tuple(self.arguments))

    @property
    def fragments(self) -> tuple[str, ...]:
        if isinstance(self.arguments, str):
            return (self.arguments,) if self.arguments else ()
        return tuple(self.arguments)

    @property
    def full_arguments(self) -> str:
        return "".join(self.fragments)


@dataclass(frozen=True, slots=True)
class Reply:
    """A streamed chat completion, optionally with a fault inside the stream.

    `tokens` are the content deltas, one chunk each, sent exactly as given (a plain string
    is a single token). `finish_reason` defaults to "tool_calls" when there are tool calls
    and "stop" otherwise; `finish=False` leaves the finish chunk out. `done=False` ends the
    body without `data: [DONE]`. `hang_after_finish=s` goes silent for s seconds after the
    finish chunk (and the usage chunk), before `[DONE]` and the end of the body: a provider
    that finishes its answer but never ends the stream. `usage` overrides the counts of the
    usage chunk, which is sent when the request asks for it
    (`stream_options={"include_usage": True}`). `model`
    overrides the model name in the chunks (default: the requested model).

    Faults: `stall` pauses the stream; `malformed_after=n` sends a chunk of broken JSON after
    n content chunks; `drop_after=n` closes the connection after n content chunks, mid-body,
    so the client sees an incomplete chunked body.
    """

    tokens: str | Sequence[str] = ()
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: str | None = None
    finish: bool = True
    done: bool = True
    hang_after_finish: float = 0.0
    usage: Mapping[str, int] | None = None
    model: str | None = None
    stall: Stall | None = None
    malformed_after: int | None = None
    drop_after: int | None = None
    interleave_tool_calls: bool = False

    def __post_init__(self) -> None:
        tokens = (self.tokens,) if isinstance(self.tokens, str) else self.tokens
        if not isinstance(tokens, Sequence) or not all(isinstance(t, str) for t in tokens):
            raise _invalid(
                f"Reply.tokens must be a string or a sequence of strings, got {tokens!r}"
            )
        object.__setattr__(self, "tokens", tuple(tokens))
        calls = self.tool_calls
        if not isinstance(calls, Sequence) or not all(isinstance(c, ToolCall) for c in calls):
            raise _invalid(f"Reply.tool_calls must be a sequence of ToolCall, got {calls!r}")
        object.__setattr__(self, "tool_calls", tuple(calls))
        if self.usage is not None:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in self.usage.values()):
                raise _invalid(f"Reply.usage must map names to ints, got {self.usage!r}")
            object.__setattr__(self, "usage", dict(self.usage))
        _check_seconds("Reply", "hang_after_finish", self.hang_after_finish)
        if self.stall is not None and not isinstance(self.stall, Stall):
            raise _invalid(f"Reply.stall must be an l0.testing.Stall, got {self.stall!r}")
        limit = self.content_chunks
        _check_position("malformed_after", self.malformed_after, limit)
        _check_position("drop_after", self.drop_after, limit)
        if self.stall is not None:
            _check_position("stall.after", self.stall.after, limit)

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def content_chunks(self) -> int:
        """How many content chunks the reply streams (tokens plus tool-call chunks)."""
        return len(self.tokens) + sum(1 + len(call.fragments) for call in self.tool_calls)

    @property
    def effective_finish_reason(self) -> str:
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


# Default bodies per status, shaped like OpenAI's: (type, code, message).
_STATUS_BODIES: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}  # fmt: skip

_CODE_MESSAGES: dict[str, tuple[str | None, str]] = {
    "context_length_exceeded": (
        "messages",
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130000 tokens. Please reduce the length of the messages.",
    ),
    "content_policy_violation": (
        None,
        "Your request was rejected as a result of our safety system.",
    ),
}


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An HTTP error response with an OpenAI-style body `{"error": {...}}`.

    `message`, `type` and `code` default to what OpenAI sends for the status (and, for 400,
    for the code: `context_length_exceeded`, `content_policy_violation`). `retry_after`
    (seconds) and `retry_after_ms` set the `Retry-After` and `retry-after-ms` headers.
    """

    status: int
    code: str | None = None
    message: str | None = None
    type: str | None = None
    param: str | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.status, bool) or not isinstance(self.status, int):
            raise _invalid(f"ErrorReply.status must be an int, got {self.status!r}")
        if not 400 <= self.status <= 599:
            raise _invalid(f"ErrorReply.status must be an HTTP error (400-599), got {self.status}")
        for name in ("retry_after", "retry_after_ms"):
            value = getattr(self, name)
            if value is not None:
                _check_seconds("ErrorReply", name, value)
        object.__setattr__(self, "headers", dict(self.headers))

    def body(self) -> dict[str, object]:
        kind, code, message = _STATUS_BODIES.get(
            self.status,
            ("server_error" if self.status >= 500 else "invalid_request_error", None, "Error."),
        )
        param = None
        code = self.code if self.code is not None else code
        if code in _CODE_MESSAGES:
            param, message = _CODE_MESSAGES[code]
        return {
            "error": {
                "message": self.message if self.message is not None else message,
                "type": self.type if self.type is not None else kind,
                "param": self.param if self.param is not None else param,
                "code": code,
            }
        }

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = _number(self.retry_after)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = _number(self.retry_after_ms)
        return headers


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, slots=True)
class ResetConnection:
    """Reset the TCP connection (RST) before sending any response byte."""


@dataclass(frozen=True, slots=True)
class RawReply:
    """A 200 `text/event-stream` response whose body is exactly `writes`, one write each.

    For what a `Reply` cannot say: comments, keep-alives, CR line ends, error events, a
    UTF-8 character split between two writes, broken JSON anywhere. `gap` waits that many
    seconds (real time) between writes, so that each arrives in a read of its own; with
    `cut=True` the connection is closed after the last write instead of ending the body.
    """

    writes: Sequence[bytes]
    gap: float = 0.0
    cut: bool = False

    def __post_init__(self) -> None:
        writes = tuple(self.writes)
        if not all(isinstance(write, bytes) for write in writes):
            raise _invalid("RawReply.writes must be a sequence of bytes")
        _check_seconds("RawReply", "gap", self.gap)
        object.__setattr__(self, "writes", writes)


@dataclass(frozen=True, slots=True)
class PageReply:
    """An HTTP response sent exactly as given, whatever the request asked for (by default
    an HTML page with status 200, as a proxy or a login portal would answer)."""

    body: str | bytes = (
        "<!DOCTYPE html><html><title>Sign in</title><body>Please sign in.</body></html>"
    )
    content_type: str = "text/html; charset=utf-8"
    status: int = 200

    def __post_init__(self) -> None:
        if not isinstance(self.body, (str, bytes)):
            raise _invalid(f"PageReply.body must be str or bytes, got {type(self.body).__name__}")
        if not isinstance(self.content_type, str):
            raise _invalid(f"PageReply.content_type must be a str, got {self.content_type!r}")
        status = self.status
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise _invalid(f"PageReply.status must be an HTTP status (100-599), got {status!r}")

    @property
    def data(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Step: TypeAlias = Reply | ErrorReply | ResetConnection | RawReply | PageReply

STEP_TYPES = (Reply, ErrorReply, ResetConnection, RawReply, PageReply)

__all__ = [
    "STEP_TYPES",
    "ErrorReply",
    "PageReply",
    "RawReply",
    "Reply",
    "ResetConnection",
    "Stall",
    "Step",
    "ToolCall",
]
