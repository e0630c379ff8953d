"""Options given as a dict, as keyword arguments, or both.

The reference passes options as a positional dict (`Format.memory(memory, {"style": ...})`);
Python callers expect keywords (`Format.memory(memory, style=...)`). Every helper that takes
options accepts both, merges them (keywords win) and rejects keys it does not know, so a typo
fails loudly instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from l0.errors import Error, ErrorCode


def merge_options(
    where: str,
    allowed: frozenset[str],
    options: Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """`options` updated with `overrides`; an unknown key raises `l0.Error`."""
    if options is not None and not isinstance(options, Mapping):
        raise invalid(f"{where}: options must be a dict, got {type(options).__name__}")
    merged = {**(options or {}), **overrides}
    unknown = sorted(set(merged) - allowed)
    if unknown:
        raise invalid(
            f"{where}: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"known options are {', '.join(sorted(allowed))}"
        )
    return merged


def invalid(message: str) -> Error:
    """An `INVALID_ARGUMENT` error to raise."""
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def require_str(where: str, name: str, value: object) -> str:
    if not isinstance(value, str):
        raise invalid(f"{where}: {name} must be a str, got {type(value).__name__}")
    return value


def require_int(where: str, name: str, value: object, *, minimum: int = 0) -> int:
    # bool is an int subclass; `max_entries=True` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(f"{where}: {name} must be an int >= {minimum}, got {value!r}")
    return value
