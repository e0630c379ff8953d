"""Routes (a model at an endpoint) and their health shared across runs.

See `l0.routes.health` for the store interface and the in-process store, and
`l0.routes.keys` for how a stream factory names its route.
"""

from __future__ import annotations

from l0.routes.health import (
    STORE_CALL_LIMIT,
    Admission,
    InMemoryRouteHealth,
    Outcome,
    RouteHealthPolicy,
    RouteHealthStore,
    default_route_health,
    route_key,
)
from l0.routes.keys import RoutedFactory, route_of, with_route

__all__ = [
    "STORE_CALL_LIMIT",
    "Admission",
    "InMemoryRouteHealth",
    "Outcome",
    "RouteHealthPolicy",
    "RouteHealthStore",
    "RoutedFactory",
    "default_route_health",
    "route_key",
    "route_of",
    "with_route",
]
