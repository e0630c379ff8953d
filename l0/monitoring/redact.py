"""Secrets stay in the process: the one place l0 turns values into plain, redacted data.

Everything that leaves a run — recordings, spans, breadcrumbs, debug logs — goes through
`redact(value)`, which returns a JSON-safe copy: mappings with string keys, lists, strings,
numbers, booleans and None. On the way:

- the value of any key that names a credential (`api_key`, `Authorization`, `x-api-key`,
  `*_secret`, cookies, ...; matched case-insensitively, `-` and `_` alike) becomes
  `"[REDACTED]"`, at any depth;
- strings are scrubbed of bearer/basic credentials and of API-key-shaped tokens
  (`sk-...`), and of `api_key=...`-style assignments inside messages and URLs;
- exceptions are written down by an `ErrorWriter` (a protocol: any callable from an
  exception to plain, redacted data); the default, `describe_error`, keeps the class and
  the scrubbed message, and recordings pass `l0.eventsourcing`'s `SerializedError` form so
  that replay can rebuild them. Dataclasses become dicts of their fields, enums their
  values; anything else its (scrubbed) `repr`.

This module imports nothing of l0: monitoring, debug output and recordings all sit above it.

Model output is not scrubbed where it is content (recorded tokens): replay must reproduce
it exactly, and it is not a credential l0 handled.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any, Protocol

REDACTED = "[REDACTED]"

_SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "authorization",
        "proxy_authorization",
        "x_api_key",
        "api_token",
        "auth_token",
        "access_token",
        "refresh_token",
        "id_token",
        "session_token",
        "bearer_token",
        "client_secret",
        "secret",
        "secret_key",
        "password",
        "passwd",
        "private_key",
        "cookie",
        "set_cookie",
        "x_goog_api_key",
        "ocp_apim_subscription_key",
    }
)
_SECRET_SUFFIXES = ("_api_key", "_apikey", "_secret", "_password", "_secret_key")

_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values: "Bearer abc.def", "Basic dXNlcjpwYXNz"
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE), r"\1 " + REDACTED),
    # key=value / key: value / "key": "value" for credential-named keys inside text
    (
        re.compile(
            r"""(?ix)
            \b((?:x[-_])?api[-_]?key|authorization|access[-_]token|client[-_]secret|password)
            (["']?\s*[:=]\s*["']?)
            (?!Bearer\b|Basic\b)([^\s"',;&}]+)
            """
        ),
        r"\1\2" + REDACTED,
    ),
    # Provider API keys by shape: sk-..., sk-proj-..., sk-ant-..., rk-...
    (re.compile(r"\b(sk|rk)-[A-Za-z0-9_\-]{16,}"), r"\1-" + REDACTED),
)

_MAX_DEPTH = 32


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a credential (see the module docstring)."""
    if not isinstance(key, str):
        return False
    name = key.strip().lower().replace("-", "_")
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


def scrub(text: str) -> str:
    """`text` with credential-shaped substrings replaced by `[REDACTED]`."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


class ErrorWriter(Protocol):
    """Writes an exception down as plain, JSON-safe data with its strings already scrubbed
    (`redact` returns it as it is)."""

    def __call__(self, error: BaseException, /) -> Any: ...


def describe_error(error: BaseException, /) -> dict[str, str]:
    """The default `ErrorWriter`: the exception's class and its scrubbed message."""
    kind = type(error)
    return {"type": kind.__name__, "module": kind.__module__, "message": scrub(str(error))}


def redact(value: Any, *, write_error: ErrorWriter = describe_error, _depth: int = 0) -> Any:
    """A JSON-safe, redacted copy of `value` (see the module docstring); exceptions inside
    it are written down by `write_error`."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return scrub(value)
    if _depth > _MAX_DEPTH:
        return "<nested too deep>"
    depth = _depth + 1
    if isinstance(value, Enum):
        return redact(value.value, write_error=write_error, _depth=depth)
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED
            if is_secret_key(key)
            else redact(item, write_error=write_error, _depth=depth)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item, write_error=write_error, _depth=depth) for item in value]
    if isinstance(value, BaseException):
        return write_error(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: REDACTED
            if is_secret_key(field.name)
            else redact(getattr(value, field.name), write_error=write_error, _depth=depth)
            for field in dataclasses.fields(value)
        }
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return scrub(repr(value))


__all__ = ["REDACTED", "ErrorWriter", "describe_error", "is_secret_key", "redact", "scrub"]
