"""The wrapped client: `l0.wrap(AsyncOpenAI())` or `l0.wrap(litellm.acompletion)`.

`wrapped` holds `WrappedClient` and `wrap_client` (what `l0.wrap` calls for anything that is
not a stream), `request` the re-issuable request each streaming call becomes. A wrapped client's
options are an `l0.RunOptions` (`client.options`). See docs/core.md (the wrapped client)
and docs/adapters.md (its two stream paths).
"""

from l0.client.request import PREFILL_REJECTION_CODES, ChatRequest
from l0.client.wrapped import WrappedChat, WrappedClient, WrappedCompletions, wrap_client

__all__ = [
    "PREFILL_REJECTION_CODES",
    "ChatRequest",
    "WrappedChat",
    "WrappedClient",
    "WrappedCompletions",
    "wrap_client",
]
