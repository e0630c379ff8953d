"""Backoff formulas, retry configuration and its validation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

import l0
from l0.retry import BackoffStrategy, backoff_delay


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
