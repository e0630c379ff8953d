"""Timeout configuration. Values are milliseconds, as in the reference.

`initial_token` bounds the wait from the start of an attempt (opening the stream included)
to its first token; `inter_token` bounds the silence between tokens, counted from the moment
l0 asks the provider for the next chunk, so a slow consumer never causes a timeout.
`total`, when set, bounds the whole run: every attempt, backoff and fallback together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from l0.errors import Error, ErrorCode


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

__all__ = ["DEFAULT_TIMEOUT", "Timeout"]
