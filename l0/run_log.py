"""INFO logging of what a run recovers from: each retry, fallback and timeout, once.

A handler on the run's event bus (attached by `Stream` when the `l0` logger is enabled for
INFO, as the debug log is at DEBUG), so it reads the lifecycle events the runtime emits
anyway and costs nothing per token: a run emits events at phase boundaries only. Three
events make an INFO line, each written once:

- `RETRY_ATTEMPT`: "retry N after <reason> (<category> error), in <delay>s, on route R";
- `FALLBACK_START`: "falling back to route R after <reason> on route P: <error>";
- a timeout (`ERROR` whose reason is one of l0's `Timeout` codes, logged when it happens,
  before the retry or fallback it leads to): "timed out (<reason>) on route R, attempt N:
  <the error, which names its limit in ms>".

A route is where an attempt went: 0 is the primary stream, N the N-th fallback. Each record
carries the same facts as attributes for structured log handlers: `l0_event`,
`l0_stream_id`, `l0_reason`, `l0_route`, and `l0_retry` with `l0_delay` (seconds) for a
retry, `l0_attempt` for a timeout. At DEBUG the
run's whole lifecycle is logged as well (`l0.debug`).
"""

from __future__ import annotations

import logging
from typing import Any

from l0.debug import log_event as log_debug
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs

logger = logging.getLogger("l0")

TIMEOUT_REASONS = frozenset({"initial_token_timeout", "inter_token_timeout", "total_timeout"})


def _route(index: Any) -> str:
    return "0 (primary)" if not index else f"{index} (fallback {index})"


def _info(event: ObservabilityEvent, message: str, *args: Any, **facts: Any) -> None:
    extra = {"l0_event": event.type.value, "l0_stream_id": event.stream_id}
    extra.update({f"l0_{key}": value for key, value in facts.items()})
    logger.info(message, *args, extra=extra)


def log_recovery(event: ObservabilityEvent) -> None:
    """Write the INFO line for a retry, a fallback or a timeout (nothing for other events)."""
    meta = event.meta
    kind = event.type
    if kind is Obs.RETRY_ATTEMPT:
        _info(
            event,
            "retry %s after %s (%s error), in %.3fs, on route %s stream=%s",
            meta.get("attempt"),
            meta.get("reason"),
            meta.get("category"),
            meta.get("delay") or 0.0,
            _route(meta.get("fallback_index")),
            event.stream_id,
            reason=meta.get("reason"),
            retry=meta.get("attempt"),
            route=meta.get("fallback_index"),
            delay=meta.get("delay"),
        )
    elif kind is Obs.FALLBACK_START:
        _info(
            event,
            "falling back to route %s after %s on route %s: %s stream=%s",
            _route(meta.get("index")),
            meta.get("reason"),
            _route(meta.get("previous_index")),
            meta.get("error"),
            event.stream_id,
            reason=meta.get("reason"),
            route=meta.get("index"),
        )
    elif kind is Obs.ERROR and meta.get("reason") in TIMEOUT_REASONS:
        attempt = meta.get("attempt")
        attempt = attempt + 1 if isinstance(attempt, int) else attempt  # 1-based, as in errors
        _info(
            event,
            "timed out (%s) on route %s, attempt %s: %s stream=%s",
            meta.get("reason"),
            _route(meta.get("fallback_index")),
            attempt,
            meta.get("error"),
            event.stream_id,
            reason=meta.get("reason"),
            attempt=attempt,
            route=meta.get("fallback_index"),
        )


def log_event(event: ObservabilityEvent) -> None:
    """The handler `Stream` attaches: recoveries at INFO, the whole lifecycle at DEBUG."""
    if logger.isEnabledFor(logging.INFO):
        log_recovery(event)
    log_debug(event)


__all__ = ["TIMEOUT_REASONS", "log_event", "log_recovery"]
