"""Assemble streamed tool-call fragments into whole calls.

Providers stream a tool call as pieces: the first fragment for an index carries the call's
id and function name, later ones carry slices of the JSON arguments. The accumulator keeps
one pending call per index, concatenates argument slices exactly as received, and hands the
finished calls over once, in order of first appearance, when the stream says they are done.

Fragments without an index (some OpenAI-compatible servers omit it) are matched by id, or
else continue the most recent call. The first non-empty id and name seen for a call win.
Arguments are never repaired: `arguments_valid` says whether they parse as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class _PendingCall:
    index: int
    id: str | None = None
    name: str | None = None
    parts: list[str] = field(default_factory=list)


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


class ToolCallAccumulator:
    """Collects tool-call fragments; `take()` returns the assembled calls, once each."""

    __slots__ = ("_by_id", "_calls", "_last")

    def __init__(self) -> None:
        self._calls: dict[int, _PendingCall] = {}
        self._by_id: dict[str, int] = {}
        self._last: int | None = None

    @property
    def pending(self) -> bool:
        """True while some call was started and not yet taken."""
        return bool(self._calls)

    def add(
        self,
        *,
        index: int | None = None,
        id: str | None = None,
        name: str | None = None,
        arguments: str | None = None,
    ) -> None:
        """Add one fragment of a call."""
        key = self._key(index, id)
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _PendingCall(index=key)
        if id and call.id is None:
            call.id = id
            self._by_id[id] = key
        if name and call.name is None:
            call.name = name
        if arguments:
            call.parts.append(arguments)
        self._last = key

    def add_fragment(self, fragment: Any) -> None:
        """Add an OpenAI-shaped `delta.tool_calls[i]` (SDK object or dict)."""
        function = _field(fragment, "function")
        index = _field(fragment, "index")
        self.add(
            index=index if isinstance(index, int) else None,
            id=_field(fragment, "id"),
            name=None if function is None else _field(function, "name"),
            arguments=None if function is None else _field(function, "arguments"),
        )

    def take(self) -> list[dict[str, Any]]:
        """The calls assembled so far, as event data, and forget them."""
        calls = [_as_data(call) for call in self._calls.values()]
        self._calls.clear()
        self._by_id.clear()
        self._last = None
        return calls

    def _key(self, index: int | None, id: str | None) -> int:
        if index is not None:
            return index
        if id:
            known = self._by_id.get(id)
            if known is not None:
                return known
            return max(self._calls, default=-1) + 1
        if self._last is not None:
            return self._last
        return 0


def _as_data(call: _PendingCall) -> dict[str, Any]:
    arguments = "".join(call.parts)
    try:
        json.loads(arguments)
        valid = True
    except ValueError:
        valid = False
    return {
        "id": call.id,
        "name": call.name,
        "arguments": arguments,
        "index": call.index,
        "arguments_valid": valid,
    }


__all__ = ["ToolCallAccumulator"]
