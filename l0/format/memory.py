"""Conversation memory: chat entries rendered as prompt text, and list helpers for them.

An entry is any dict with ``role`` and ``content`` (an OpenAI message works as is: a
``None`` content counts as empty, a list of content parts contributes its text parts).
`memory_entry` adds a ``timestamp`` (Unix epoch seconds).

Styles of `memory`:

- ``conversational``: ``User: Hello`` per entry. Continuation lines of a multi-line content
  are indented by two spaces, so content cannot start a line that reads as another turn.
- ``structured``: ``<message role="user">Hello</message>`` per entry, content XML-escaped.
- ``compact``: ``user: Hello`` per entry, all whitespace in the content collapsed to one
  space (fewest tokens; one line per entry).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

from l0.format._options import invalid, merge_options, require_int, require_str

if TYPE_CHECKING:
    from typing_extensions import Unpack

MemoryStyle = Literal["conversational", "structured", "compact"]
MEMORY_STYLES: tuple[MemoryStyle, ...] = ("conversational", "structured", "compact")


class _MemoryEntryRequired(TypedDict):
    role: str
    content: str


class MemoryEntry(_MemoryEntryRequired, total=False):
    """One turn of a conversation; `timestamp` is Unix epoch seconds."""

    timestamp: float
    metadata: dict[str, Any]


class MemoryOptions(TypedDict, total=False):
    style: MemoryStyle  # default "conversational"
    max_entries: int | None  # keep only the most recent entries; default: all
    include_timestamps: bool  # prefix entries that have one with their UTC time


_MEMORY_OPTIONS = frozenset(MemoryOptions.__optional_keys__)

Entry = TypeVar("Entry", bound=Mapping[str, Any])


def memory(
    entries: Sequence[Mapping[str, Any]],
    options: MemoryOptions | None = None,
    /,
    **overrides: Unpack[MemoryOptions],
) -> str:
    """The conversation as prompt text, one entry per line (see the module doc for styles)."""
    opts = merge_options("Format.memory", _MEMORY_OPTIONS, options, overrides)
    style = opts.get("style", "conversational")
    if style not in MEMORY_STYLES:
        raise invalid(
            f"Format.memory: style must be one of {', '.join(MEMORY_STYLES)}, got {style!r}"
        )
    max_entries = opts.get("max_entries")
    if max_entries is not None:
        entries = last_n_entries(entries, require_int("Format.memory", "max_entries", max_entries))
    stamped = bool(opts.get("include_timestamps", False))
    return "\n".join(
        _render(style, _role(entry, i), _text(entry, i), _stamp(entry) if stamped else None)
        for i, entry in enumerate(entries)
    )


def memory_entry(
    role: str,
    content: str,
    *,
    timestamp: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> MemoryEntry:
    """A new entry stamped with the current time (or `timestamp`)."""
    require_str("Format.memory_entry", "role", role)
    require_str("Format.memory_entry", "content", content)
    entry = MemoryEntry(
        role=role, content=content, timestamp=time.time() if timestamp is None else timestamp
    )
    if metadata is not None:
        entry["metadata"] = metadata
    return entry


def filter_memory(entries: Sequence[Entry], role: str | Iterable[str]) -> list[Entry]:
    """The entries whose role is `role` (or one of several roles), in order."""
    roles = {role} if isinstance(role, str) else set(role)
    return [entry for i, entry in enumerate(entries) if _role(entry, i) in roles]


def last_n_entries(entries: Sequence[Entry], n: int) -> list[Entry]:
    """The `n` most recent entries."""
    require_int("Format.last_n_entries", "n", n)
    return list(entries[max(0, len(entries) - n) :]) if n else []


def memory_size(entries: Sequence[Mapping[str, Any]]) -> int:
    """Total number of characters of content."""
    return sum(len(_text(entry, i)) for i, entry in enumerate(entries))


def truncate_memory(entries: Sequence[Entry], *, max_size: int) -> list[Entry]:
    """The most recent entries whose content adds up to at most `max_size` characters.

    Whole entries are dropped, oldest first; an entry is never cut in the middle.
    """
    require_int("Format.truncate_memory", "max_size", max_size)
    total = 0
    start = len(entries)
    while start > 0:
        size = len(_text(entries[start - 1], start - 1))
        if total + size > max_size:
            break
        total += size
        start -= 1
    return list(entries[start:])


# -- rendering ----------------------------------------------------------------------------------


def _render(style: str, role: str, text: str, stamp: str | None) -> str:
    if style == "structured":
        time_attr = f' timestamp="{stamp}"' if stamp else ""
        return (
            f'<message role="{html.escape(role)}"{time_attr}>'
            f"{html.escape(text, quote=False)}</message>"
        )
    prefix = f"[{stamp}] " if stamp else ""
    if style == "compact":
        return f"{prefix}{role}: {' '.join(text.split())}"
    first, *rest = text.splitlines() or [""]
    lines = [f"{prefix}{role[:1].upper()}{role[1:]}: {first}"]
    lines.extend(f"  {line}" if line else "" for line in rest)
    return "\n".join(lines)


def _entry(entry: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise invalid(f"memory entry {index} must be a dict, got {type(entry).__name__}")
    return entry


def _role(entry: Mapping[str, Any], index: int) -> str:
    role = _entry(entry, index).get("role")
    if not isinstance(role, str) or not role or len(role.splitlines()) > 1:
        raise invalid(f"memory entry {index} needs a single-line 'role' string, got {role!r}")
    return role


def _text(entry: Mapping[str, Any], index: int) -> str:
    content = _entry(entry, index).get("content")
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    raise invalid(
        f"memory entry {index}: 'content' must be a str, None or a list of content parts, "
        f"got {type(content).__name__}"
    )


def _stamp(entry: Mapping[str, Any]) -> str | None:
    ts = entry.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "MEMORY_STYLES",
    "MemoryEntry",
    "MemoryOptions",
    "MemoryStyle",
    "filter_memory",
    "last_n_entries",
    "memory",
    "memory_entry",
    "memory_size",
    "truncate_memory",
]
