"""Notice an SDK client that retries on its own underneath l0's retries.

`run(stream=lambda: client.chat.completions.create(...))` hands l0 whatever the factory
returns, after the SDK made the request. If the client was built with its own retries on (the
openai SDK retries twice by default), a 503 or a dropped connection is retried inside the SDK,
with its own backoff, before l0 sees it: l0's counts (`network_retry_count`), budgets and
`Retry-After` handling never learn of it. l0 cannot change a request a user's factory makes, so
it says so: a WARNING on the `l0` logger, once per client, naming the fix (build the client
with `max_retries=0`, or `l0.wrap` it, which turns the SDK's retries off for l0's requests).

Only a run that may retry is concerned; `l0.wrap(stream)` (no retries of its own) is not.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

logger = logging.getLogger("l0")

_noticed: weakref.WeakSet[Any] = weakref.WeakSet()


def sdk_client_retries(stream: Any) -> int:
    """How often the SDK client behind `stream` retries a request itself (0 if unknown).

    An openai `AsyncStream` keeps its client as `_client`; a LiteLLM stream has none."""
    retries = getattr(getattr(stream, "_client", None), "max_retries", 0)
    return retries if isinstance(retries, int) and not isinstance(retries, bool) else 0


def notice_sdk_retries(stream: Any, l0_max_retries: int) -> None:
    """Warn once per client when `stream` came from a client that retries by itself while
    l0 retries too (see the module docstring)."""
    if l0_max_retries <= 0:
        return
    retries = sdk_client_retries(stream)
    if retries <= 0:
        return
    client = stream._client
    try:
        if client in _noticed:
            return
        _noticed.add(client)
    except TypeError:  # not weak-referenceable: warn each time rather than never
        pass
    logger.warning(
        "this stream's %s client retries failed requests itself (max_retries=%d), "
        "underneath l0's retries, which then neither count nor pace them. Build the client "
        "with max_retries=0 for l0.run(), or use l0.wrap(client), which turns them off for "
        "l0's requests.",
        type(client).__name__,
        retries,
    )


__all__ = ["notice_sdk_retries", "sdk_client_retries"]
