"""Errors: one tree rooted in `l0.Error`, and the one place foreign exceptions are classified.

    Exception
     └── Error                      code: ErrorCode, context: ErrorContext, category
          ├── TimeoutError          also a builtins.TimeoutError; timeout_type, timeout_seconds
          └── NetworkError          a provider's network failure; network_type

`categorize_error` decides what any exception means for retrying, in this order: l0's own
errors by code; known network exception types, walking `__cause__`/`__context__` (builtin
connection errors, httpx/httpcore/aiohttp by class name, a malformed JSON chunk); an HTTP
status found on the exception (429/5xx transient, 401/403 fatal, other 4xx provider); and
only then the message patterns of the network table. Cancellation is never an error here.

A network cause wins over a status because SDK wrappers report network failures with a
status of their own: LiteLLM raises `InternalServerError` (500) for a reset connection,
`MidStreamFallbackError` (500) for a dropped stream or a malformed chunk and `Timeout` (408)
for a read timeout; only the exceptions behind them say what happened.

`provider_error_code` reads the machine-readable code a provider put on an error (OpenAI's
`error.code`, e.g. "context_length_exceeded"), from the exception or its causes, or from
the type when an SDK says it only that way (LiteLLM's `ContextWindowExceededError`).
"""

from __future__ import annotations

import builtins
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from l0.types import ErrorCategory

if TYPE_CHECKING:
    from l0.types import GuardrailViolation


class ErrorCode(str, Enum):
    """What went wrong, precisely enough to act on."""

    STREAM_ABORTED = "STREAM_ABORTED"
    INITIAL_TOKEN_TIMEOUT = "INITIAL_TOKEN_TIMEOUT"
    INTER_TOKEN_TIMEOUT = "INTER_TOKEN_TIMEOUT"
    TOTAL_TIMEOUT = "TOTAL_TIMEOUT"
    ZERO_OUTPUT = "ZERO_OUTPUT"
    GUARDRAIL_VIOLATION = "GUARDRAIL_VIOLATION"
    FATAL_GUARDRAIL_VIOLATION = "FATAL_GUARDRAIL_VIOLATION"
    DRIFT_DETECTED = "DRIFT_DETECTED"
    NETWORK_ERROR = "NETWORK_ERROR"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    INVALID_STREAM = "INVALID_STREAM"
    INVALID_CHUNK = "INVALID_CHUNK"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    STREAM_CONSUMED = "STREAM_CONSUMED"
    ADAPTER_NOT_FOUND = "ADAPTER_NOT_FOUND"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # A target refused a continuation request (the checkpoint sent as an assistant prefill):
    # the runtime restarts that target from scratch instead of resuming.
    PREFILL_REJECTED = "PREFILL_REJECTED"
    INCOMPLETE_STREAM = "INCOMPLETE_STREAM"
    # A circuit breaker kept a call away from a route that keeps failing.
    CIRCUIT_OPEN = "CIRCUIT_OPEN"


class FailureType(str, Enum):
    """The kind of failure an attempt ended with (what happened, not what to do)."""

    NETWORK = "network"
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    MODEL = "model"
    ZERO_OUTPUT = "zero_output"
    GUARDRAIL = "guardrail"
    DRIFT = "drift"
    ABORT = "abort"
    FATAL = "fatal"
    INVALID = "invalid"
    UNKNOWN = "unknown"


class RecoveryStrategy(str, Enum):
    """What the runtime does about a failure."""

    RETRY = "retry"  # the same stream factory again, after a backoff
    FALLBACK = "fallback"  # the next fallback factory
    HALT = "halt"  # give up: the run ends with the error


@dataclass(frozen=True, slots=True)
class RecoveryPolicy:
    """The runtime's verdict on one failure: observable in events and on errors."""

    strategy: RecoveryStrategy
    failure_type: FailureType
    category: ErrorCategory
    counts_toward_attempts: bool
    reason: str
    delay: float = 0.0


@dataclass(slots=True)
class ErrorContext:
    """Where a run was when it failed."""

    token_count: int = 0
    content_length: int = 0
    checkpoint: str = ""
    model_retry_count: int = 0
    network_retry_count: int = 0
    fallback_index: int = 0
    stream_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


_CODE_CATEGORY: dict[ErrorCode, ErrorCategory] = {
    ErrorCode.STREAM_ABORTED: ErrorCategory.INTERNAL,
    ErrorCode.INITIAL_TOKEN_TIMEOUT: ErrorCategory.NETWORK,
    ErrorCode.INTER_TOKEN_TIMEOUT: ErrorCategory.NETWORK,
    ErrorCode.TOTAL_TIMEOUT: ErrorCategory.FATAL,
    ErrorCode.ZERO_OUTPUT: ErrorCategory.TRANSIENT,
    ErrorCode.GUARDRAIL_VIOLATION: ErrorCategory.CONTENT,
    ErrorCode.FATAL_GUARDRAIL_VIOLATION: ErrorCategory.FATAL,
    ErrorCode.DRIFT_DETECTED: ErrorCategory.CONTENT,
    ErrorCode.NETWORK_ERROR: ErrorCategory.NETWORK,
    ErrorCode.PROVIDER_ERROR: ErrorCategory.PROVIDER,
    ErrorCode.INVALID_STREAM: ErrorCategory.INTERNAL,
    ErrorCode.INVALID_CHUNK: ErrorCategory.INTERNAL,
    ErrorCode.INVALID_ARGUMENT: ErrorCategory.INTERNAL,
    ErrorCode.INVALID_TRANSITION: ErrorCategory.INTERNAL,
    ErrorCode.STREAM_CONSUMED: ErrorCategory.INTERNAL,
    ErrorCode.ADAPTER_NOT_FOUND: ErrorCategory.INTERNAL,
    ErrorCode.INTERNAL_ERROR: ErrorCategory.INTERNAL,
    ErrorCode.PREFILL_REJECTED: ErrorCategory.PROVIDER,
    ErrorCode.INCOMPLETE_STREAM: ErrorCategory.NETWORK,
    ErrorCode.CIRCUIT_OPEN: ErrorCategory.TRANSIENT,
}


class Error(Exception):
    """The root of every error l0 raises. `code` says what happened, `context` where."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode = ErrorCode.INTERNAL_ERROR,
        context: ErrorContext | None = None,
        category: ErrorCategory | None = None,
        violations: list[GuardrailViolation] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.context = context if context is not None else ErrorContext()
        self._category = category
        self.violations: list[GuardrailViolation] = list(violations or ())
        self.status_code = status_code

    @property
    def category(self) -> ErrorCategory:
        if self._category is not None:
            return self._category
        return _CODE_CATEGORY[self.code]

    @property
    def checkpoint(self) -> str:
        return self.context.checkpoint

    @property
    def has_checkpoint(self) -> bool:
        return bool(self.context.checkpoint)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "message": self.message,
            "code": self.code.value,
            "category": self.category.value,
            "token_count": self.context.token_count,
            "checkpoint": self.context.checkpoint,
            "fallback_index": self.context.fallback_index,
            "violations": [v.rule for v in self.violations],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code.value})"


class TimeoutError(Error, builtins.TimeoutError):
    """A stream went silent for longer than its `Timeout` allows (or the run overran)."""

    def __init__(
        self,
        message: str,
        *,
        timeout_type: str,
        timeout_seconds: float,
        context: ErrorContext | None = None,
    ) -> None:
        code = {
            "initial_token": ErrorCode.INITIAL_TOKEN_TIMEOUT,
            "inter_token": ErrorCode.INTER_TOKEN_TIMEOUT,
            "total": ErrorCode.TOTAL_TIMEOUT,
        }[timeout_type]
        Error.__init__(self, message, code=code, context=context)
        self.timeout_type = timeout_type
        self.timeout_seconds = timeout_seconds

    def __str__(self) -> str:
        return self.message


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
    if isinstance(error, builtins.TimeoutError) and not isinstance(error, Error):
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
    if isinstance(error, NetworkError):
        return error.network_type
    if isinstance(error, Error):
        return None
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
    if isinstance(error, Error):
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


class NetworkError(Error):
    """A provider's network failure, with its analysis. Also the analysis toolkit."""

    def __init__(
        self,
        message: str,
        *,
        network_type: NetworkErrorType = NetworkErrorType.UNKNOWN,
        context: ErrorContext | None = None,
    ) -> None:
        super().__init__(message, code=ErrorCode.NETWORK_ERROR, context=context)
        self.network_type = network_type

    @staticmethod
    def check(error: BaseException) -> bool:
        """True when `error` is a network failure."""
        return network_error_type(error) is not None

    @staticmethod
    def analyze(error: BaseException) -> NetworkErrorAnalysis:
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
        if isinstance(link, Error):
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
    "Error",
    "ErrorCategory",
    "ErrorCode",
    "ErrorContext",
    "FailureType",
    "NetworkError",
    "NetworkErrorAnalysis",
    "NetworkErrorType",
    "RecoveryPolicy",
    "RecoveryStrategy",
    "TimeoutError",
    "categorize_error",
    "network_error_type",
    "provider_error_code",
    "retry_after_of",
    "status_code_of",
]
