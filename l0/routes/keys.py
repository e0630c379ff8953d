"""Which route a stream factory calls: its model at its endpoint, as a string key.

A factory made by a wrapped client (`client.chat.completions.factory(...)`, or a wrapped
client's own requests) knows its model and base URL and carries the key as `l0_route`. A plain
function does not; give it one with `with_route(factory, model, base_url)`, or its route has
no health kept across calls (the run still applies the per-run failover rules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from l0.errors import Error, ErrorCode
from l0.routes.health import route_key


def route_of(factory: object) -> str | None:
    """The route key `factory` declares (its `l0_route`), or None."""
    key = getattr(factory, "l0_route", None)
    return key if isinstance(key, str) and key else None


class RoutedFactory:
    """A stream factory with a declared route (see `with_route`)."""

    __slots__ = ("_factory", "l0_route")

    def __init__(self, factory: Callable[[], Any], route: str) -> None:
        self._factory = factory
        self.l0_route = route

    def __call__(self) -> Any:
        return self._factory()

    def l0_open(
        self, *, continuation: str | None, build_continuation_prompt: Callable[[str], str] | None
    ) -> Any:
        opener = getattr(self._factory, "l0_open", None)
        if opener is None:
            return self._factory()
        return opener(
            continuation=continuation, build_continuation_prompt=build_continuation_prompt
        )

    def __repr__(self) -> str:
        return f"RoutedFactory({self._factory!r}, route={self.l0_route!r})"


def with_route(
    factory: Callable[[], Any], model: str, base_url: str | None = None
) -> RoutedFactory:
    """`factory`, declaring that it calls `model` at `base_url` (for route health)."""
    if not callable(factory):
        raise Error(
            f"with_route() needs a stream factory, got {type(factory).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    if not isinstance(model, str) or not model:
        raise Error(
            f"with_route(model=...) must be a non-empty string, got {model!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return RoutedFactory(factory, route_key(model, base_url))


__all__ = ["RoutedFactory", "route_of", "with_route"]
