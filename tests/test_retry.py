"""Backoff formulas, retry configuration and its validation."""

from __future__ import annotations

import math
import random

import anyio
import pytest
from hypothesis import given, strategies as st

import l0
from l0.retry import BackoffStrategy, backoff_delay
from l0.runtime.policy import classify, retry_delay
from l0.testing.scripted import Script, ScriptedFactory


@pytest.mark.parametrize(
    ("strategy", "low", "high"),
    [
        (BackoffStrategy.EXPONENTIAL, 4.0, 4.0),
        (BackoffStrategy.LINEAR, 3.0, 3.0),
        (BackoffStrategy.FIXED, 1.0, 1.0),
        (BackoffStrategy.FULL_JITTER, 0.0, 4.0),
        (BackoffStrategy.FIXED_JITTER, 2.0, 4.0),
    ],
)
def test_backoff_table_for_base_one_attempt_two(
    strategy: BackoffStrategy, low: float, high: float
) -> None:
    """The reference's table: base=1.0s, attempt=2."""
    rng = random.Random(3)
    for _ in range(200):
        assert low <= backoff_delay(strategy, 2, 1.0, 10.0, rng) <= high


@given(
    strategy=st.sampled_from(list(BackoffStrategy)),
    attempt=st.integers(0, 40),
    base=st.floats(0, 5),
    cap=st.floats(0, 30),
    seed=st.integers(),
)
def test_backoff_never_exceeds_the_cap(
    strategy: BackoffStrategy, attempt: int, base: float, cap: float, seed: int
) -> None:
    """Whatever the strategy, the delay is within [0, max_delay]."""
    delay = backoff_delay(strategy, attempt, base, cap, random.Random(seed))
    assert 0.0 <= delay <= cap + 1e-9


def test_jitter_is_reproducible_with_the_same_rng() -> None:
    """The runtime injects its RNG, so a seeded run backs off identically."""
    one = [backoff_delay(BackoffStrategy.FULL_JITTER, a, 1, 10, random.Random(9)) for a in range(5)]
    two = [backoff_delay(BackoffStrategy.FULL_JITTER, a, 1, 10, random.Random(9)) for a in range(5)]
    assert one == two


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": -1},
        {"max_retries": 1.5},
        {"base_delay": -1},
        {"max_delay": "10"},
        {"strategy": "sometimes"},
        {"retry_on": ["not-a-type"]},
        {"should_retry": 42},
    ],
)
def test_bad_retry_configuration_is_a_clear_error(kwargs: dict[str, object]) -> None:
    """A wrong Retry field raises INVALID_ARGUMENT naming the field."""
    with pytest.raises(l0.Error) as caught:
        l0.Retry(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert next(iter(kwargs)) in str(caught.value)


def test_strategy_accepts_its_string_value() -> None:
    """`strategy="exponential"` is accepted and normalized to the enum."""
    assert l0.Retry(strategy="exponential").strategy is BackoffStrategy.EXPONENTIAL  # type: ignore[arg-type]


def test_error_type_delays_fall_back_to_the_defaults() -> None:
    """Unset ErrorTypeDelays fields use ERROR_TYPE_DELAY_DEFAULTS."""
    delays = l0.ErrorTypeDelays(econnreset=0.2)
    assert delays.for_type(l0.NetworkErrorType.ECONNRESET) == 0.2
    assert delays.for_type(l0.NetworkErrorType.DNS_ERROR) == 3.0


def test_timeout_defaults_and_validation() -> None:
    """Timeout is in milliseconds with 5000/10000 defaults; nonsense is rejected."""
    timeout = l0.Timeout()
    assert (timeout.initial_token, timeout.inter_token, timeout.total) == (5000, 10000, None)
    assert timeout.initial_token_seconds == 5.0
    with pytest.raises(l0.Error, match="inter_token"):
        l0.Timeout(inter_token=0)
    with pytest.raises(l0.Error, match="total"):
        l0.Timeout(total=-5)


# -- numbers that never end (issue 13, item 5) ----------------------------------------------

NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("field", ["initial_token", "inter_token", "total"])
def test_timeout_refuses_nan_and_infinity(field: str, value: float) -> None:
    """A NaN or infinite deadline would never expire: INVALID_ARGUMENT naming the field."""
    with pytest.raises(l0.Error) as caught:
        l0.Timeout(**{field: value})  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert field in str(caught.value)


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("field", ["base_delay", "max_delay"])
def test_retry_refuses_nan_and_infinite_delays(field: str, value: float) -> None:
    """A NaN or infinite delay would wait forever (or compare false everywhere)."""
    with pytest.raises(l0.Error) as caught:
        l0.Retry(**{field: value})  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert field in str(caught.value)


@pytest.mark.parametrize("value", [*NON_FINITE, -1.0, "1", True])
def test_error_type_delays_refuse_unusable_values(value: object) -> None:
    """Per-kind base delays are checked like Retry's own: finite seconds >= 0."""
    with pytest.raises(l0.Error) as caught:
        l0.ErrorTypeDelays(econnreset=value)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert "econnreset" in str(caught.value)


@pytest.mark.parametrize("kwargs", [{"attempts": True}, {"max_retries": False}])
def test_retry_counts_are_not_booleans(kwargs: dict[str, object]) -> None:
    """`attempts=True` is a mistake, not one retry."""
    with pytest.raises(l0.Error) as caught:
        l0.Retry(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


finite_seconds = st.floats(min_value=0.0, max_value=1e308, allow_nan=False, allow_infinity=False)


@given(
    strategy=st.sampled_from(list(BackoffStrategy)),
    attempt=st.one_of(st.integers(0, 3000), st.integers(0, 10**400)),
    base=finite_seconds,
    cap=finite_seconds,
    seed=st.integers(),
)
def test_backoff_is_finite_and_capped_for_any_attempt_number(
    strategy: BackoffStrategy, attempt: int, base: float, cap: float, seed: int
) -> None:
    """No attempt number overflows the backoff (2.0**1024 raised OverflowError) and every
    delay stays finite within [0, max_delay]."""
    delay = backoff_delay(strategy, attempt, base, cap, random.Random(seed))
    assert math.isfinite(delay)
    assert 0.0 <= delay <= cap


@given(
    attempt=st.integers(0, 10**6),
    retry=st.builds(
        l0.Retry,
        base_delay=finite_seconds,
        max_delay=finite_seconds,
        strategy=st.sampled_from(list(BackoffStrategy)),
        error_type_delays=st.none() | st.builds(l0.ErrorTypeDelays, econnreset=finite_seconds),
    ),
)
def test_retry_delay_is_finite_and_capped_for_any_config(attempt: int, retry: l0.Retry) -> None:
    """The delay the runtime sleeps, for any valid Retry and attempt number, including a
    network failure with its own base delay."""
    failure = classify(ConnectionResetError("connection reset by peer"))
    delay = retry_delay(
        failure, retry, attempt=attempt, total_attempts=attempt, rng=random.Random(1)
    )
    assert math.isfinite(delay)
    assert 0.0 <= delay <= retry.max_delay


@pytest.mark.parametrize("answer", [math.nan, math.inf])
def test_calculate_delay_returning_nan_or_infinity_is_refused(answer: float) -> None:
    """A calculate_delay that answers NaN or infinity is the caller's mistake, said clearly."""
    retry = l0.Retry(calculate_delay=lambda context: answer)
    failure = classify(ConnectionResetError("connection reset by peer"))
    with pytest.raises(l0.Error) as caught:
        retry_delay(failure, retry, attempt=0, total_attempts=0, rng=random.Random(1))
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert "calculate_delay" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_retry_budget_above_a_thousand_backs_off_without_overflow() -> None:
    """Retry number 1024 of an exponential backoff used to raise a raw OverflowError; now it
    waits max_delay and the run ends with the stream's own error after the whole budget."""
    failing = Script(chunks=["x"], fail_at=0)
    factory = ScriptedFactory(*[failing] * 1100, Script.tokens("ok"))
    retry = l0.Retry(
        max_retries=1100, base_delay=0.001, max_delay=0.01, strategy=BackoffStrategy.EXPONENTIAL
    )
    with anyio.fail_after(60):
        result = await l0.run(stream=factory, retry=retry)
        assert await result.read() == "ok"
    assert factory.calls == 1101
