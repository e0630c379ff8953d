"""The runtime core: one run's model of the runtime machine. Facts in, decisions out.

The driver reports what happened as a fact (l0/runtime/facts.py) with `now` (seconds on the
driver's clock), through one call: `decision = core.handle(fact, now)`. The core fires the
declared triggers, its handlers do the bookkeeping, and the answer is what the driver does
next: open a stream, sleep, consult the user's `should_retry`, run a check off the event
loop, finish, or fail. What streams in between boundaries has two lean calls of its own,
`token(text, now)` and `event(chunk, now)`, each returning the event to deliver, if any;
either may raise `stop_reading`, after which the driver stops reading and reports
`ReadingStopped`. Other events for the consumer (RESET, COMPLETE, ERROR, text released after
an overlap) leave through `take_events()`.

Nothing here awaits or reads a clock, and randomness comes from the injected `rng`, so a run
is a pure function of its facts: tests drive it without an event loop, and a recorded run
replays exactly.

The core is built in layers, one concern per module (listed in core_base.py): telemetry,
verdicts (guardrails, checkpoints, rewinds), the failure policy, overlap matching, hedging,
and this module: the facts, the hot path and the handlers of an attempt's edges.

The hot path is `token()` while streaming: append, count, stamp, an interval countdown and
the Event. Everything else happens at boundaries.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

from l0.errors import Error, ErrorCode
from l0.metrics import MetricsSink
from l0.observability import EventSink
from l0.runtime.facts import (
    STREAM_ENDED,
    Aborted,
    CallbackAnswered,
    CheckFinished,
    Consult,
    DeadlinePassed,
    DecidingFact,
    Decision,
    Fact,
    Fail,
    Failed,
    Finish,
    HedgeDropped,
    HedgeDue,
    HedgeSettled,
    Left,
    Open,
    Opened,
    ReadingStopped,
    RunCheck,
    Sleep,
    Start,
    StreamEnded,
    Woke,
)
from l0.runtime.plan import RunPlan
from l0.runtime.racing import HedgeRacing
from l0.runtime.tokens import counted_token, gap_token, plain_token
from l0.types import Event, EventType, GuardrailViolation, State

if TYPE_CHECKING:
    from transitions import EventData

_TOKEN = EventType.TOKEN
_COMPLETE = EventType.COMPLETE


def _stamped(chunk: Event, now: float, core: RunCore) -> Event:
    """`chunk` with its time: events from adapters and user streams (tool calls, messages,
    data) arrive without one, and every delivered event carries its time."""
    if chunk.timestamp is None:
        return dataclasses.replace(chunk, timestamp=core.epoch(now))  # the caller's is theirs
    return chunk


class RunCore(HedgeRacing):
    """One run (see the module docstring)."""

    # What else the provider's COMPLETE carried (a refusal, logprobs), for the run's COMPLETE.
    # A class default, set on a run only when there is some (see core_base on inline fields).
    _completion_extras: dict[str, Any] | None = None

    def __init__(
        self,
        plan: RunPlan,
        *,
        now: float,
        epoch: float,
        rng: random.Random | None = None,
        bus: EventSink,  # the driver's EventBus: it owns the clock and the stream id
        metrics: MetricsSink | None = None,  # the process's Metrics, for a live run
        state: State | None = None,
    ) -> None:
        super().__init__(plan, now=now, epoch=epoch, rng=rng, bus=bus, metrics=metrics, state=state)
        if plan.guardrails and any(rule.name == "stall" for rule in plan.guardrails):
            # Only a run with Guardrails.stall pays for the gaps (a subtraction per token).
            self._tracks_gaps = True
        if self.engine is not None or plan.continuation is not None:
            self._init_intervals()
        else:
            # Nothing is ever due: the class defaults, assigned all the same. CPython keeps an
            # instance's fields inline (fast to read per token) only while every instance of
            # the class sets names the first one set: a run with guardrails or a continuation
            # after a plain one would otherwise get a slower dict for all its fields.
            self._checkpoint_every = 0
            self._interval = 0

    # -- the one entry for facts -----------------------------------------------------------------

    @overload
    def handle(self, fact: DecidingFact, now: float) -> Decision: ...
    @overload
    def handle(self, fact: HedgeDue, now: float) -> Open | None: ...
    @overload
    def handle(self, fact: Fact, now: float) -> Decision | None: ...

    def handle(self, fact: Fact, now: float) -> Decision | None:
        """Handle a fact reported by the driver; return what the driver does next (None:
        nothing changes, e.g. a stream opened or a check passed)."""
        return _HANDLERS[type(fact)](self, fact, now)

    # -- the hot path (tokens and chunks) ------------------------------------------------------

    def token(self, text: str, now: float) -> Event | None:
        """A text chunk arrived. Returns the event to deliver, if any.

        The work is done by the current phase's token handler (`token_handler`, chosen when
        a phase is entered; l0/runtime/tokens.py), which the driver calls
        directly when this method is not overridden."""
        return self.token_handler(self, text, now)

    def _note_gap(self, text: str, now: float) -> None:
        """Keep the longest silence between outputs (Guardrails.stall)."""
        if text:
            stamp = now + self._epoch_offset
            if stamp - self._output_at > self.state._longest_gap:
                self.state._longest_gap = stamp - self._output_at
            self._output_at = stamp

    def _token_inside(self, text: str, now: float) -> Event | None:
        """A token the core hands itself (a TOKEN event, a token after a boundary): part
        of the fact being handled, not one of its own (a recorder in front logs only the
        driver's)."""
        return self.token_handler(self, text, now)

    def event(self, chunk: object, now: float) -> Event | None:
        """A non-text chunk arrived: an `l0.Event` (from an adapter or the user's stream)."""
        if not isinstance(chunk, Event):
            self._failed(
                Error(
                    f"The stream yielded a {type(chunk).__module__}.{type(chunk).__qualname__}, "
                    "which l0 cannot read. Streams must yield str tokens or l0.Event objects; "
                    "for provider SDK streams pass adapter='openai' or 'litellm', or register "
                    "an adapter with l0.Adapters.register().",
                    code=ErrorCode.INVALID_CHUNK,
                ),
                now,
            )
            return None
        kind = chunk.type
        if kind is _TOKEN:
            return self._token_inside(chunk.text or "", now)
        if kind is EventType.COMPLETE:
            self._record_completion_details(chunk)
            self._stream_done = True
            self.stop_reading = True
            return None
        if kind is EventType.ERROR:
            self._failed(
                chunk.error or Error("The stream reported an error", code=ErrorCode.PROVIDER_ERROR),
                now,
            )
            return None
        if kind is EventType.TOOL_CALL:
            return self._tool_call(chunk, now)
        # MESSAGE, DATA, PROGRESS, RESET: delivered as they are; a message's text is output.
        if self.phase == "waiting_for_token" or self.phase == "tool_call_detected":
            self._leave_waiting(now)
        if kind is EventType.MESSAGE and chunk.text:
            self._append(chunk.text)
            self.state.token_count += 1
            self.state.last_token_at = self.epoch(now)
            if self._tracks_gaps:  # a message is output too (Guardrails.stall)
                self._note_gap(chunk.text, now)
        return _stamped(chunk, now, self)

    def request_abort(self) -> None:
        """Mark the run for abort (from any task); the driver reports `Aborted` at its next
        step."""
        self.abort_requested = True
        self.stop_reading = True
        if self.phase not in ("complete", "error"):
            self.state.aborted = True

    # -- facts: the run and its attempts -------------------------------------------------------

    def _start(self, fact: Start, now: float) -> Decision:
        if self.bus.active:
            self._emit_session_start(now)
        self._fire("start", now)
        return self._take_decision()

    def _opened(self, fact: Opened, now: float) -> None:
        if self.bus.active:
            self._emit_stream_ready(now)

    def _reading_stopped(self, fact: ReadingStopped, now: float) -> Decision:
        """The driver stopped reading because `stop_reading` was raised."""
        if self.abort_requested:
            return self._aborted(now)
        if self._stream_done:
            return self._ended(STREAM_ENDED, now)
        return self._take_decision()

    def _ended(self, fact: StreamEnded, now: float) -> Decision:
        """The stream is exhausted (or sent its COMPLETE event)."""
        if self.phase == "continuation_matching":
            # Text still held back for overlap matching is delivered now, before COMPLETE.
            pending = self._resolve_overlap(self._require_matcher().finish(), now)
            if pending is not None:
                self._put(pending)
        elif self.phase == "tool_call_detected":
            self._fire("tool_call_done", now)
        silence = now + self._epoch_offset - self._output_at  # the gap before the end counts
        if self._tracks_gaps and silence > self.state._longest_gap:
            self.state._longest_gap = silence
        self._fire("end", now)
        if isinstance(self.decision, RunCheck):
            return self.decision
        return self._after_final(self._final_violations, now)

    def _woke(self, fact: Woke, now: float) -> Decision:
        """The backoff is over: verify what can be kept, then open the next attempt."""
        if self.plan.continuation is not None and self.state.content_length > 0:
            self._fire("verify_checkpoint", now)
        else:
            self._resume_text = None
            self._rewind(0, now)
        self._fire("reopen", now)
        return self._take_decision()

    def _left(self, outcome: str, now: float, error: BaseException | None = None) -> None:
        """The run stopped before an ending of its own. It still ends once: SESSION_END
        (with `outcome`), counted in the metrics."""
        if self.phase == "complete" or self.phase == "error" or self.left_as is not None:
            return
        self.left_as = outcome
        self.state.duration = now - self._started
        self._emit_left(outcome, error, now)
        self._record_metrics(completed=False)

    def _checked(self, fact: CheckFinished, now: float) -> Decision | None:
        """An off-loop check finished. Returns a decision if the run must act on it."""
        pending, engine = self.decision, self.engine
        if not isinstance(pending, RunCheck) or engine is None:
            raise Error(
                f"A guardrail check finished but none was pending ({pending!r})",
                code=ErrorCode.INTERNAL_ERROR,
            )
        violations = engine.report(pending.phase, fact.found, self._ts(now))
        if self.phase == "finalizing":
            self.stop_reading = False
            return self._after_final(violations, now)
        if self.abort_requested:
            return self._aborted(now)  # asked while the check ran: the run reads no further
        self.stop_reading = False
        error = self._apply_violations(violations, now)
        if error is not None:
            return self._failed(error, now)
        self._maybe_checkpoint(now)
        self.decision = None
        return None

    def _after_final(self, violations: Sequence[GuardrailViolation], now: float) -> Decision:
        error = self._apply_violations(violations, now)
        if error is not None:
            return self._failed(error, now)
        self._fire("finalized", now)
        return self._take_decision()

    # -- the hot path's boundaries ----------------------------------------------------------

    def _token_at_boundary(self, text: str, now: float) -> Event | None:
        if not text:
            return None
        phase = self.phase
        if phase == "continuation_matching":
            self.state.token_count += 1
            self.state.last_token_at = self.epoch(now)
            verdict = self._require_matcher().feed(text)
            if verdict is None:
                return None
            return self._resolve_overlap(verdict, now, streaming=True)
        if phase == "waiting_for_token" and self._resume_text and self._dedup_enabled:
            self._fire("resume", now)
            return self._token_at_boundary(text, now)
        if phase in ("waiting_for_token", "tool_call_detected", "init"):
            self._leave_waiting(now)
            return self.token_handler(self, text, now)  # (the streaming handler now)
        raise Error(
            f"Token reported in phase {phase!r}; the driver must not read in this phase",
            code=ErrorCode.INTERNAL_ERROR,
        )

    _at_boundary = staticmethod(_token_at_boundary)

    def _enter_streaming(self) -> None:
        """The attempt streams plain text: its tokens go to the run's streaming handler."""
        self.token_handler = (
            gap_token if self._tracks_gaps else counted_token if self._interval else plain_token
        )

    def _leave_waiting(self, now: float) -> None:
        if self.phase == "tool_call_detected":
            self._fire("tool_call_done", now)
            self._enter_streaming()
        else:
            self._fire("first_token", now)

    def _tool_call(self, chunk: Event, now: float) -> Event:
        if self.phase == "continuation_matching":
            pending = self._resolve_overlap(self._require_matcher().finish(), now)
            if pending is not None:
                self._put(pending)
        if self.phase == "waiting_for_token":
            self._note_recovery(now)
        if self.phase != "tool_call_detected":
            self._fire("tool_call", now)
        self.token_handler = self._at_boundary
        if chunk.data is not None:
            self.state.tool_calls.append(dict(chunk.data))
        if self.state.first_token_at is None:
            self.state.first_token_at = self.epoch(now)
        self._output_at = self.epoch(now)  # a tool call is output: no stall while it streams
        return _stamped(chunk, now, self)

    def _record_completion_details(self, chunk: Event) -> None:
        state = self.state
        if chunk.usage is not None:
            state.usage = dict(chunk.usage)
        data = chunk.data or {}
        if data.get("finish_reason") is not None:
            state.finish_reason = data["finish_reason"]
        if data.get("model") is not None:
            state.model = data["model"]
        extras = {
            key: value
            for key, value in data.items()
            if key not in ("finish_reason", "model") and value is not None
        }
        if extras or self._completion_extras is not None:  # (an earlier attempt's go)
            self._completion_extras = extras or None

    def _on_interval(self, text: str, now: float) -> bool:
        """Every few tokens: run the streaming checks and save a checkpoint. Returns True
        when the attempt must stop (this token is then not delivered)."""
        self._tokens_to_interval = self._interval
        count = self._tokens_at_interval = self._tokens_at_interval + self._interval
        engine = self.engine
        if engine is not None and engine.due(count):
            if engine.heavy(self.state):
                self.decision = RunCheck("streaming")
                self.stop_reading = True
                return False
            try:
                violations = engine.check_streaming(self.state, self._ts(now), count)
            except Exception:
                # A rule that raised (or answered nonsense: the caller's mistake) fails the
                # run before this token is delivered, so the token leaves the content too.
                self.state.truncate(self.state.content_length - len(text))
                raise
            error = self._apply_violations(violations, now)
            if error is not None:
                self.state.truncate(self.state.content_length - len(text))
                self._failed(error, now)
                return True
        self._maybe_checkpoint(now)
        return False

    # -- handlers of an attempt's edges (machine/declarations/runtime.toml) ------------------

    def open_attempt(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self.attempt += 1
        self.token_handler = self._at_boundary
        self.stop_reading = self.abort_requested  # an abort asked before this attempt holds
        self._matcher = None
        self._stream_done = False
        self._tokens_to_interval = self._interval or -1  # the attempt counts its own tokens
        self._tokens_at_interval = 0
        resume = self._resume_text
        if resume:
            state = self.state
            state.resumed = True
            state.continuation_used = True
            state.resume_point = resume
            state.resume_from = len(resume)
        if self.engine is not None:
            self.engine.start_attempt(self.state)
        if self.bus.active:
            self._emit_stream_init(now, self.factory_index, resume, hedge=False)
        if self.attempt == 0 and not resume and self.factory_index == 0:
            self.decision = _FIRST_OPEN  # every run's first decision (a frozen one serves all)
        else:
            self.decision = Open(self.factory_index, self.attempt, resume or None)

    def mark_first_token(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        state = self.state
        if state.first_token_at is None:
            state.first_token_at = now + self._epoch_offset
        self._output_at, state._longest_gap = now + self._epoch_offset, 0.0  # this attempt's
        if self._network_trouble:
            self._note_recovery(now)
        # `_enter_streaming()`, written out: every run enters streaming here
        self.token_handler = (
            gap_token if self._tracks_gaps else counted_token if self._interval else plain_token
        )

    def run_final_checks(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self.token_handler = self._at_boundary
        engine = self.engine
        if engine is None:
            self._final_violations = ()
        elif engine.heavy(self.state):
            self.decision = RunCheck("final")
            return
        else:
            self._final_violations = engine.check_final(self.state, self._ts(now))
        self.decision = None

    def complete_run(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        state = self.state
        state.completed = True
        state.duration = now - self._started
        details = {"finish_reason": state.finish_reason, "model": state.model}
        if self._completion_extras is not None:
            details.update(self._completion_extras)
        self._put(Event(_COMPLETE, None, details, None, state.usage, now + self._epoch_offset))
        if self.bus.active:
            self._emit_completion(now)
        self._record_metrics(completed=True)
        self.decision = _FINISH


_FINISH = Finish()  # (it has no fields: one serves every run)
_FIRST_OPEN = Open(0, 0, None)

# What each fact does (`RunCore.handle`); a new fact type is a row here.
_HANDLERS: dict[type, Callable[[RunCore, Any, float], Decision | None]] = {
    Start: RunCore._start,
    Opened: RunCore._opened,
    StreamEnded: RunCore._ended,
    ReadingStopped: RunCore._reading_stopped,
    Failed: lambda core, fact, now: core._failed(fact.error, now),
    DeadlinePassed: lambda core, fact, now: core._timed_out(fact.kind, fact.seconds, now),
    Woke: RunCore._woke,
    CallbackAnswered: lambda core, fact, now: core._consulted(fact.allowed, now),
    CheckFinished: RunCore._checked,
    Aborted: lambda core, fact, now: core._aborted(now),
    HedgeDue: lambda core, fact, now: core._hedge_due(now),
    HedgeDropped: lambda core, fact, now: core._hedge_dropped(fact.index, fact.error, now),
    HedgeSettled: lambda core, fact, now: core._fire("hedge_settled", now, index=fact.index),
    Left: lambda core, fact, now: core._left(fact.outcome, now, fact.error),
}

__all__ = [
    "Consult",
    "Decision",
    "Fail",
    "Finish",
    "Open",
    "RunCheck",
    "RunCore",
    "Sleep",
]
