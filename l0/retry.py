"""Retry configuration and backoff.

Backoff is a pure function of (strategy, attempt, base, cap, rng): the runtime core calls it
with an injected `random.Random`, so runs replay exactly and tests need no sleeping. All
delays are seconds.

Counting rules: network failures, timeouts, 429/5xx and empty output are retried without
counting toward `attempts`; guardrail violations, drift and model errors count toward
`attempts`. Every retry counts toward `max_retries`, the absolute cap.

`Failover` (the `failover` field) says when a run with somewhere else to go leaves its route
at once instead of spending that budget on it; moving to the next route is not a retry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from l0.callbacks import is_async_callable
from l0.errors import Error, ErrorCode, NetworkErrorType

if TYPE_CHECKING:
    from l0.types import ErrorCategory, State


class BackoffStrategy(str, Enum):
    """How the delay grows between retries (see `backoff_delay`)."""

    EXPONENTIAL = "exponential"  # min(base * 2^attempt, max)
    LINEAR = "linear"  # min(base * (attempt + 1), max)
    FIXED = "fixed"  # base
    FULL_JITTER = "full-jitter"  # random(0, min(base * 2^attempt, max))
    FIXED_JITTER = "fixed-jitter"  # temp/2 + random(temp/2), temp = min(base * 2^attempt, max)


class RetryableErrorType(str, Enum):
    """Failure kinds a `Retry(retry_on=[...])` filter can name."""

    ZERO_OUTPUT = "zero_output"
    GUARDRAIL_VIOLATION = "guardrail_violation"
    DRIFT = "drift"
    INCOMPLETE = "incomplete"
    NETWORK_ERROR = "network_error"
    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"


def _is_seconds(value: object) -> bool:
    """A usable delay: a real, finite number >= 0 (NaN would never compare, inf never end)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value >= 0
    )


def _is_count(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 0


@dataclass(frozen=True, slots=True)
class ErrorTypeDelays:
    """Base delays (seconds) per network failure kind; None means the default."""

    connection_dropped: float | None = None
    fetch_error: float | None = None
    econnreset: float | None = None
    econnrefused: float | None = None
    sse_aborted: float | None = None
    no_bytes: float | None = None
    partial_chunks: float | None = None
    runtime_killed: float | None = None
    background_throttle: float | None = None
    dns_error: float | None = None
    ssl_error: float | None = None
    timeout: float | None = None
    unknown: float | None = None

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None and not _is_seconds(value):
                raise Error(
                    f"ErrorTypeDelays.{name} must be a finite number of seconds >= 0 or None, "
                    f"got {value!r}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )

    def for_type(self, kind: NetworkErrorType) -> float:
        """The delay for `kind`: this object's value, else the library default."""
        value = getattr(self, kind.value)
        if value is None:
            value = getattr(ERROR_TYPE_DELAY_DEFAULTS, kind.value)
        return float(value)


ERROR_TYPE_DELAY_DEFAULTS = ErrorTypeDelays(
    connection_dropped=1.0,
    fetch_error=0.5,
    econnreset=1.0,
    econnrefused=2.0,
    sse_aborted=0.5,
    no_bytes=0.5,
    partial_chunks=0.5,
    runtime_killed=2.0,
    background_throttle=1.0,
    dns_error=3.0,
    ssl_error=0.0,  # SSL failures are not retried: a bad certificate does not heal
    timeout=1.0,
    unknown=1.0,
)


@dataclass(frozen=True, slots=True)
class Failover:
    """When a run leaves its route (the current stream factory) for the next one.

    Applies only while another route is left to try (a fallback); without one, `Retry`
    alone decides, as the reference says. Moving to the next route is not a retry: it
    waits for no backoff and counts toward neither `attempts` nor `max_retries`.

    `same_failure_limit`: a route that fails the same way (the same `FailureType`: network,
    timeout, rate limit, server error) this many times in a row is left. Only failures of
    the route count (network errors, timeouts, 429, 5xx); guardrail, drift and model
    failures keep the `attempts` budget. `stall_prefers_fallback`: a stall mid-stream (an
    inter-token timeout) moves on at once, as a first-token timeout does.
    `retry_after_limit`: seconds; a Retry-After longer than this moves on at once, since a
    fresh route needs no wait at all. None turns the rule off.
    """

    same_failure_limit: int = 2
    stall_prefers_fallback: bool = True
    retry_after_limit: float | None = 2.0

    def __post_init__(self) -> None:
        limit = self.same_failure_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise Error(
                f"Failover(same_failure_limit=...) must be an int >= 1, got {limit!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        if not isinstance(self.stall_prefers_fallback, bool):
            raise Error(
                "Failover(stall_prefers_fallback=...) must be True or False, got "
                f"{self.stall_prefers_fallback!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        after = self.retry_after_limit
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0
        ):
            raise Error(
                f"Failover(retry_after_limit=...) must be seconds >= 0 or None, got {after!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


DEFAULT_FAILOVER = Failover()


ShouldRetry = Callable[[BaseException, "State", int, "ErrorCategory"], "bool | Awaitable[bool]"]
CalculateDelay = Callable[[dict[str, Any]], float]


@dataclass(slots=True)
class Retry:
    """How a run retries. `attempts` caps retries of model/content failures; `max_retries`
    caps all retries together. Delays are seconds.

    `should_retry(error, state, attempt, category)` (sync or async) can only veto a retry the
    runtime would make. `calculate_delay(context)` replaces the computed delay; its context has
    attempt, total_attempts, category, reason, error and default_delay.
    """

    attempts: int = 3
    max_retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 10.0
    strategy: BackoffStrategy = BackoffStrategy.FIXED_JITTER
    error_type_delays: ErrorTypeDelays | None = None
    retry_on: list[RetryableErrorType] | None = None
    should_retry: ShouldRetry | None = None
    calculate_delay: CalculateDelay | None = None
    failover: Failover = DEFAULT_FAILOVER  # when to leave a route for the next (see Failover)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.failover, Failover):
            problems.append(f"failover must be an l0.retry.Failover, got {self.failover!r}")
        if not _is_count(self.attempts):
            problems.append(f"attempts must be an int >= 0, got {self.attempts!r}")
        if not _is_count(self.max_retries):
            problems.append(f"max_retries must be an int >= 0, got {self.max_retries!r}")
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                problems.append(f"{name} must be a number of seconds >= 0, got {value!r}")
            elif not math.isfinite(value):
                problems.append(f"{name} must be a finite number of seconds, got {value!r}")
        if self.error_type_delays is not None and not isinstance(
            self.error_type_delays, ErrorTypeDelays
        ):
            problems.append(
                f"error_type_delays must be an l0.ErrorTypeDelays, got "
                f"{type(self.error_type_delays).__name__}"
            )
        try:
            self.strategy = BackoffStrategy(self.strategy)
        except ValueError:
            choices = ", ".join(s.value for s in BackoffStrategy)
            problems.append(f"strategy must be one of {choices}, got {self.strategy!r}")
        if self.retry_on is not None:
            try:
                self.retry_on = [RetryableErrorType(kind) for kind in self.retry_on]
            except (TypeError, ValueError) as exc:
                problems.append(f"retry_on: {exc}")
        for name in ("should_retry", "calculate_delay"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                problems.append(f"{name} must be callable, got {type(value).__name__}")
        if is_async_callable(self.calculate_delay):  # should_retry may be async; this not
            problems.append(
                "calculate_delay must be a plain (sync) function returning seconds; l0 calls "
                "it while deciding and would never await it"
            )
        if problems:
            raise Error("Invalid Retry: " + "; ".join(problems), code=ErrorCode.INVALID_ARGUMENT)

    # Presets, as class methods (the same objects' values as the module constants).
    @classmethod
    def recommended(cls) -> Retry:
        return cls(attempts=3, max_retries=6, strategy=BackoffStrategy.FIXED_JITTER)

    @classmethod
    def minimal(cls) -> Retry:
        return cls(attempts=2, max_retries=4, strategy=BackoffStrategy.LINEAR)

    @classmethod
    def strict(cls) -> Retry:
        return cls(attempts=3, max_retries=6, strategy=BackoffStrategy.FULL_JITTER)

    @classmethod
    def exponential(cls) -> Retry:
        return cls(attempts=4, max_retries=8, strategy=BackoffStrategy.EXPONENTIAL)

    @classmethod
    def mobile(cls) -> Retry:
        """Flaky radio links: more patience, longer waits."""
        return cls(
            attempts=3,
            max_retries=8,
            base_delay=2.0,
            max_delay=30.0,
            strategy=BackoffStrategy.FULL_JITTER,
        )

    @classmethod
    def edge(cls) -> Retry:
        """Short-lived edge runtimes: fail over fast."""
        return cls(
            attempts=2,
            max_retries=3,
            base_delay=0.25,
            max_delay=2.0,
            strategy=BackoffStrategy.FIXED_JITTER,
        )


@dataclass(frozen=True, slots=True)
class RetryDefaults:
    """The default values of `Retry`, in one place."""

    attempts: int = 3
    max_retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 10.0
    backoff: BackoffStrategy = BackoffStrategy.FIXED_JITTER


RETRY_DEFAULTS = RetryDefaults()

MINIMAL_RETRY = Retry.minimal()
RECOMMENDED_RETRY = Retry.recommended()
STRICT_RETRY = Retry.strict()
EXPONENTIAL_RETRY = Retry.exponential()


def backoff_delay(
    strategy: BackoffStrategy,
    attempt: int,
    base: float,
    cap: float,
    rng: random.Random,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based). Pure, given `rng`.

    Finite and within [0, cap] for any attempt number: a growth too large for a float
    (`2.0**attempt` overflows past attempt 1023) is the cap."""
    try:
        exponential = min(math.ldexp(base, attempt), cap)  # base * 2**attempt, exactly
    except OverflowError:
        exponential = cap
    if strategy is BackoffStrategy.EXPONENTIAL:
        return exponential
    if strategy is BackoffStrategy.LINEAR:
        try:
            return min(base * (attempt + 1), cap)
        except OverflowError:  # an attempt number beyond any float
            return cap
    if strategy is BackoffStrategy.FIXED:
        return min(base, cap)
    if strategy is BackoffStrategy.FULL_JITTER:
        return rng.uniform(0.0, exponential)
    half = exponential / 2
    return half + rng.uniform(0.0, half)


__all__ = [
    "DEFAULT_FAILOVER",
    "ERROR_TYPE_DELAY_DEFAULTS",
    "EXPONENTIAL_RETRY",
    "MINIMAL_RETRY",
    "RECOMMENDED_RETRY",
    "RETRY_DEFAULTS",
    "STRICT_RETRY",
    "BackoffStrategy",
    "ErrorTypeDelays",
    "Failover",
    "Retry",
    "RetryableErrorType",
    "backoff_delay",
]
