"""Errors: one tree rooted in `l0.Error`.

    Exception
     └── Error                      code: ErrorCode, context: ErrorContext, category
          ├── TimeoutError          also a builtins.TimeoutError; timeout_type, timeout_seconds
          └── NetworkError          a provider's network failure; network_type

What a foreign exception means (`categorize_error`, the network table, HTTP statuses,
provider codes, `retry-after`) is worked out in `l0.error_analysis`, the module below this
one, and re-exported here: `from l0.errors import categorize_error` keeps working.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from l0.error_analysis import (
    ClassifiedError,
    NetworkErrorAnalysis,
    NetworkErrorType,
    analyze_network_error,
    categorize_error,
    network_error_type,
    provider_error_code,
    retry_after_of,
    status_code_of,
)
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


class Error(ClassifiedError):
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


class NetworkError(Error):
    """A provider's network failure, with its analysis. Also the analysis toolkit."""

    network_type: NetworkErrorType

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
        return analyze_network_error(error)


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
