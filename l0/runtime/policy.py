"""What a failure means and what the retry budget allows: pure functions, no I/O.

`classify` turns any exception into a `Failure`: its category, the retry type that
`Retry.retry_on` filters on, whether it counts toward `attempts`, whether the same stream
may be tried again and whether a fallback may help. The runtime's `fail` conditions ask
`retry_allowed`/`fallback_allowed` here; `retry_delay` computes the backoff.

    failure                      retried   counts toward attempts   fallback
    network, timeouts            yes       no                       yes
    429, 5xx, empty output       yes       no                       yes
    guardrail violation, drift   yes       yes                      yes
    other model errors           yes       yes                      yes
    4xx (provider), e.g. 400
      context_length_exceeded    no        -                        yes
    400 content_policy_violation no        -                        no
    401/403 (fatal)              no        -                        yes (another provider)
    circuit open                 no        -                        yes
    fatal violation, abort,
    total timeout, misuse        no        -                        no

A network cause is found behind a status (see `l0.errors`), so LiteLLM's 500 for a dropped
stream is a network failure. A first-token timeout prefers a fallback: a route that stayed
silent is not retried while another one is available.

Failover (`Retry.failover`, an `l0.retry.Failover`) applies while another route is left:
`leave_route` says when the current route is left for the next at once, without backoff —
a first-token timeout, a stall (inter-token timeout), a Retry-After longer than
`retry_after_limit`, or the same route failure `same_failure_limit` times in a row.
`route_failure` says which failures count against a route's health across runs.

A refused continuation (`PREFILL_REJECTED`: the target does not accept the checkpoint as an
assistant prefill) is a `restart`: the same target is opened again at once, from scratch.
It is not a retry of a failure, so it needs no backoff, is offered to no `should_retry` and
no `retry_on` filter, counts as neither a model nor a network retry, and is made even when
the budget was just spent (it re-does the attempt the budget paid for); the request counts
toward `max_retries` for the retries that may follow.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from l0.errors import (
    Error,
    ErrorCode,
    FailureType,
    NetworkErrorType,
    categorize_error,
    network_error_type,
    provider_error_code,
    retry_after_of,
    status_code_of,
)
from l0.retry import Failover, Retry, RetryableErrorType, backoff_delay
from l0.types import ErrorCategory


@dataclass(frozen=True, slots=True)
class Failure:
    error: BaseException
    category: ErrorCategory
    failure_type: FailureType
    retry_type: RetryableErrorType | None
    counts_toward_attempts: bool
    retryable: bool  # may the same stream factory be tried again
    fallback_ok: bool  # may a fallback be tried instead
    reason: str  # short machine-readable reason, e.g. "rate_limit"
    network_type: NetworkErrorType | None = None
    retry_after: float | None = None
    prefer_fallback: bool = False  # a silent route: move on rather than retry it
    restart: bool = False  # open the same target again at once, without continuation
    stalled: bool = False  # the route went silent mid-stream (an inter-token timeout)


def _own(error: Error) -> Failure:
    code = error.code
    category = error.category

    def make(
        failure_type: FailureType,
        retry_type: RetryableErrorType | None,
        *,
        counts: bool = False,
        retryable: bool = True,
        fallback_ok: bool = True,
        prefer_fallback: bool = False,
        restart: bool = False,
        stalled: bool = False,
        network_type: NetworkErrorType | None = None,
    ) -> Failure:
        return Failure(
            error=error,
            category=category,
            failure_type=failure_type,
            retry_type=retry_type,
            counts_toward_attempts=counts,
            retryable=retryable,
            fallback_ok=fallback_ok,
            reason=code.value.lower(),
            network_type=network_type,
            prefer_fallback=prefer_fallback,
            restart=restart,
            stalled=stalled,
        )

    if code is ErrorCode.INITIAL_TOKEN_TIMEOUT:
        return make(
            FailureType.TIMEOUT,
            RetryableErrorType.TIMEOUT,
            prefer_fallback=True,
            network_type=NetworkErrorType.TIMEOUT,
        )
    if code is ErrorCode.INTER_TOKEN_TIMEOUT:
        return make(
            FailureType.TIMEOUT,
            RetryableErrorType.TIMEOUT,
            stalled=True,
            network_type=NetworkErrorType.TIMEOUT,
        )
    if code is ErrorCode.ZERO_OUTPUT:
        return make(FailureType.ZERO_OUTPUT, RetryableErrorType.ZERO_OUTPUT)
    if code is ErrorCode.GUARDRAIL_VIOLATION:
        return make(FailureType.GUARDRAIL, RetryableErrorType.GUARDRAIL_VIOLATION, counts=True)
    if code is ErrorCode.DRIFT_DETECTED:
        return make(FailureType.DRIFT, RetryableErrorType.DRIFT, counts=True)
    if code is ErrorCode.NETWORK_ERROR:
        kind = getattr(error, "network_type", NetworkErrorType.UNKNOWN)
        return make(
            FailureType.NETWORK,
            RetryableErrorType.NETWORK_ERROR,
            retryable=kind is not NetworkErrorType.SSL_ERROR,
            network_type=kind,
        )
    if code is ErrorCode.PROVIDER_ERROR:
        return make(FailureType.MODEL, None, retryable=False)
    if code is ErrorCode.INCOMPLETE_STREAM:
        return make(
            FailureType.NETWORK,
            RetryableErrorType.INCOMPLETE,
            network_type=NetworkErrorType.CONNECTION_DROPPED,
        )
    if code is ErrorCode.PREFILL_REJECTED:
        return make(FailureType.MODEL, None, restart=True)
    if code is ErrorCode.CIRCUIT_OPEN:
        return make(FailureType.SERVER_ERROR, None, retryable=False)
    if code is ErrorCode.STREAM_ABORTED:
        return make(FailureType.ABORT, None, retryable=False, fallback_ok=False)
    if code in (ErrorCode.FATAL_GUARDRAIL_VIOLATION,):
        return make(FailureType.GUARDRAIL, None, retryable=False, fallback_ok=False)
    if code is ErrorCode.TOTAL_TIMEOUT:
        return make(FailureType.TIMEOUT, None, retryable=False, fallback_ok=False)
    return make(FailureType.INVALID, None, retryable=False, fallback_ok=False)


def classify(error: BaseException) -> Failure:
    """What a failure is and what may be done about it (see the module table)."""
    if isinstance(error, Error):
        return _own(error)
    category = categorize_error(error)
    status = status_code_of(error)
    if category is ErrorCategory.TRANSIENT:
        rate_limited = status == 429
        return Failure(
            error=error,
            category=category,
            failure_type=FailureType.RATE_LIMIT if rate_limited else FailureType.SERVER_ERROR,
            retry_type=(
                RetryableErrorType.RATE_LIMIT if rate_limited else RetryableErrorType.SERVER_ERROR
            ),
            counts_toward_attempts=False,
            retryable=True,
            fallback_ok=True,
            reason="rate_limit" if rate_limited else "server_error",
            retry_after=retry_after_of(error),
        )
    if category is ErrorCategory.NETWORK:
        kind = network_error_type(error) or NetworkErrorType.UNKNOWN
        timeout = kind is NetworkErrorType.TIMEOUT
        return Failure(
            error=error,
            category=category,
            failure_type=FailureType.TIMEOUT if timeout else FailureType.NETWORK,
            retry_type=RetryableErrorType.TIMEOUT if timeout else RetryableErrorType.NETWORK_ERROR,
            counts_toward_attempts=False,
            retryable=kind is not NetworkErrorType.SSL_ERROR,
            fallback_ok=True,
            reason=kind.value,
            network_type=kind,
        )
    if category is ErrorCategory.FATAL or category is ErrorCategory.PROVIDER:
        code = provider_error_code(error)
        return Failure(
            error=error,
            category=category,
            failure_type=FailureType.FATAL
            if category is ErrorCategory.FATAL
            else FailureType.MODEL,
            retry_type=None,
            counts_toward_attempts=False,
            retryable=False,
            # A policy refusal is about the request: another model would refuse it too.
            fallback_ok=code != "content_policy_violation",
            reason=code or (f"http_{status}" if status else category.value),
        )
    if category is ErrorCategory.INTERNAL:
        return Failure(
            error=error,
            category=category,
            failure_type=FailureType.INVALID,
            retry_type=None,
            counts_toward_attempts=False,
            retryable=False,
            fallback_ok=False,
            reason="internal",
        )
    return Failure(
        error=error,
        category=category,
        failure_type=FailureType.MODEL,
        retry_type=None,
        counts_toward_attempts=True,
        retryable=True,
        fallback_ok=True,
        reason="model_error",
    )


# Failures that say the route itself is in trouble (not the request, not our own rules).
_ROUTE_CATEGORIES = frozenset({ErrorCategory.NETWORK, ErrorCategory.TRANSIENT})


def route_failure(failure: Failure) -> bool:
    """Whether `failure` counts against the route's health: a network error, a timeout, a
    429 or a 5xx. A skipped route (CIRCUIT_OPEN) and a refused prefill say nothing new."""
    if failure.restart or failure.category not in _ROUTE_CATEGORIES:
        return False
    error = failure.error
    return not (isinstance(error, Error) and error.code is ErrorCode.CIRCUIT_OPEN)


def leave_route(failure: Failure, failover: Failover, *, same_failures: int) -> bool:
    """Whether the run moves to the next route now (one is available), rather than retry.
    `same_failures` counts this route's failures of this kind in a row, this one included."""
    if failure.prefer_fallback:
        return True  # a route that stayed silent from the start
    if not route_failure(failure):
        return False
    if failure.stalled and failover.stall_prefers_fallback:
        return True
    limit = failover.retry_after_limit
    if limit is not None and failure.retry_after is not None and failure.retry_after > limit:
        return True  # the next route needs no wait at all
    return same_failures >= failover.same_failure_limit


def retry_allowed(
    failure: Failure,
    retry: Retry,
    *,
    model_retries: int,
    total_retries: int,
    fallback_pending: bool,
) -> bool:
    """Whether the budget (for the current stream factory) allows one more retry."""
    if failure.restart:
        # One beyond the budget at most: it re-does an attempt the budget has paid for, and
        # a factory that keeps refusing cannot loop.
        return total_retries <= retry.max_retries
    if not failure.retryable:
        return False
    if failure.prefer_fallback and fallback_pending:
        return False
    if retry.retry_on is not None and failure.retry_type not in retry.retry_on:
        return False
    if total_retries >= retry.max_retries:
        return False
    return not (failure.counts_toward_attempts and model_retries >= retry.attempts)


def retry_delay(
    failure: Failure,
    retry: Retry,
    *,
    attempt: int,
    total_attempts: int,
    rng: random.Random,
) -> float:
    """Seconds to wait before the retry: the backoff of `retry.strategy`, a server's
    Retry-After when it sent one (capped by `max_delay`), or the user's `calculate_delay`.
    A restart does not wait."""
    if failure.restart:
        return 0.0
    base = retry.base_delay
    if failure.network_type is not None and retry.error_type_delays is not None:
        base = retry.error_type_delays.for_type(failure.network_type)
    delay = backoff_delay(retry.strategy, attempt, base, retry.max_delay, rng)
    if failure.retry_after is not None:
        delay = min(failure.retry_after, retry.max_delay)
    if retry.calculate_delay is not None:
        context: dict[str, Any] = {
            "attempt": attempt,
            "total_attempts": total_attempts,
            "category": failure.category.value,
            "reason": failure.reason,
            "error": failure.error,
            "default_delay": delay,
        }
        try:
            custom = retry.calculate_delay(context)
        except Exception as exc:
            raise Error(
                f"Retry.calculate_delay raised {type(exc).__name__}: {exc}",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from exc
        if (
            isinstance(custom, bool)
            or not isinstance(custom, (int, float))
            or not math.isfinite(custom)
            or custom < 0
        ):
            raise Error(
                f"Retry.calculate_delay must return a finite number of seconds >= 0, got "
                f"{custom!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        delay = float(custom)
    return max(0.0, delay)


__all__ = [
    "Failure",
    "classify",
    "leave_route",
    "retry_allowed",
    "retry_delay",
    "route_failure",
]
