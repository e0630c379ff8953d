"""Monitoring: OpenTelemetry spans and Sentry breadcrumbs from a run's lifecycle events."""
