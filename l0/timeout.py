"""Timeout configuration. Values are milliseconds, as in the reference.

`initial_token` bounds the wait from the start of an attempt (opening the stream included)
to its first token; `inter_token` bounds the silence between tokens, counted from the moment
l0 asks the provider for the next chunk, so a slow consumer never causes a timeout.
`total`, when set, bounds the whole run: every attempt, backoff and fallback together.

A value under 100 looks like seconds written where milliseconds are meant (`initial_token=5`
meant as five seconds is 5 ms): `TimeoutUnitWarning` says so, once per line of code that
makes such a `Timeout` (Python's usual warning filter), and names the millisecond value.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from l0.errors import Error, ErrorCode

# Below this many milliseconds a timeout is almost surely seconds written by mistake: no
# provider answers, or streams its next token, reliably within 0.1 s.
LOOKS_LIKE_SECONDS_BELOW_MS = 100


class TimeoutUnitWarning(UserWarning):
    """A `Timeout` value that looks like seconds (l0's timeouts are milliseconds)."""


def _warn_if_seconds(timeout: Timeout) -> None:
    small = {
        name: value
        for name in ("initial_token", "inter_token", "total")
        if (value := getattr(timeout, name)) is not None and value < LOOKS_LIKE_SECONDS_BELOW_MS
    }
    if small:
        given = ", ".join(f"{name}={value:g} ms" for name, value in small.items())
        meant = ", ".join(f"{name}={value * 1000:g}" for name, value in small.items())
        warnings.warn(
            f"l0.Timeout values are milliseconds: {given}. If you meant seconds, write {meant}.",
            TimeoutUnitWarning,
            stacklevel=4,  # _warn_if_seconds, __post_init__, __init__, the caller
        )


@dataclass(frozen=True, slots=True)
class Timeout:
    initial_token: float = 5000
    inter_token: float = 10000
    total: float | None = None

    def __post_init__(self) -> None:
        for name in ("initial_token", "inter_token", "total"):
            value = getattr(self, name)
            if name == "total" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise Error(
                    f"Timeout.{name} must be a positive number of milliseconds, got {value!r}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
            if not math.isfinite(value):  # a deadline that never comes is no timeout
                raise Error(
                    f"Timeout.{name} must be a finite number of milliseconds, got {value!r}; "
                    "leave total=None for no overall limit",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
        _warn_if_seconds(self)

    @property
    def initial_token_seconds(self) -> float:
        return self.initial_token / 1000.0

    @property
    def inter_token_seconds(self) -> float:
        return self.inter_token / 1000.0

    @property
    def total_seconds(self) -> float | None:
        return None if self.total is None else self.total / 1000.0


DEFAULT_TIMEOUT = Timeout()

__all__ = ["DEFAULT_TIMEOUT", "LOOKS_LIKE_SECONDS_BELOW_MS", "Timeout", "TimeoutUnitWarning"]
