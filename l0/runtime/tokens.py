"""The core's token handlers while an attempt streams plain text: the hot path.

`RunCore.token_handler` is one of these while an attempt streams (chosen when streaming
begins, by what the run counts: `plain_token` when nothing is due every few tokens,
`counted_token` with guardrail checks or checkpoints, `gap_token` with `Guardrails.stall`),
and `RunCore._at_boundary` otherwise. They are plain functions of the core, not bound
methods: holding one, the core holds no reference to itself (no cycle for the garbage
collector), and choosing one is a field store. `StreamingCore` names what they touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from l0.types import Event, EventType, State

_TOKEN = EventType.TOKEN
_new_event = object.__new__


class StreamingCore(Protocol):
    """The part of `RunCore` a token handler reads and writes."""

    state: State
    quiet: bool
    _epoch_offset: float
    _tokens_to_interval: int
    _append: Callable[[str], None]

    def _on_interval(self, text: str, now: float) -> bool: ...

    def _note_gap(self, text: str, now: float) -> None: ...


def plain_token(core: StreamingCore, text: str, now: float) -> Event | None:
    """A token while streaming, for a run with nothing due every few tokens (no guardrails,
    no continuation checkpoints): append, count, stamp, and the Event."""
    if not text:
        return None
    core._append(text)
    state = core.state
    state.token_count += 1
    stamp = now + core._epoch_offset
    state.last_token_at = stamp
    if core.quiet:
        return None
    # `Event(_TOKEN, text, None, None, None, stamp)`, its fields stored here rather than by
    # the dataclass's __init__: a call less per delivered token (test_core checks that the
    # two are equal, so a new field of Event cannot be missed here).
    event = _new_event(Event)
    event.type = _TOKEN
    event.text = text
    event.data = None
    event.error = None
    event.usage = None
    event.timestamp = stamp
    return event


def counted_token(core: StreamingCore, text: str, now: float) -> Event | None:
    """`plain_token`, counting down to the next interval (streaming checks, checkpoints)."""
    if not text:
        return None
    core._append(text)
    state = core.state
    state.token_count += 1
    stamp = now + core._epoch_offset
    state.last_token_at = stamp
    core._tokens_to_interval -= 1
    if not core._tokens_to_interval and core._on_interval(text, now):
        return None
    if core.quiet:
        return None
    event = _new_event(Event)  # (as in plain_token)
    event.type = _TOKEN
    event.text = text
    event.data = None
    event.error = None
    event.usage = None
    event.timestamp = stamp
    return event


def gap_token(core: StreamingCore, text: str, now: float) -> Event | None:
    """`counted_token`, keeping the longest silence between outputs (Guardrails.stall)."""
    core._note_gap(text, now)
    return counted_token(core, text, now)


__all__ = ["StreamingCore", "counted_token", "gap_token", "plain_token"]
