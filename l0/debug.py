"""Debug logging: `l0.enable_debug()` prints every run's lifecycle, through `logging`.

l0 logs to the standard logger named "l0". `enable_debug()` sets it to DEBUG and gives it
one handler that prints `[l0] DEBUG: <message>` to stderr (once, however often it is
called). A run logs its lifecycle whenever that logger is enabled for DEBUG — through
`enable_debug()` or the application's own logging configuration — because `Stream` then
attaches `log_event` to the run's event bus. Lifecycle events happen at phase boundaries and
checkpoints, never per token, so debug logging costs nothing per token. Context and meta
are redacted (`l0.monitoring.redact`) before they are formatted.
"""

from __future__ import annotations

import logging
from typing import Any, TextIO

from l0.monitoring.redact import redact
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs

LOGGER_NAME = "l0"
FORMAT = "[l0] %(levelname)s: %(message)s"

logger = logging.getLogger(LOGGER_NAME)

_TITLES = {
    Obs.SESSION_START: "Starting L0 stream",
    Obs.SESSION_END: "Session ended",
    Obs.STREAM_INIT: "Opening stream",
    Obs.STREAM_READY: "Stream ready",
    Obs.RETRY_START: "Retrying",
    Obs.RETRY_ATTEMPT: "Retry attempt",
    Obs.RETRY_END: "Retries succeeded",
    Obs.RETRY_GIVE_UP: "Retries exhausted",
    Obs.FALLBACK_START: "Switching to fallback",
    Obs.FALLBACK_END: "Fallback finished",
    Obs.GUARDRAIL_PHASE_START: "Guardrail check",
    Obs.GUARDRAIL_RULE_RESULT: "Guardrail rule",
    Obs.GUARDRAIL_PHASE_END: "Guardrail check done",
    Obs.DRIFT_CHECK_RESULT: "Drift check",
    Obs.NETWORK_ERROR: "Network error",
    Obs.NETWORK_RECOVERY: "Network recovered",
    Obs.CHECKPOINT_SAVED: "Checkpoint saved",
    Obs.COMPLETE: "Stream complete",
    Obs.ERROR: "Error",
}
_LEFT_OUT = frozenset({"exception", "policy"})  # already summarized by other meta keys


class _DebugHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `enable_debug` installs (recognised so it is installed once)."""


def enable_debug(*, stream: TextIO | None = None) -> logging.Logger:
    """Log every run's lifecycle at DEBUG to `stream` (default: stderr) as
    `[l0] DEBUG: ...`. Returns the "l0" logger."""
    logger.setLevel(logging.DEBUG)
    if not any(isinstance(handler, _DebugHandler) for handler in logger.handlers):
        handler = _DebugHandler(stream)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    return logger


def disable_debug() -> None:
    """Undo `enable_debug()`: remove its handler and restore the logger's level."""
    for handler in list(logger.handlers):
        if isinstance(handler, _DebugHandler):
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(logging.NOTSET)


def format_meta(meta: dict[str, Any]) -> str:
    """`key=value ...` for a lifecycle event's meta, redacted."""
    plain: dict[str, Any] = redact({k: v for k, v in meta.items() if k not in _LEFT_OUT})
    return " ".join(f"{key}={value!r}" for key, value in plain.items())


def describe(event: ObservabilityEvent) -> str:
    """One line about a lifecycle event, redacted."""
    details = format_meta(event.meta)
    line = f"{_TITLES.get(event.type, event.type.value)}: stream={event.stream_id}"
    if event.type is Obs.SESSION_START and event.context:
        line += f" context={redact(event.context)!r}"
    return f"{line} {details}" if details else line


def log_event(event: ObservabilityEvent) -> None:
    """An `on_event` handler that logs the event at DEBUG on the "l0" logger."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s", describe(event))


__all__ = [
    "FORMAT",
    "LOGGER_NAME",
    "describe",
    "disable_debug",
    "enable_debug",
    "format_meta",
    "log_event",
]
