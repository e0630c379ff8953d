"""From whatever a stream factory returned to an async iterator of chunks the core reads.

An explicit `adapter` (a name or an object with `wrap`) wins; otherwise the adapter registry
is asked whether it recognises the stream (by type and module name, without importing any
provider package); otherwise the stream is read as it is, and it must yield `str` tokens or
`l0.Event` objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import AsyncGeneratorType
from typing import Any

from l0.adapters import Adapters
from l0.errors import Error, ErrorCode


def open_iterator(stream: Any, adapter: Any = None) -> AsyncIterator[Any]:
    """The async iterator of chunks for `stream` (see the module docstring)."""
    if type(stream) is not AsyncGeneratorType:  # (a generator has no client, nor a key)
        # the key of an SDK client behind the stream, when visible; imported here, as the
        # common stream (an async generator) never needs it
        from l0.monitoring.redact import remember_sdk_key

        remember_sdk_key(stream)
    if adapter is None:
        chosen = Adapters.find(stream)
    else:
        chosen = Adapters.get(adapter) if isinstance(adapter, str) else adapter
    if chosen is not None:
        wrapped: AsyncIterator[Any] = chosen.wrap(stream)
        return wrapped.__aiter__() if hasattr(wrapped, "__aiter__") else wrapped
    if type(stream) is AsyncGeneratorType:
        return stream  # (an async generator is its own iterator)
    if hasattr(stream, "__aiter__"):
        iterator: AsyncIterator[Any] = stream.__aiter__()
        return iterator
    if hasattr(stream, "choices"):  # a whole completion (OpenAI, LiteLLM): stream=True forgotten
        hint = "it is a finished completion, not a stream: pass stream=True to create(...)"
    elif hasattr(stream, "__iter__") and not isinstance(stream, (str, bytes)):
        hint = "it is a synchronous iterable; l0 reads async iterators (e.g. an async generator)"
    else:
        hint = "it is not an async iterator"
    raise Error(
        f"The stream factory returned a {type(stream).__qualname__}, which l0 cannot stream: "
        f"{hint}. Return an async iterator of str/l0.Event, or a provider SDK stream "
        "(pass adapter=... if l0 does not recognise it).",
        code=ErrorCode.INVALID_STREAM,
    )


__all__ = ["open_iterator"]
