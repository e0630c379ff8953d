"""Secrets stay in the process: the one place l0 turns values into plain, redacted data.

Everything that leaves a run — recordings, spans, breadcrumbs, debug logs — goes through
`redact(value)`, which returns a JSON-safe copy: mappings with string keys, lists, strings,
numbers, booleans and None. On the way:

- the value of any key that names a credential (`api_key`, `Authorization`, `x-api-key`,
  `*_secret`, cookies, ...; matched case-insensitively, `-` and `_` alike) becomes
  `"[REDACTED]"`, at any depth;
- strings are scrubbed of the exact API keys l0 was handed (`remember_secret`: a wrapped
  client's key, the key of the SDK client behind a stream given to `run()`), of
  bearer/basic credentials, of API-key-shaped tokens of any length (OpenAI and Anthropic
  `sk-...`, Google `AIza...`, Azure's 32 hex digits, Groq, Hugging Face), and of
  `api_key=...`-style assignments inside messages and URLs (the records of the "l0"
  logger are scrubbed the same way, tracebacks included);
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
import logging
import re
import threading
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
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE), r"\1 " + REDACTED),
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
    # Provider API keys by shape, any length (a provider may echo one part-masked with *):
    # OpenAI sk-..., sk-proj-..., rk-...; Anthropic sk-ant-...; Groq gsk_...; Hugging Face hf_...
    (re.compile(r"\b(sk|rk)-[A-Za-z0-9_\-*]{3,}"), r"\1-" + REDACTED),
    (re.compile(r"\b(gsk|hf|xai)[_-][A-Za-z0-9_\-*]{8,}"), r"\1_" + REDACTED),
    # Google API keys (AIza...), and Azure's 32-hex-digit keys standing alone
    (re.compile(r"\bAIza[A-Za-z0-9_\-*]{8,}"), REDACTED),
    (re.compile(r"(?<![\w-])[0-9a-fA-F]{32}(?![\w-])"), REDACTED),
)

# Exact values l0 was given as credentials (a wrapped client's API key, the key of an SDK
# client behind a stream): scrubbed wherever they appear, whatever their shape.
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words
_MAX_KNOWN = 4096  # per process; the oldest is forgotten past this
_known: dict[str, None] = {}
_known_pattern: re.Pattern[str] | None = None
_known_lock = threading.Lock()

_MAX_DEPTH = 32


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a credential (see the module docstring)."""
    if not isinstance(key, str):
        return False
    name = key.strip().lower().replace("-", "_")
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


def remember_secret(value: object) -> None:
    """Scrub this exact value (an API key l0 was handed) from everything redacted from now
    on. Values that are not strings, or shorter than `MIN_SECRET_LENGTH`, are ignored."""
    global _known_pattern
    if not isinstance(value, str):
        return
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH or value in _known:
        return
    with _known_lock:
        _known[value] = None
        while len(_known) > _MAX_KNOWN:
            del _known[next(iter(_known))]
        # longest first, so a key that contains another is replaced whole
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(known) for known in ordered))


def remember_sdk_key(owner: object) -> None:
    """Remember the API key of an SDK client, or of the client behind an SDK stream, when it
    can be seen: openai's clients and streams (`api_key`, `_client.api_key`), litellm's
    streams (the call's `api_key`)."""
    for candidate in (owner, getattr(owner, "_client", None)):
        remember_secret(getattr(candidate, "api_key", None))
    logging_obj = getattr(owner, "logging_obj", None)
    details = getattr(logging_obj, "model_call_details", None)
    if isinstance(details, Mapping):
        remember_secret(details.get("api_key"))
        params = details.get("litellm_params")
        if isinstance(params, Mapping):
            remember_secret(params.get("api_key"))


def scrub(text: str) -> str:
    """`text` with known secrets and credential-shaped substrings replaced by `[REDACTED]`."""
    known = _known_pattern
    if known is not None:
        text = known.sub(REDACTED, text)
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


class ScrubLogRecords(logging.Filter):
    """Scrubs the records of the "l0" logger (attached when this module is imported): the
    message, and the traceback, formatted here and scrubbed (the exception object itself is
    dropped from the record, so no handler can format it unscrubbed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging to report
            return True
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_LOG_SCRUBBER = ScrubLogRecords()
logging.getLogger("l0").addFilter(_LOG_SCRUBBER)


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


def url_without_password(url: str) -> str:
    """`url` with its password replaced by `***`, for logs and reprs (a store's URL)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc}"))


__all__ = [
    "REDACTED",
    "ErrorWriter",
    "ScrubLogRecords",
    "describe_error",
    "is_secret_key",
    "redact",
    "remember_sdk_key",
    "remember_secret",
    "scrub",
    "url_without_password",
]
