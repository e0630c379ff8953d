"""The vocabulary between the run core and its driver: facts in, decisions out.

The driver tells the core what happened as a fact, with `now` on its clock, through one
call: `decision = core.handle(fact, now)`. Facts are frozen dataclasses; each fires (at
most) the declared triggers of a phase boundary, never one per token. What streams in
between boundaries has its own two calls, kept lean for the hot path: `core.token(text,
now)` and `core.event(chunk, now)`, each returning the event to deliver, if any.

A decision says what the driver does next: open a stream, sleep, consult the user's
`should_retry`, run a guardrail check off the event loop, finish or fail. Events for the
consumer that are not the answer to a token (RESET, COMPLETE, ERROR, text released after an
overlap) leave through `core.take_events()`, and only there.

Everything the driver hands in goes through one port, `RunInput`: the core itself, or, when
the run is recorded, a recorder that logs each call and forwards it to the core
(l0.eventsourcing.recorder). A recording is that log (plus the answers of user code the core
consulted); a replay hands the same calls to a fresh core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, overload

from l0.guardrails.engine import Found
from l0.types import ErrorCategory, Event

# -- facts (driver -> core) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """The run begins (the first fact of every run)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """The factory returned a stream that is ready to be read."""


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The stream is exhausted (or sent its COMPLETE event)."""


@dataclass(frozen=True, slots=True)
class ReadingStopped:
    """The driver stopped reading because the core asked it to (`core.stop_reading`)."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The attempt raised `error` (opening, reading, a callback, a check)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class DeadlinePassed:
    """A deadline passed: `kind` is "initial_token", "inter_token" or "total"."""

    kind: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Woke:
    """The sleep the core asked for (`Sleep`) is over."""


@dataclass(frozen=True, slots=True)
class CallbackAnswered:
    """The user's `should_retry` answered a `Consult` (it may only veto)."""

    allowed: bool


@dataclass(frozen=True, slots=True)
class CheckFinished:
    """The guardrail check the driver ran off the event loop (`RunCheck`) found this (the
    core reports it and judges the violations, on the event loop's thread)."""

    found: Found


@dataclass(frozen=True, slots=True)
class Aborted:
    """The consumer called `abort()` (the driver reports it at its next step)."""


@dataclass(frozen=True, slots=True)
class HedgeDue:
    """`hedge_after` passed without a first token: the answer is the route to race (an
    `Open`), or None when there is none."""


@dataclass(frozen=True, slots=True)
class HedgeDropped:
    """Racer `index` failed before any first token; the other races on."""

    index: int
    error: BaseException


@dataclass(frozen=True, slots=True)
class HedgeSettled:
    """Racer `index` produced the first output (or is the one left): it is kept."""

    index: int


@dataclass(frozen=True, slots=True)
class Left:
    """The run stopped before an ending of its own: `outcome` "cancelled" (its task was
    cancelled or its consumer closed it) or "failed" (`error`, a BaseException, went
    through)."""

    outcome: str
    error: BaseException | None = None


Fact = (
    Start
    | Opened
    | StreamEnded
    | ReadingStopped
    | Failed
    | DeadlinePassed
    | Woke
    | CallbackAnswered
    | CheckFinished
    | Aborted
    | HedgeDue
    | HedgeDropped
    | HedgeSettled
    | Left
)

# Facts always answered with a decision; the rest (`Opened`, `CheckFinished`, `HedgeDue`,
# the hedge's outcomes, `Left`) may change nothing.
DecidingFact = (
    Start
    | StreamEnded
    | ReadingStopped
    | Failed
    | DeadlinePassed
    | Woke
    | CallbackAnswered
    | Aborted
)

# The facts without fields, made once.
START = Start()
OPENED = Opened()
STREAM_ENDED = StreamEnded()
READING_STOPPED = ReadingStopped()
WOKE = Woke()
ABORTED = Aborted()
HEDGE_DUE = HedgeDue()


# -- decisions (core -> driver) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open:
    """Call stream factory `factory_index` (0 = primary) for attempt `attempt`; when
    `continuation` is set, the attempt resumes after that text."""

    factory_index: int
    attempt: int
    continuation: str | None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait, then report `Woke`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Consult:
    """Ask the user's `should_retry` (it may only veto), then report `CallbackAnswered`."""

    error: BaseException
    attempt: int
    category: ErrorCategory


@dataclass(frozen=True, slots=True)
class RunCheck:
    """Run the guardrail check `phase` ("streaming" or "final") off the event loop, then
    report `CheckFinished`."""

    phase: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The run completed; deliver the waiting events and stop."""


@dataclass(frozen=True, slots=True)
class Fail:
    """The run failed; deliver the waiting events, then raise `error`."""

    error: BaseException


Decision = Open | Sleep | Consult | RunCheck | Finish | Fail


# -- the port (driver -> core) -----------------------------------------------------------------


class RunInput(Protocol):
    """Where the driver and the stream hand a run what happened: facts, tokens, chunks,
    `read()`'s quiet switch and abort requests, and where they take the waiting events.
    `RunCore` is one (a run that records nothing pays nothing); so is the recorder, which
    logs each call and forwards it to its core."""

    quiet: bool

    @overload
    def handle(self, fact: DecidingFact, now: float) -> Decision: ...
    @overload
    def handle(self, fact: HedgeDue, now: float) -> Open | None: ...
    @overload
    def handle(self, fact: Fact, now: float) -> Decision | None: ...

    def token(self, text: str, now: float) -> Event | None: ...

    def event(self, chunk: object, now: float) -> Event | None: ...

    def take_events(self) -> list[Event]: ...

    def request_abort(self) -> None: ...


__all__ = [
    "ABORTED",
    "HEDGE_DUE",
    "OPENED",
    "READING_STOPPED",
    "START",
    "STREAM_ENDED",
    "WOKE",
    "Aborted",
    "CallbackAnswered",
    "CheckFinished",
    "Consult",
    "DeadlinePassed",
    "DecidingFact",
    "Decision",
    "Fact",
    "Fail",
    "Failed",
    "Finish",
    "HedgeDropped",
    "HedgeDue",
    "HedgeSettled",
    "Left",
    "Open",
    "Opened",
    "ReadingStopped",
    "RunCheck",
    "RunInput",
    "Sleep",
    "Start",
    "StreamEnded",
    "Woke",
]
