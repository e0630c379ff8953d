"""Sentry from a run's lifecycle events: a breadcrumb per event, the run's failure captured.

    sentry = l0.Monitoring.sentry()
    stream = await l0.run(stream=factory, on_event=sentry.on_event, context={"user": "u1"})

`Sentry.on_event` is an ordinary `on_event` handler. Each lifecycle event becomes a breadcrumb
(category `l0`, the event type as message, the stream id and redacted meta as data; level
`error` for failures, `warning` for retries and fallbacks, `info` otherwise), so an error
reported later in the same scope shows how the stream got there. When a run fails for good
(the final `ERROR`), its exception is captured in a scope of its own that carries the run's
context (`contexts.l0`: stream id, redacted context and meta) and an `l0.stream_id` tag.
Events sent this way pass through `redact` before they leave, frames and all; unless the
application set Sentry's `send_default_pii`, they also lose the local variables of every
stack frame (an SDK frame's locals hold the prompt) and any prompt or completion text
(`l0.monitoring.content`), breadcrumbs included.

`sentry-sdk` is imported when a `Sentry` is created, never by `import l0`; it reports
through whatever client the application initialized (`sentry_sdk.init(...)`).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from l0.errors import Error, ErrorCode
from l0.monitoring.content import hide, strip_frame_variables, violation_texts, without_content
from l0.monitoring.redact import redact
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs

_LEVELS = {
    Obs.ERROR: "error",
    Obs.NETWORK_ERROR: "error",
    Obs.RETRY_START: "warning",
    Obs.RETRY_ATTEMPT: "warning",
    Obs.RETRY_GIVE_UP: "warning",
    Obs.FALLBACK_START: "warning",
}


@dataclass(frozen=True, slots=True)
class SentryConfig:
    """What reaches Sentry.

    - `breadcrumbs`: a breadcrumb per lifecycle event (of `breadcrumb_types`, default all).
    - `capture_errors`: capture the exception a run finally fails with.
    - `capture_retried_errors`: also capture each failure that was retried or fell back.
    - `tags`: added to every captured event.
    """

    breadcrumbs: bool = True
    breadcrumb_types: Collection[Obs] | None = None
    capture_errors: bool = True
    capture_retried_errors: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


def _import_sentry() -> Any:
    try:
        import sentry_sdk
    except ImportError as exc:
        raise Error(
            "Sentry monitoring needs the Sentry SDK: pip install 'l0[sentry]'",
            code=ErrorCode.INVALID_ARGUMENT,
        ) from exc
    return sentry_sdk


def _redact_event(
    event: dict[str, Any], hint: dict[str, Any], *, content: bool, texts: list[str]
) -> dict[str, Any]:
    redacted: dict[str, Any] = redact(event)
    if not content:
        strip_frame_variables(redacted)
        for value in (redacted.get("exception") or {}).get("values") or ():
            if isinstance(value, dict) and isinstance(value.get("value"), str):
                value["value"] = hide(value["value"], texts)
        if isinstance(redacted.get("message"), str):
            redacted["message"] = hide(redacted["message"], texts)
    return redacted


class Sentry:
    """Turns lifecycle events into breadcrumbs and captured errors (module docstring)."""

    def __init__(self, config: SentryConfig | None = None) -> None:
        self.config = config if config is not None else SentryConfig()
        self._sdk = _import_sentry()

    def __call__(self, event: ObservabilityEvent) -> None:
        self.on_event(event)

    def on_event(self, event: ObservabilityEvent) -> None:
        """The `on_event` handler: pass it to `l0.run`/`l0.wrap`."""
        config = self.config
        shown = event.meta if self._send_pii() else without_content(event.meta)
        meta = {k: v for k, v in shown.items() if k != "exception"}
        if config.breadcrumbs and (
            config.breadcrumb_types is None or event.type in config.breadcrumb_types
        ):
            self._sdk.add_breadcrumb(
                type="error" if event.type is Obs.ERROR else "default",
                category="l0",
                message=event.type.value,
                level=_LEVELS.get(event.type, "info"),
                data=redact({"stream_id": event.stream_id, **meta}),
                timestamp=datetime.fromtimestamp(event.ts / 1000.0, tz=timezone.utc),
            )
        if event.type is Obs.ERROR and (
            config.capture_errors if meta.get("final") else config.capture_retried_errors
        ):
            self._capture(event, meta)

    def _send_pii(self) -> bool:
        """Sentry's own opt-in: `send_default_pii`, or (newer SDKs) `data_collection` that
        lets generative-AI inputs and outputs through. With it, content may leave too."""
        client = self._sdk.get_client()
        if client.should_send_default_pii():
            return True
        collection = client.options.get("data_collection") or {}
        if not (isinstance(collection, Mapping) and collection.get("provided_by_user")):
            return False
        gen_ai = collection.get("gen_ai") or {}
        return bool(gen_ai.get("inputs") and gen_ai.get("outputs"))

    def _capture(self, event: ObservabilityEvent, meta: dict[str, Any]) -> None:
        sdk = self._sdk
        with sdk.new_scope() as scope:
            scope.set_tag("l0.stream_id", event.stream_id)
            for key, value in self.config.tags.items():
                scope.set_tag(key, value)
            scope.set_context(
                "l0",
                redact({"stream_id": event.stream_id, "context": event.context, "meta": meta}),
            )
            exception = event.meta.get("exception")
            scope.add_event_processor(
                functools.partial(
                    _redact_event, content=self._send_pii(), texts=violation_texts(exception)
                )
            )
            if isinstance(exception, BaseException):
                sdk.capture_exception(exception)
            else:
                sdk.capture_message(f"l0 stream failed: {meta.get('error')}", level="error")


__all__ = ["Sentry", "SentryConfig"]
