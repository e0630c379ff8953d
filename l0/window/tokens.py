"""Token counting for windows: an estimate by default, exact with tiktoken when possible.

The estimate: one token per 4 ASCII characters (rounded up), plus one token per non-ASCII
character. English averages about 4 characters per token in OpenAI's encodings; scripts
like CJK take about one token per character, and accented or Cyrillic text somewhat less,
so the estimate errs on the high side there, which keeps chunks within context limits.

tiktoken is optional and imported only when a window needs a counter. It downloads an
encoding on first use; l0 never lets it: the exact counter is used only when the encoding
is already loaded or already in tiktoken's cache directory, and otherwise the estimate is
used silently. (Load it once yourself, `tiktoken.get_encoding("cl100k_base")`, or pass
`token_counter=` to choose.)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

from l0.window.types import TokenCounter

DEFAULT_ENCODING = "cl100k_base"
# Where tiktoken fetches OpenAI's encodings from; its cache is keyed by these URLs.
_BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_KNOWN = ("cl100k_base", "o200k_base", "p50k_base", "r50k_base")
_loaded: dict[str, TokenCounter] = {}


def estimate_tokens(text: str) -> int:
    """The estimated token count of `text` (see the module docstring)."""
    if text.isascii():
        return -(-len(text) // 4)
    narrow = len(text.encode("ascii", "ignore"))
    return -(-narrow // 4) + (len(text) - narrow)


def _cached_on_disk(name: str) -> bool:
    """True when tiktoken would load encoding `name` from its cache without the network."""
    if name not in _KNOWN:
        return False
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:  # caching disabled: tiktoken would always download
        return False
    key = hashlib.sha1(_BLOB_URL.format(name=name).encode()).hexdigest()
    return os.path.isfile(os.path.join(cache_dir, key))


def tiktoken_counter(name: str = DEFAULT_ENCODING) -> TokenCounter | None:
    """An exact counter for tiktoken encoding `name`, or None when tiktoken is not installed
    or the encoding is not available offline."""
    counter = _loaded.get(name)
    if counter is not None:
        return counter
    try:
        import tiktoken
        from tiktoken import registry
    except ImportError:
        return None
    already: dict[str, Any] = getattr(registry, "ENCODINGS", {})
    if name not in already and not _cached_on_disk(name):
        return None
    try:
        encoding = tiktoken.get_encoding(name)
    except Exception:  # a damaged cache or an unknown name: the estimate will do
        return None

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    _loaded[name] = count
    return count


def default_counter() -> TokenCounter:
    """tiktoken's cl100k_base when available offline, else `estimate_tokens`."""
    return tiktoken_counter() or estimate_tokens


__all__ = ["DEFAULT_ENCODING", "default_counter", "estimate_tokens", "tiktoken_counter"]
