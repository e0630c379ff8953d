"""Server-sent events from raw response bytes, read the way the `openai` SDK reads them.

`SSEDecoder.feed(bytes)` returns the events completed by those bytes as `(event, data)`
pairs; `finish()` flushes a last line without a line end. It follows the SDK's decoder
(which follows the WHATWG event-stream rules) to the letter, because the lean stream path
must behave exactly as the SDK path on any bytes a server sends:

- lines end at CR, LF or CRLF (a CRLF split across two reads is one line end);
- each line is decoded as UTF-8 on its own, strictly, so a multi-byte character split
  across two reads is whole again before it is decoded; at a line that is not UTF-8 the
  events before it are returned and `error` holds the `UnicodeDecodeError` the SDK raises
  there (the reader raises it once it has used those events);
- `data:` lines are joined with "\\n", `event:` names the event, `id:` is remembered (and,
  as in the SDK, never cleared: every later blank line then dispatches an event), `retry:`
  is parsed, `:` comments and unknown fields are ignored;
- a blank line dispatches the pending event; a blank line with nothing pending (a
  keep-alive) dispatches nothing.

The common case, LF-terminated `data: ...` lines, is a `bytes.split` and a prefix test.
"""

from __future__ import annotations

import contextlib
import re

_LINE_END = re.compile(b"[\r\n]")

SSEEvent = tuple[str | None, str]


class SSEDecoder:
    """Incremental SSE parser (see the module docstring)."""

    __slots__ = ("_data", "_event", "_last_event_id", "_partial", "_retry", "_skip_lf", "error")

    def __init__(self) -> None:
        self._partial = b""  # the start of a line whose end has not arrived yet
        self._skip_lf = False  # the last read ended with CR: an LF next is part of it
        self._event: str | None = None
        self._data: list[str] = []
        self._last_event_id: str | None = None
        self._retry: int | None = None
        # Set when a line is not UTF-8: the events before it were returned, and the
        # reader raises this next, as the SDK does at that line.
        self.error: UnicodeDecodeError | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events that `chunk` completes, in order."""
        if self._skip_lf or b"\r" in chunk:
            return self._lines(self._split_any(chunk))
        if self._partial:
            chunk = self._partial + chunk
        lines = chunk.split(b"\n")
        self._partial = lines.pop()
        return self._lines(lines)

    def finish(self) -> list[SSEEvent]:
        """The events a last unterminated line completes (at the end of the body)."""
        if not self._partial:
            return []
        line, self._partial = self._partial, b""
        return self._lines([line])

    def _split_any(self, chunk: bytes) -> list[bytes]:
        """Lines ended by CR, LF or CRLF, with a CRLF split across reads counted once."""
        lines: list[bytes] = []
        start = 0
        for match in _LINE_END.finditer(chunk):
            end = match.start()
            if self._skip_lf and end == start and chunk[end] == 10:
                self._skip_lf = False
                start = end + 1
                continue
            self._skip_lf = False
            lines.append(self._partial + chunk[start:end])
            self._partial = b""
            self._skip_lf = chunk[end] == 13
            start = end + 1
        if start < len(chunk):
            self._skip_lf = False
            self._partial += chunk[start:]
        return lines

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for raw in lines:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                # The SDK raises at this line, after handing over the events before it.
                self.error = exc
                self._partial = b""
                return events
            if line.startswith("data: "):
                self._data.append(line[6:])
                continue
            if line:
                self._field(line)
                continue
            if (
                self._event is None
                and not self._data
                and not self._last_event_id
                and self._retry is None
            ):
                continue  # a keep-alive blank line
            events.append((self._event, "\n".join(self._data)))
            self._event = None
            self._data = []
            self._retry = None
        return events

    def _field(self, line: str) -> None:
        if line.startswith(":"):
            return  # a comment
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None
        elif name == "id":
            if "\0" not in value:
                self._last_event_id = value
        elif name == "retry":
            with contextlib.suppress(ValueError):
                self._retry = int(value)


__all__ = ["SSEDecoder", "SSEEvent"]
