"""What the driver and the hedge (hedge.py) share: a wait cut short, and closing what an
attempt opened. Kept apart so that the hedge needs nothing of the driver's module."""

from __future__ import annotations

from typing import Any


def still_open(*opened: Any) -> list[Any]:
    """What an attempt opened that needs closing: each object once, skipping what is absent
    and async generators that already finished."""
    targets: list[Any] = []
    for obj in opened:
        if obj is None or getattr(obj, "ag_frame", True) is None:
            continue
        if all(obj is not other for other in targets):
            targets.append(obj)
    return targets


class Interrupted(Exception):
    """A wait was cut short: by a deadline (`timeout_type`) or by abort()."""

    def __init__(self, timeout_type: str | None, seconds: float = 0.0) -> None:
        super().__init__(timeout_type)
        self.timeout_type = timeout_type
        self.seconds = seconds
