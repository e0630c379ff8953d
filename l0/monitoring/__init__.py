"""Monitoring: OpenTelemetry spans and Sentry breadcrumbs from a run's lifecycle events.

Both are `on_event` handlers; `Monitoring.handler(...)` joins several into one:

    otel = l0.Monitoring.opentelemetry(l0.OpenTelemetryConfig(provider_name="openai"))
    sentry = l0.Monitoring.sentry()
    stream = await l0.run(stream=factory, on_event=l0.Monitoring.handler(otel, sentry))

The SDKs are optional extras (`l0[otel]`, `l0[sentry]`), imported only when an integration
is created. See docs/monitoring.md.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from l0.observability import EventHandler, ObservabilityEvent

if TYPE_CHECKING:
    from l0.monitoring.attributes import SemanticAttributes
    from l0.monitoring.otel import OpenTelemetry, OpenTelemetryConfig
    from l0.monitoring.sentry import Sentry, SentryConfig

logger = logging.getLogger("l0")

# Imported when first used: every run imports `l0.monitoring.redact` (this package), and
# most never trace.
_LAZY = {
    "SemanticAttributes": "l0.monitoring.attributes",
    "OpenTelemetry": "l0.monitoring.otel",
    "OpenTelemetryConfig": "l0.monitoring.otel",
    "Sentry": "l0.monitoring.sentry",
    "SentryConfig": "l0.monitoring.sentry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'l0.monitoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class Monitoring:
    """Factories for the integrations, and a handler that feeds several at once."""

    @staticmethod
    def opentelemetry(
        config: OpenTelemetryConfig | None = None, *, tracer_provider: object = None
    ) -> OpenTelemetry:
        from l0.monitoring.otel import OpenTelemetry

        return OpenTelemetry(config, tracer_provider=tracer_provider)

    @staticmethod
    def sentry(config: SentryConfig | None = None) -> Sentry:
        from l0.monitoring.sentry import Sentry

        return Sentry(config)

    @staticmethod
    def handler(*handlers: EventHandler | None) -> Callable[[ObservabilityEvent], None]:
        """One `on_event` handler calling each of `handlers` in turn (None is skipped); one
        that raises is logged and does not stop the others."""
        chosen = [h for h in handlers if h is not None]

        def on_event(event: ObservabilityEvent) -> None:
            for handler in chosen:
                try:
                    handler(event)
                except Exception:
                    logger.exception("l0: monitoring handler raised for %s", event.type.value)

        return on_event


__all__ = [
    "Monitoring",
    "OpenTelemetry",
    "OpenTelemetryConfig",
    "SemanticAttributes",
    "Sentry",
    "SentryConfig",
]
