"""What a foreign exception means: the network table, HTTP statuses, provider codes.

`categorize_error` decides what any exception means for retrying, in this order: l0's own
errors by what they say of themselves; known network exception types, walking
`__cause__`/`__context__` (builtin connection errors, httpx/httpcore/aiohttp by class name,
a malformed JSON chunk); an HTTP status found on the exception (429/5xx transient, 401/403
fatal, other 4xx provider); and only then the message patterns of the network table.
Cancellation is never an error here.

A network cause wins over a status because SDK wrappers report network failures with a
status of their own: LiteLLM raises `InternalServerError` (500) for a reset connection,
`MidStreamFallbackError` (500) for a dropped stream or a malformed chunk and `Timeout` (408)
for a read timeout; only the exceptions behind them say what happened.

`provider_error_code` reads the machine-readable code a provider put on an error (OpenAI's
`error.code`, e.g. "context_length_exceeded"), from the exception or its causes, or from
the type when an SDK says it only that way (LiteLLM's `ContextWindowExceededError`).

l0's error tree (`l0.errors`, which re-exports all of this) sits on top of this module. So
that this module knows l0's own errors without importing them, it defines their base,
`ClassifiedError`: an exception that carries its own category and network type, from which
no clue is read.
"""

from __future__ import annotations

import builtins
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from l0.types import ErrorCategory


class NetworkErrorType(str, Enum):
    """Kinds of network failure; the names match `ErrorTypeDelays`' fields."""

    CONNECTION_DROPPED = "connection_dropped"
    FETCH_ERROR = "fetch_error"
    ECONNRESET = "econnreset"
    ECONNREFUSED = "econnrefused"
    SSE_ABORTED = "sse_aborted"
    NO_BYTES = "no_bytes"
    PARTIAL_CHUNKS = "partial_chunks"
    RUNTIME_KILLED = "runtime_killed"
    BACKGROUND_THROTTLE = "background_throttle"
    DNS_ERROR = "dns_error"
    SSL_ERROR = "ssl_error"
    TIMEOUT = "timeout"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class NetworkErrorAnalysis:
    """What a network failure is and whether retrying can help."""

    type: NetworkErrorType
    retryable: bool
    counts_toward_limit: bool
    suggestion: str
    message: str


class ClassifiedError(Exception):
    """An exception that says what it is: the base of `l0.Error`. The analysis below takes
    its `category` and `network_type` as they are."""

    network_type: NetworkErrorType | None = None  # what l0's NetworkError sets

    @property
    def category(self) -> ErrorCategory:
        raise NotImplementedError  # pragma: no cover - l0.Error says


_SUGGESTIONS: dict[NetworkErrorType, str] = {
    NetworkErrorType.CONNECTION_DROPPED: "The connection closed mid-stream; retrying resumes.",
    NetworkErrorType.FETCH_ERROR: "The request could not be sent; check connectivity.",
    NetworkErrorType.ECONNRESET: "The peer reset the connection; retrying usually helps.",
    NetworkErrorType.ECONNREFUSED: "Nothing is listening at the endpoint; check the base URL.",
    NetworkErrorType.SSE_ABORTED: "The event stream was cut; retrying resumes.",
    NetworkErrorType.NO_BYTES: "The server sent nothing; retrying usually helps.",
    NetworkErrorType.PARTIAL_CHUNKS: "A chunk arrived malformed; retrying usually helps.",
    NetworkErrorType.RUNTIME_KILLED: "The process serving the stream went away.",
    NetworkErrorType.BACKGROUND_THROTTLE: "The runtime throttled the connection.",
    NetworkErrorType.DNS_ERROR: "The host name did not resolve; check the URL and DNS.",
    NetworkErrorType.SSL_ERROR: "TLS failed; fix certificates or the URL, retrying will not.",
    NetworkErrorType.TIMEOUT: "The network timed out; retrying usually helps.",
    NetworkErrorType.UNKNOWN: "A network error; retrying may help.",
}

# The network table of the reference, in the order it is matched.
_NETWORK_PATTERNS: tuple[tuple[re.Pattern[str], NetworkErrorType], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"connection.*reset", NetworkErrorType.ECONNRESET),
        (r"connection.*refused", NetworkErrorType.ECONNREFUSED),
        (r"connection.*timeout", NetworkErrorType.TIMEOUT),
        (r"timed?\s*out", NetworkErrorType.TIMEOUT),
        (r"dns.*failed", NetworkErrorType.DNS_ERROR),
        (r"name.*resolution", NetworkErrorType.DNS_ERROR),
        (r"socket.*error", NetworkErrorType.CONNECTION_DROPPED),
        (r"ssl.*error", NetworkErrorType.SSL_ERROR),
        (r"eof.*occurred", NetworkErrorType.CONNECTION_DROPPED),
        (r"broken.*pipe", NetworkErrorType.CONNECTION_DROPPED),
        (r"network.*unreachable", NetworkErrorType.FETCH_ERROR),
        (r"host.*unreachable", NetworkErrorType.FETCH_ERROR),
    )
)

# HTTP client exceptions recognised by class name, so that no HTTP library is imported.
_NETWORK_CLASS_NAMES: dict[str, NetworkErrorType] = {
    "RemoteProtocolError": NetworkErrorType.CONNECTION_DROPPED,
    "ReadError": NetworkErrorType.CONNECTION_DROPPED,
    "WriteError": NetworkErrorType.CONNECTION_DROPPED,
    "ConnectError": NetworkErrorType.ECONNREFUSED,
    "ReadTimeout": NetworkErrorType.TIMEOUT,
    "WriteTimeout": NetworkErrorType.TIMEOUT,
    "ConnectTimeout": NetworkErrorType.TIMEOUT,
    "PoolTimeout": NetworkErrorType.TIMEOUT,
    "APIConnectionError": NetworkErrorType.CONNECTION_DROPPED,
    "APITimeoutError": NetworkErrorType.TIMEOUT,
    "ServerDisconnectedError": NetworkErrorType.CONNECTION_DROPPED,
    "ClientPayloadError": NetworkErrorType.PARTIAL_CHUNKS,
    "ClientConnectionError": NetworkErrorType.FETCH_ERROR,
    "IncompleteRead": NetworkErrorType.CONNECTION_DROPPED,
    "IncompleteReadError": NetworkErrorType.CONNECTION_DROPPED,
    "BrokenResourceError": NetworkErrorType.CONNECTION_DROPPED,
    "EndOfStream": NetworkErrorType.CONNECTION_DROPPED,
}

_INTERNAL_TYPES = (
    TypeError,
    AttributeError,
    NameError,
    ImportError,
    AssertionError,
    NotImplementedError,
    RecursionError,
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and the chain of exceptions behind it (cause first, then context)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _network_type_of_class(error: BaseException) -> NetworkErrorType | None:
    # ssl, socket and json are looked up, not imported: if a module was never imported, no
    # exception of its types can exist (and `import l0` stays fast).
    ssl = sys.modules.get("ssl")
    if ssl is not None and isinstance(error, ssl.SSLError):
        return NetworkErrorType.SSL_ERROR
    socket = sys.modules.get("socket")
    if socket is not None and isinstance(error, socket.gaierror):
        return NetworkErrorType.DNS_ERROR
    if isinstance(error, ConnectionResetError):
        return NetworkErrorType.ECONNRESET
    if isinstance(error, ConnectionRefusedError):
        return NetworkErrorType.ECONNREFUSED
    if isinstance(error, (ConnectionError, EOFError)):
        return NetworkErrorType.CONNECTION_DROPPED
    json = sys.modules.get("json")
    if json is not None and isinstance(error, json.JSONDecodeError):
        return NetworkErrorType.PARTIAL_CHUNKS
    if isinstance(error, builtins.TimeoutError) and not isinstance(error, ClassifiedError):
        return NetworkErrorType.TIMEOUT
    for klass in type(error).__mro__:
        kind = _NETWORK_CLASS_NAMES.get(klass.__name__)
        if kind is not None:
            return kind
    return None


def _network_type_of_message(error: BaseException) -> NetworkErrorType | None:
    message = str(error)
    if not message:
        return None
    for pattern, kind in _NETWORK_PATTERNS:
        if pattern.search(message):
            return kind
    return None


def _network_type_of_chain(error: BaseException) -> NetworkErrorType | None:
    for link in _causes(error):
        kind = _network_type_of_class(link)
        if kind is not None:
            return kind
    return None


def network_error_type(error: BaseException) -> NetworkErrorType | None:
    """The network failure behind `error`, or None when it is not a network failure.

    Exception types (along the cause chain) decide first; a message pattern only counts for
    an exception that carries no HTTP status."""
    if isinstance(error, ClassifiedError):
        return error.network_type
    kind = _network_type_of_chain(error)
    if kind is not None or status_code_of(error) is not None:
        return kind
    return _network_type_of_message(error)


def status_code_of(error: BaseException) -> int | None:
    """An HTTP status carried by an exception from any common SDK, if there is one."""
    for name in ("status_code", "http_status", "status"):
        value = getattr(error, name, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    response = getattr(error, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    return None


def categorize_error(error: BaseException) -> ErrorCategory:
    """What kind of failure `error` is (see the module docstring for the order of checks)."""
    if isinstance(error, ClassifiedError):
        return error.category
    if _network_type_of_chain(error) is not None:
        return ErrorCategory.NETWORK
    status = status_code_of(error)
    if status is not None:
        if status in (401, 403):
            return ErrorCategory.FATAL
        if status in (408, 409, 425, 429) or status >= 500:
            return ErrorCategory.TRANSIENT
        return ErrorCategory.PROVIDER
    kind = network_error_type(error)
    if kind is not None:
        return ErrorCategory.NETWORK
    if isinstance(error, _INTERNAL_TYPES):
        return ErrorCategory.INTERNAL
    return ErrorCategory.MODEL


def analyze_network_error(error: BaseException) -> NetworkErrorAnalysis:
    """Classify a network failure and say whether a retry can help."""
    kind = network_error_type(error) or NetworkErrorType.UNKNOWN
    return NetworkErrorAnalysis(
        type=kind,
        retryable=kind is not NetworkErrorType.SSL_ERROR,
        counts_toward_limit=False,
        suggestion=_SUGGESTIONS[kind],
        message=str(error) or type(error).__name__,
    )


# Codes some SDKs express only through the exception's type (matched by class name, so no
# SDK is imported): LiteLLM's ContextWindowExceededError carries no code of its own.
_CODE_BY_CLASS_NAME: dict[str, str] = {
    "ContextWindowExceededError": "context_length_exceeded",
    "ContentPolicyViolationError": "content_policy_violation",
}


def provider_error_code(error: BaseException) -> str | None:
    """The provider's machine-readable error code (e.g. "context_length_exceeded") on
    `error` or the exceptions behind it: an error body's `code`, or a textual `code`
    attribute, or what the exception's type says. None when there is none."""
    for link in _causes(error):
        if isinstance(link, ClassifiedError):
            continue  # l0's own codes are not a provider's
        body = getattr(link, "body", None)
        if isinstance(body, dict):
            nested = body.get("error")
            source = nested if isinstance(nested, dict) else body
            code = source.get("code")
            if isinstance(code, str) and code and not code.isdigit():
                return code
        code = getattr(link, "code", None)
        if isinstance(code, str) and code and not code.isdigit():
            return code
        for klass in type(link).__mro__:
            named = _CODE_BY_CLASS_NAME.get(klass.__name__)
            if named is not None:
                return named
    return None


def retry_after_of(error: BaseException) -> float | None:
    """Seconds a server asked us to wait (`retry-after-ms` or `retry-after` header)."""
    for link in _causes(error):
        value = getattr(link, "retry_after", None)
        if isinstance(value, (int, float)) and value >= 0:
            return float(value)
        response = getattr(link, "response", None)
        headers = getattr(response, "headers", None)
        if headers is None:
            continue
        try:
            millis = headers.get("retry-after-ms")
            if millis is not None:
                return max(0.0, float(millis) / 1000.0)
            seconds = headers.get("retry-after")
            if seconds is not None:
                return max(0.0, float(seconds))
        except (TypeError, ValueError, AttributeError):
            continue
    return None


__all__ = [
    "ClassifiedError",
    "NetworkErrorAnalysis",
    "NetworkErrorType",
    "analyze_network_error",
    "categorize_error",
    "network_error_type",
    "provider_error_code",
    "retry_after_of",
    "status_code_of",
]
