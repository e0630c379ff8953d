"""l0: reliable LLM token streams.

Retries with backoff, fallbacks, timeouts, checkpoints and continuation, guardrails and
observability for OpenAI / LiteLLM / any async token stream, on an explicit state machine.
This module only re-exports the public API.
"""

from l0._version import __version__
from l0.continuation import Continuation, ContinuationConfig, DeduplicationOptions, OverlapResult
from l0.errors import (
    Error,
    ErrorCode,
    ErrorContext,
    FailureType,
    NetworkError,
    NetworkErrorAnalysis,
    NetworkErrorType,
    RecoveryPolicy,
    RecoveryStrategy,
    TimeoutError,
)
from l0.guardrails.types import GuardrailRule, GuardrailViolation, Violation
from l0.metrics import (
    Metrics,
    MetricsSnapshot,
    create_metrics,
    get_global_metrics,
    reset_global_metrics,
)
from l0.observability import EventBus, ObservabilityEvent, ObservabilityEventType
from l0.retry import (
    ERROR_TYPE_DELAY_DEFAULTS,
    EXPONENTIAL_RETRY,
    MINIMAL_RETRY,
    RECOMMENDED_RETRY,
    RETRY_DEFAULTS,
    STRICT_RETRY,
    BackoffStrategy,
    ErrorTypeDelays,
    Retry,
    RetryableErrorType,
)
from l0.runtime import LazyStream, Stream, l0, run, wrap
from l0.state_machine import StateMachine, StateTransition, create_state_machine
from l0.timeout import Timeout
from l0.types import ErrorCategory, Event, EventType, RuntimeState, RuntimeStates, State

__all__ = [
    "ERROR_TYPE_DELAY_DEFAULTS",
    "EXPONENTIAL_RETRY",
    "MINIMAL_RETRY",
    "RECOMMENDED_RETRY",
    "RETRY_DEFAULTS",
    "STRICT_RETRY",
    "BackoffStrategy",
    "Continuation",
    "ContinuationConfig",
    "DeduplicationOptions",
    "Error",
    "ErrorCategory",
    "ErrorCode",
    "ErrorContext",
    "ErrorTypeDelays",
    "Event",
    "EventBus",
    "EventType",
    "FailureType",
    "GuardrailRule",
    "GuardrailViolation",
    "LazyStream",
    "Metrics",
    "MetricsSnapshot",
    "NetworkError",
    "NetworkErrorAnalysis",
    "NetworkErrorType",
    "ObservabilityEvent",
    "ObservabilityEventType",
    "OverlapResult",
    "RecoveryPolicy",
    "RecoveryStrategy",
    "Retry",
    "RetryableErrorType",
    "RuntimeState",
    "RuntimeStates",
    "State",
    "StateMachine",
    "StateTransition",
    "Stream",
    "Timeout",
    "TimeoutError",
    "Violation",
    "__version__",
    "create_metrics",
    "create_state_machine",
    "get_global_metrics",
    "l0",
    "reset_global_metrics",
    "run",
    "wrap",
]
