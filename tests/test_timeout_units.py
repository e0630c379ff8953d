"""`Timeout` is in milliseconds (the reference's unit): a value that looks like seconds is
warned about, and every timeout message says its unit."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import anyio
import pytest
from hypothesis import given, strategies as st

import l0
from l0.timeout import LOOKS_LIKE_SECONDS_BELOW_MS, TimeoutUnitWarning

FIELDS = ("initial_token", "inter_token", "total")


def test_a_value_meant_as_seconds_is_warned_about_at_the_callers_line() -> None:
    """`Timeout(initial_token=5)` (five seconds meant) warns, naming 5 ms and 5000, and the
    warning points at the line that made the Timeout."""
    with pytest.warns(TimeoutUnitWarning) as caught:
        l0.Timeout(initial_token=5)
    (warning,) = caught.list
    assert "initial_token=5 ms" in str(warning.message)
    assert "initial_token=5000" in str(warning.message)
    assert warning.filename == __file__


@given(
    field=st.sampled_from(FIELDS),
    value=st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False),
)
def test_values_warn_exactly_below_the_threshold(field: str, value: float) -> None:
    """Below 100 ms a value warns (it names the field), at or above it never does."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        l0.Timeout(**{field: value})
    ours = [w for w in caught if issubclass(w.category, TimeoutUnitWarning)]
    if value < LOOKS_LIKE_SECONDS_BELOW_MS:
        assert len(ours) == 1 and f"{field}=" in str(ours[0].message)
    else:
        assert ours == []


def test_the_warning_is_shown_once_per_line_under_the_default_filter() -> None:
    """With Python's default filter, a loop making the same small Timeout warns once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for _ in range(5):
            l0.Timeout(inter_token=30.0)
    assert len([w for w in caught if issubclass(w.category, TimeoutUnitWarning)]) == 1


def test_the_defaults_and_the_reference_values_in_milliseconds_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeoutUnitWarning)
        l0.Timeout()
        l0.Timeout(initial_token=10000, inter_token=30000)
        l0.Timeout(initial_token=5000, inter_token=10000, total=None)



async def silent() -> AsyncIterator[str]:
    await anyio.sleep(3600)
    yield "never"


async def tokens_then_silence() -> AsyncIterator[str]:
    yield "a"
    await anyio.sleep(3600)
    yield "never"


@pytest.mark.anyio
@pytest.mark.virtual_time
@pytest.mark.parametrize(
    ("factory", "timeout", "expected"),
    [
        (silent, l0.Timeout(initial_token=1500), "No token within 1500 ms (Timeout.initial_token)"),
        (
            tokens_then_silence,
            l0.Timeout(inter_token=2500),
            "No token within 2500 ms (Timeout.inter_token)",
        ),
        (silent, l0.Timeout(total=700), "total time budget of 700 ms (Timeout.total)"),
    ],
    ids=FIELDS,
)
async def test_every_timeout_message_says_milliseconds(
    factory: object, timeout: l0.Timeout, expected: str
) -> None:
    """The message of each kind of timeout gives the limit in the unit `Timeout` takes."""
    result = await l0.run(stream=factory, timeout=timeout, retry=l0.Retry(max_retries=0))
    with pytest.raises(l0.TimeoutError) as caught:
        await result.read()
    assert expected in str(caught.value)
