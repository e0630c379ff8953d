"""The runtime core: one run's model of the runtime machine. Facts in, decisions out.

The driver reports facts — the run starts, a stream opened, a token or event arrived, the
stream ended, an exception was raised, a deadline passed, the consumer aborted — always with
`now` (seconds on the driver's clock). The core fires the declared triggers, its handlers do
the bookkeeping, and it leaves `decision` for the driver: open a stream, sleep, consult the
user's `should_retry`, run a check off the event loop, finish, or fail. Events for the
consumer (RESET, COMPLETE, ERROR, de-duplicated text) wait in `outbox`.

Nothing here awaits or reads a clock, and randomness comes from the injected `rng`, so a run
is a pure function of its facts: tests drive it without an event loop, and a recorded run
replays exactly.

The hot path is `token()` while streaming: append, count, stamp, an interval countdown and
the Event. Everything else happens at boundaries.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from l0.continuation import OverlapMatcher, OverlapResult
from l0.errors import (
    Error,
    ErrorCode,
    ErrorContext,
    FailureType,
    NetworkError,
    RecoveryPolicy,
    RecoveryStrategy as Strategy,
    TimeoutError as L0TimeoutError,
    status_code_of,
)
from l0.guardrails.engine import GuardrailEngine
from l0.guardrails.types import GuardrailViolation
from l0.machine.models import MachineModel
from l0.metrics import Metrics, MetricsSnapshot
from l0.observability import EventSink, ObservabilityEventType as Obs
from l0.runtime import policy
from l0.runtime.plan import RunPlan
from l0.types import ErrorCategory, Event, EventType, State

if TYPE_CHECKING:
    from transitions import EventData

_TOKEN = EventType.TOKEN
_COMPLETE = EventType.COMPLETE


# -- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open:
    """Call stream factory `factory_index` (0 = primary) for attempt `attempt`; when
    `continuation` is set, the attempt resumes after that text."""

    factory_index: int
    attempt: int
    continuation: str | None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait, then report `woke`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Consult:
    """Ask the user's `should_retry` (it may only veto), then report `consulted`."""

    error: BaseException
    attempt: int
    category: ErrorCategory


@dataclass(frozen=True, slots=True)
class RunCheck:
    """Run the guardrail check `phase` ("streaming" or "final") off the event loop, then
    report `checked`."""

    phase: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The run completed; yield the outbox and stop."""


@dataclass(frozen=True, slots=True)
class Fail:
    """The run failed; yield the outbox, then raise `error`."""

    error: BaseException


Decision = Open | Sleep | Consult | RunCheck | Finish | Fail

_STREAMING_ATTEMPT_PHASES = frozenset(
    {"waiting_for_token", "streaming", "tool_call_detected", "continuation_matching"}
)


def _stamped(chunk: Event, now: float, core: RunCore) -> Event:
    """`chunk` with its time: events from adapters and user streams (tool calls, messages,
    data) arrive without one, and every delivered event carries its time."""
    if chunk.timestamp is None:
        return dataclasses.replace(chunk, timestamp=core.epoch(now))  # the caller's is theirs
    return chunk


class RunCore(MachineModel):
    """One run (see the module docstring)."""

    # Fields every run starts with the same immutable value: class defaults, so creating a
    # run (done per stream, and short streams are common) does not assign each of them.
    decision: Decision | None = None
    abort_requested = False
    factory_index = 0
    attempt = -1
    _stream_done = False  # the stream sent its COMPLETE event
    _budget_model = 0  # retries of the current factory that count toward attempts
    _budget_total = 0  # all retries of the current factory
    _failure: policy.Failure | None = None
    _failure_phase = "init"
    _vetoed = False
    _delay = 0.0
    _resume_text: str | None = None
    _matcher: OverlapMatcher | None = None
    _network_trouble = False
    _retried_since_success = False
    _timeouts = 0
    _same_kind: FailureType | None = None  # the current route's last failure kind...
    _same_failures = 0  # ...and how many times in a row it failed that way
    _hedge: Open | None = None  # the route racing the current one (hedging)
    _hedges = 0  # hedges started, and won by the racing route
    _hedge_wins = 0
    # When this attempt last produced output (epoch seconds), for the longest silence between
    # outputs (`State._longest_gap`, read by Guardrails.stall). Set when an attempt's output
    # begins; infinite until then, so an unmarked path can miss a gap but never invent one.
    _output_at = math.inf
    _tracks_gaps = False
    left_as: str | None = None  # how a run that stopped short ended (see `left`)

    def __init__(
        self,
        plan: RunPlan,
        *,
        now: float,
        epoch: float,
        rng: random.Random | None = None,
        bus: EventSink,  # the driver's EventBus: it owns the clock and the stream id
        state: State | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        self._rng = rng
        self.bus = bus
        self.state = state if state is not None else State()
        self.errors: list[BaseException] = []
        self.outbox: list[Event] = []
        # Set when the driver must stop reading the current attempt and look at `decision`.
        self.attention = False
        self._epoch_offset = epoch - now
        self._started = now
        self._final_violations: list[GuardrailViolation] = []
        self._append = self.state._parts.append
        self._fast = False  # the streaming fast path is on
        # Set by Stream.read(): nobody looks at token events, so none are built.
        self.quiet = False
        continuation = plan.continuation
        self.engine = (
            GuardrailEngine(plan.guardrails, bus=self.bus, check_interval=plan.check_interval)
            if plan.guardrails
            else None
        )
        if any(rule.name == "stall" for rule in plan.guardrails):
            # Only a run with Guardrails.stall pays for the gaps (a subtraction per token).
            self._tracks_gaps = True
            self.token = self._token_and_gap  # type: ignore[method-assign]
        self._checkpoint_every = continuation.checkpoint_interval if continuation else 0
        beats = [*(self.engine.intervals if self.engine else ()), self._checkpoint_every]
        # The hot path counts down to the next multiple of every interval's common divisor.
        self._cadence = math.gcd(*beats)
        self._countdown = self._cadence or -1  # never reaches zero when nothing is due
        # Tokens of this attempt counted by the hot path, a multiple of the cadence: the
        # streaming checks and checkpoints are due on it (not on the run's token total, which
        # a retried attempt starts from part-way through an interval).
        self._beat = 0

    @property
    def last_failure(self) -> policy.Failure | None:
        """The classified failure the run last handled (None before any)."""
        return self._failure

    @property
    def rng(self) -> random.Random:
        """The run's source of jitter (made on first use: most runs never back off)."""
        if self._rng is None:
            self._rng = random.Random()
        return self._rng

    # -- time ------------------------------------------------------------------------------------

    def epoch(self, now: float) -> float:
        """Driver-clock seconds to Unix epoch seconds."""
        return now + self._epoch_offset

    def _ts(self, now: float) -> float:
        """Observability timestamps are epoch milliseconds."""
        return (now + self._epoch_offset) * 1000.0

    def _fire(self, trigger: str, now: float, **kwargs: Any) -> None:
        kwargs["now"] = now
        kwargs["epoch"] = now + self._epoch_offset
        self.fire_with(trigger, kwargs)

    # -- facts: the run and its attempts -------------------------------------------------------

    def start(self, now: float) -> Decision:
        if self.bus.active:
            self.bus.emit(
                Obs.SESSION_START,
                ts=self._ts(now),
                fallbacks=self.plan.fallback_count,
                continuation=self.plan.continuation is not None,
            )
        self._fire("start", now)
        return self._take_decision()

    def opened(self, now: float) -> None:
        """The factory returned a stream that is ready to be read."""
        if self.bus.active:
            self.bus.emit(
                Obs.STREAM_READY,
                ts=self._ts(now),
                attempt=self.attempt,
                fallback_index=self.factory_index,
            )

    def token(self, text: str, now: float) -> Event | None:
        """A text chunk arrived. Returns the event to deliver, if any."""
        if not self._fast:
            return self._token_at_boundary(text, now)
        if not text:
            return None
        self._append(text)
        state = self.state
        state.token_count += 1
        stamp = now + self._epoch_offset
        state.last_token_at = stamp
        self._countdown -= 1
        if not self._countdown and self._on_interval(text, now):
            return None
        if self.quiet:
            return None
        return Event(_TOKEN, text, None, None, None, stamp)

    def _token_and_gap(self, text: str, now: float) -> Event | None:
        """`token`, keeping the longest silence between outputs as well (Guardrails.stall)."""
        if self._fast and text:
            stamp = now + self._epoch_offset
            if stamp - self._output_at > self.state._longest_gap:
                self.state._longest_gap = stamp - self._output_at
            self._output_at = stamp
        return type(self).token(self, text, now)  # a subclass's token (recording) included

    def event(self, chunk: object, now: float) -> Event | None:
        """A non-text chunk arrived: an `l0.Event` (from an adapter or the user's stream)."""
        if not isinstance(chunk, Event):
            self.failed(
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
            return self.token(chunk.text or "", now)
        if kind is EventType.COMPLETE:
            self._record_completion_details(chunk)
            self._stream_done = True
            self.attention = True
            return None
        if kind is EventType.ERROR:
            self.failed(
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
                gap = self.state.last_token_at - self._output_at
                self.state._longest_gap = max(self.state._longest_gap, gap)
                self._output_at = self.state.last_token_at
        return _stamped(chunk, now, self)

    # -- facts: hedging (run(hedge_after=...)) ------------------------------------------------

    def hedge_due(self, now: float) -> Open | None:
        """No first token after `hedge_after`: the next route to race the current one, or
        None when there is no next route (or the run is past waiting)."""
        if (
            self.phase != "waiting_for_token"
            or self.abort_requested
            or self.factory_index >= self.plan.fallback_count
        ):
            return None
        self._fire("hedge", now)
        return self._hedge

    def hedge_dropped(self, index: int, error: BaseException, now: float) -> None:
        """Racer `index` failed before any first token; the other one races on."""
        self.errors.append(error)
        failure = policy.classify(error)
        if failure.failure_type is FailureType.TIMEOUT:
            self._timeouts += 1
        self.bus.emit(
            Obs.ERROR,
            ts=self._ts(now),
            error=str(error) or type(error).__name__,
            error_type=type(error).__name__,
            category=failure.category.value,
            reason=failure.reason,
            attempt=self.attempt,
            fallback_index=index,
            final=False,
            hedge=True,
            exception=error,
        )

    def hedge_settled(self, index: int, now: float) -> None:
        """Racer `index` produced the first output (or is the one left): it is kept."""
        self._fire("hedge_settled", now, index=index)

    def interrupted(self, now: float) -> Decision:
        """The driver stopped reading because `attention` was raised: say what comes next."""
        if self.abort_requested:
            return self.aborted(now)
        if self._stream_done:
            return self.ended(now)
        return self._take_decision()

    def ended(self, now: float) -> Decision:
        """The stream is exhausted (or sent its COMPLETE event)."""
        if self.phase == "continuation_matching":
            # Text still held back for overlap matching is delivered now, before COMPLETE.
            pending = self._resolve_overlap(self._require_matcher().finish(), now)
            if pending is not None:
                self.outbox.append(pending)
        elif self.phase == "tool_call_detected":
            self._fire("tool_call_done", now)
        silence = self.epoch(now) - self._output_at  # the gap before the end counts too
        if self._tracks_gaps and silence > self.state._longest_gap:
            self.state._longest_gap = silence
        self._fire("end", now)
        if isinstance(self.decision, RunCheck):
            return self.decision
        return self._after_final(self._final_violations, now)

    def failed(self, error: BaseException, now: float) -> Decision:
        """The current attempt failed with `error`."""
        self.attention = True
        self._fast = False
        if self.abort_requested:
            return self.aborted(now)
        self.errors.append(error)
        failure = policy.classify(error)
        self._failure = failure
        self._failure_phase = self.phase
        self._vetoed = False
        if failure.failure_type is self._same_kind:
            self._same_failures += 1
        else:
            self._same_kind, self._same_failures = failure.failure_type, 1
        if isinstance(error, Error) and error.code in (
            ErrorCode.INITIAL_TOKEN_TIMEOUT,
            ErrorCode.INTER_TOKEN_TIMEOUT,
            ErrorCode.TOTAL_TIMEOUT,
        ):
            self._timeouts += 1
        ts = self._ts(now)
        if failure.failure_type in (FailureType.NETWORK, FailureType.TIMEOUT):
            self._network_trouble = True
            self.state.network_errors.append(error)
            self.bus.emit(
                Obs.NETWORK_ERROR,
                ts=ts,
                error=str(error) or type(error).__name__,
                network_type=failure.network_type.value if failure.network_type else None,
                attempt=self.attempt,
            )
        self.bus.emit(
            Obs.ERROR,
            ts=ts,
            error=str(error) or type(error).__name__,
            error_type=type(error).__name__,
            category=failure.category.value,
            reason=failure.reason,
            attempt=self.attempt,
            fallback_index=self.factory_index,
            final=False,
            exception=error,
        )
        # A restart (a refused continuation) is not a retry: nobody is asked about it.
        if (
            not failure.restart
            and not self._leaves_route()  # switching routes is not a retry: nobody is asked
            and self._retry_budget_allows()
            and self.plan.retry.should_retry is not None
        ):
            self.decision = Consult(error, self._budget_total, failure.category)
            return self.decision
        return self._fire_fail(now)

    def consulted(self, allowed: bool, now: float) -> Decision:
        """The user's `should_retry` answered (it can only veto)."""
        self._vetoed = not allowed
        return self._fire_fail(now)

    def woke(self, now: float) -> Decision:
        """The backoff is over: verify what can be kept, then open the next attempt."""
        if self.plan.continuation is not None and self.state.content_length > 0:
            self._fire("verify_checkpoint", now)
        else:
            self._resume_text = None
            self._rewind(0, now)
        self._fire("reopen", now)
        return self._take_decision()

    def timed_out(self, timeout_type: str, seconds: float, now: float) -> Decision:
        """A deadline passed: "initial_token", "inter_token" or "total"."""
        waited = {"initial_token": "for the first token", "inter_token": "between tokens"}
        limit = f"{seconds * 1000:g} ms (Timeout.{timeout_type})"  # the unit Timeout takes
        message = (
            f"No token within {limit} {waited[timeout_type]} "
            f"(attempt {self.attempt + 1}, stream {self.factory_index})"
            if timeout_type in waited
            else f"The run exceeded its total time budget of {limit}"
        )
        error = L0TimeoutError(message, timeout_type=timeout_type, timeout_seconds=seconds)
        return self.failed(error, now)

    def aborted(self, now: float) -> Decision:
        """The consumer called `abort()`."""
        self.abort_requested = True
        self.attention = True
        if self.phase in ("complete", "error"):
            return self._take_decision()
        self._fire("abort", now)
        return self._take_decision()

    def request_abort(self) -> None:
        """Mark the run for abort; the driver reports `aborted` at its next step."""
        self.abort_requested = True
        self.attention = True
        if self.phase not in ("complete", "error"):
            self.state.aborted = True

    def left(self, outcome: str, now: float, error: BaseException | None = None) -> None:
        """The run stopped before an ending of its own: its task was cancelled, its consumer
        closed it, or `error` (a BaseException) went through (`outcome` "cancelled" or
        "failed"). It still ends once: SESSION_END (with `outcome`), counted in the metrics."""
        if self.phase == "complete" or self.phase == "error" or self.left_as is not None:
            return
        self.left_as = outcome
        self.state.duration = now - self._started
        if self.bus.active:
            kind = type(error).__name__ if error is not None else None
            self.bus.emit(
                Obs.SESSION_END, ts=self._ts(now), completed=False, outcome=outcome, error_type=kind
            )
        self._record_metrics(completed=False)

    def checked(self, violations: list[GuardrailViolation], now: float) -> Decision | None:
        """An off-loop check finished. Returns a decision if the run must act on it."""
        self.attention = False
        if self.phase == "finalizing":
            return self._after_final(violations, now)
        error = self._apply_violations(violations, now)
        if error is not None:
            return self.failed(error, now)
        self._maybe_checkpoint(now)
        self.decision = None
        return None

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
            return self._resolve_overlap(verdict, now)
        if phase == "waiting_for_token" and self._resume_text and self._dedup_enabled:
            self._fire("resume", now)
            return self._token_at_boundary(text, now)
        if phase in ("waiting_for_token", "tool_call_detected", "init"):
            self._leave_waiting(now)
            return self.token(text, now)
        raise Error(
            f"Token reported in phase {phase!r}; the driver must not read in this phase",
            code=ErrorCode.INTERNAL_ERROR,
        )

    @property
    def _dedup_enabled(self) -> bool:
        continuation = self.plan.continuation
        return continuation is not None and continuation.deduplicate

    def _leave_waiting(self, now: float) -> None:
        if self.phase == "tool_call_detected":
            self._fire("tool_call_done", now)
            self._fast = True
        else:
            self._fire("first_token", now)

    def _require_matcher(self) -> OverlapMatcher:
        if self._matcher is None:
            raise Error(
                "No overlap matcher in continuation_matching", code=ErrorCode.INTERNAL_ERROR
            )
        return self._matcher

    def _resolve_overlap(self, verdict: OverlapResult, now: float) -> Event | None:
        rewind_to = self._require_matcher().rewind_to
        self._fire("overlap_resolved", now, verdict=verdict)
        if rewind_to is not None:
            # The provider started its answer over and it differs from the kept text after
            # `rewind_to` characters: the restarted answer replaces the rest (RESET first).
            checkpoint = min(rewind_to, self.state.checkpoint_length)
            self._rewind(rewind_to, now, reason="restart", attempt=self.attempt)
            self.state._set_checkpoint_length(checkpoint)  # the kept part stays checked
        text = verdict.deduplicated
        if not text:
            return None
        stamp = self.epoch(now)
        self._append(text)
        self.state.last_token_at = stamp
        event = Event(_TOKEN, text, None, None, None, stamp)
        if rewind_to is not None:
            self.outbox.append(event)  # after its RESET, in order
            return None
        return event

    def _tool_call(self, chunk: Event, now: float) -> Event:
        if self.phase == "continuation_matching":
            pending = self._resolve_overlap(self._require_matcher().finish(), now)
            if pending is not None:
                self.outbox.append(pending)
        if self.phase == "waiting_for_token":
            self._note_recovery(now)
        if self.phase != "tool_call_detected":
            self._fire("tool_call", now)
        self._fast = False
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

    def _on_interval(self, text: str, now: float) -> bool:
        """Every few tokens: run the streaming checks and save a checkpoint. Returns True
        when the attempt must stop (this token is then not delivered)."""
        self._countdown = self._cadence
        count = self._beat = self._beat + self._cadence
        engine = self.engine
        if engine is not None and engine.due(count):
            if engine.heavy(self.state):
                self.decision = RunCheck("streaming")
                self.attention = True
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
                self.failed(error, now)
                return True
        self._maybe_checkpoint(now)
        return False

    def _maybe_checkpoint(self, now: float) -> None:
        every = self._checkpoint_every
        if not every or self._beat % every:
            return
        state = self.state
        state._mark_checkpoint()
        bus = self.bus
        if bus.active:
            bus.emit(
                Obs.CHECKPOINT_SAVED,
                ts=self._ts(now),
                token_count=state.token_count,
                checkpoint_length=state.checkpoint_length,
            )

    def _apply_violations(self, violations: list[GuardrailViolation], now: float) -> Error | None:
        """Record violations; return the error that must stop the attempt, if any."""
        if not violations:
            return None
        state = self.state
        state.violations.extend(violations)
        if any(v.rule == "drift" for v in violations):
            state.drift_detected = True  # the engine has emitted DRIFT_CHECK_RESULT
        fatal = [
            v
            for v in violations
            if v.severity == "fatal" or (v.severity == "error" and not v.recoverable)
        ]
        if fatal:
            return Error(
                "Guardrail violation that cannot be retried: "
                + "; ".join(f"{v.rule}: {v.message}" for v in fatal),
                code=ErrorCode.FATAL_GUARDRAIL_VIOLATION,
                violations=fatal,
            )
        errors = [v for v in violations if v.severity == "error"]
        if not errors:
            return None
        if any(v.rule == "drift" for v in errors):
            code = ErrorCode.DRIFT_DETECTED
        elif all(v.rule == "zero_output" for v in errors):
            code = ErrorCode.ZERO_OUTPUT
        else:
            code = ErrorCode.GUARDRAIL_VIOLATION
        return Error(
            "Guardrail violation: " + "; ".join(f"{v.rule}: {v.message}" for v in errors),
            code=code,
            violations=errors,
        )

    # -- failure routing -----------------------------------------------------------------------

    def _retry_budget_allows(self) -> bool:
        failure = self._failure
        if failure is None:
            return False
        return policy.retry_allowed(
            failure,
            self.plan.retry,
            model_retries=self._budget_model,
            total_retries=self._budget_total,
            fallback_pending=self.factory_index < self.plan.fallback_count,
        )

    def _fire_fail(self, now: float) -> Decision:
        failure = self._failure
        assert failure is not None
        if not self._leaves_route() and self._retry_budget_allows() and not self._vetoed:
            try:
                self._delay = policy.retry_delay(
                    failure,
                    self.plan.retry,
                    attempt=self._budget_total,
                    total_attempts=self.attempt + 1,
                    rng=self.rng,
                )
            except Error as problem:
                self._vetoed = True  # a broken calculate_delay ends retrying...
                self.errors.append(problem)
                self._failure = policy.classify(problem)  # ...and is the error reported
        self._fire("fail", now)
        return self._take_decision()

    def _leaves_route(self) -> bool:
        failure = self._failure
        return (
            failure is not None
            and failure.fallback_ok
            and self.factory_index < self.plan.fallback_count
            and policy.leave_route(
                failure, self.plan.retry.failover, same_failures=self._same_failures
            )
        )

    # conditions of the `fail` edges (transitions passes the EventData)

    def leave_route(self, event_data: EventData) -> bool:
        return self._leaves_route()

    def retry_allowed(self, event_data: EventData) -> bool:
        return not self._vetoed and self._retry_budget_allows()

    def fallback_available(self, event_data: EventData) -> bool:
        failure = self._failure
        return (
            failure is not None
            and failure.fallback_ok
            and self.factory_index < self.plan.fallback_count
        )

    # -- handlers (named by the edges in machine/declarations/runtime.toml) ----------------

    def open_attempt(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self.attempt += 1
        self._fast = False
        self.attention = self.abort_requested  # an abort asked before this attempt still holds
        self._matcher = None
        self._stream_done = False
        self._countdown = self._cadence or -1
        self._beat = 0
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
            self.bus.emit(
                Obs.STREAM_INIT,
                ts=self._ts(now),
                attempt=self.attempt,
                fallback_index=self.factory_index,
                continuation=bool(resume),
            )
        self.decision = Open(self.factory_index, self.attempt, resume or None)

    def open_hedge(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self.attempt += 1
        self._hedges += 1
        index = self.factory_index + 1
        resume = self._resume_text or None
        if self.bus.active:
            self.bus.emit(
                Obs.STREAM_INIT,
                ts=self._ts(now),
                attempt=self.attempt,
                fallback_index=index,
                continuation=bool(resume),
                hedge=True,
            )
        self._hedge = Open(index, self.attempt, resume)

    def settle_hedge(self, event_data: EventData) -> None:
        index = event_data.kwargs["index"]
        self._hedge = None
        if index == self.factory_index:
            return
        previous = self.factory_index
        self.factory_index = index
        self.state.fallback_index = index
        self._budget_model = self._budget_total = 0
        self._same_kind, self._same_failures = None, 0
        self._hedge_wins += 1
        self.bus.emit(
            Obs.FALLBACK_START,
            ts=self._ts(event_data.kwargs["now"]),
            index=index,
            previous_index=previous,
            reason="hedge",
            error="",
        )

    def mark_first_token(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        state = self.state
        if state.first_token_at is None:
            state.first_token_at = self.epoch(now)
        self._output_at, state._longest_gap = self.epoch(now), 0.0  # gaps of this attempt
        self._note_recovery(now)
        self._fast = True

    def _note_recovery(self, now: float) -> None:
        """The first output of an attempt after network trouble: the network recovered."""
        if self._network_trouble:
            self._network_trouble = False
            self.bus.emit(Obs.NETWORK_RECOVERY, ts=self._ts(now), attempt=self.attempt)

    def begin_overlap_matching(self, event_data: EventData) -> None:
        continuation = self.plan.continuation
        assert continuation is not None and self._resume_text is not None
        self._matcher = OverlapMatcher(self._resume_text, continuation.deduplication_options)
        now = event_data.kwargs["now"]
        if self.state.first_token_at is None:
            self.state.first_token_at = self.epoch(now)
        self._output_at, self.state._longest_gap = self.epoch(now), 0.0
        self._note_recovery(now)

    def deduplicate(self, event_data: EventData) -> None:
        verdict: OverlapResult = event_data.kwargs["verdict"]
        if verdict.has_overlap:
            self.state.deduplication_applied = True
            self.state.overlap_removed = verdict.overlap_text
        self._matcher = None
        self._fast = True

    def run_final_checks(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self._fast = False
        engine = self.engine
        if engine is None:
            self._final_violations = []
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
        self.outbox.append(Event(_COMPLETE, None, details, None, state.usage, self.epoch(now)))
        if self.bus.active:
            self._emit_completion(now)
        self._record_metrics(completed=True)
        self.decision = Finish()

    def _emit_completion(self, now: float) -> None:
        state = self.state
        ts = self._ts(now)
        if self._retried_since_success:
            self.bus.emit(Obs.RETRY_END, ts=ts, success=True, attempt=self.attempt)
        if self.factory_index > 0:
            self.bus.emit(Obs.FALLBACK_END, ts=ts, index=self.factory_index, success=True)
        self.bus.emit(Obs.SESSION_END, ts=ts, completed=True)
        self.bus.emit(
            Obs.COMPLETE,
            ts=ts,
            duration=state.duration,
            token_count=state.token_count,
            content_length=state.content_length,
            attempts=self.attempt + 1,
            fallback_index=self.factory_index,
            model=state.model,
            finish_reason=state.finish_reason,
            usage=state.usage,
        )

    def schedule_backoff(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        failure = self._failure
        assert failure is not None
        state = self.state
        if failure.restart:
            pass  # neither a model nor a network retry (see l0.runtime.policy)
        elif failure.counts_toward_attempts:
            state.model_retry_count += 1
            self._budget_model += 1
        else:
            state.network_retry_count += 1
        self._budget_total += 1
        ts = self._ts(now)
        if not self._retried_since_success:
            self._retried_since_success = True
            self.bus.emit(Obs.RETRY_START, ts=ts, reason=failure.reason)
        policy_record = RecoveryPolicy(
            strategy=Strategy.RETRY,
            failure_type=failure.failure_type,
            category=failure.category,
            counts_toward_attempts=failure.counts_toward_attempts,
            reason=failure.reason,
            delay=self._delay,
        )
        self.bus.emit(
            Obs.RETRY_ATTEMPT,
            ts=ts,
            attempt=self._budget_total,
            reason=failure.reason,
            category=failure.category.value,
            delay=self._delay,
            counts_toward_attempts=failure.counts_toward_attempts,
            fallback_index=self.factory_index,
            policy=policy_record,
        )
        self.decision = Sleep(self._delay)

    def switch_fallback(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        failure = self._failure
        assert failure is not None
        ts = self._ts(now)
        if self._retried_since_success:
            self.bus.emit(
                Obs.RETRY_GIVE_UP, ts=ts, reason=failure.reason, retries=self._budget_total
            )
            self._retried_since_success = False
        previous = self.factory_index
        self.factory_index += 1
        self.state.fallback_index = self.factory_index
        self._budget_model = 0
        self._budget_total = 0
        self._same_kind, self._same_failures = None, 0
        self.bus.emit(
            Obs.FALLBACK_START,
            ts=ts,
            index=self.factory_index,
            previous_index=previous,
            reason=failure.reason,
            error=str(failure.error) or type(failure.error).__name__,
        )
        self.decision = Sleep(0.0)

    def give_up(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        failure = self._failure
        assert failure is not None
        error = self._final_error(failure)
        ts = self._ts(now)
        if self._retried_since_success:
            self.bus.emit(
                Obs.RETRY_GIVE_UP, ts=ts, reason=failure.reason, retries=self._budget_total
            )
        if self.factory_index > 0:
            self.bus.emit(Obs.FALLBACK_END, ts=ts, index=self.factory_index, success=False)
        self.state.duration = now - self._started
        self.outbox.append(Event(EventType.ERROR, error=error, timestamp=self.epoch(now)))
        self._finish_failed(error, now)

    def record_abort(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        self.state.aborted = True
        self.state.duration = now - self._started
        error = Error(
            "The stream was aborted by its consumer (abort() was called)",
            code=ErrorCode.STREAM_ABORTED,
            context=self._error_context(),
        )
        self.errors.append(error)
        self._finish_failed(error, now)

    def verify_checkpoint(self, event_data: EventData) -> None:
        """Choose the text the next attempt resumes after: everything the consumer has seen
        if the streaming checks pass over it, else the last checkpoint; nothing after a
        violation found at the very end."""
        now = event_data.kwargs["now"]
        state = self.state
        failure = self._failure
        keep = state.content_length
        if failure is not None and failure.restart:
            keep = 0  # the target cannot resume: it starts over and the consumer is told
        elif failure is not None and failure.failure_type in (
            FailureType.GUARDRAIL,
            FailureType.DRIFT,
            FailureType.ZERO_OUTPUT,
        ):
            # A streaming violation: resume after the last checkpoint, and before the text the
            # rules objected to. A violation found only at the end condemns the whole attempt.
            keep = 0
            if self._failed_while_streaming:
                keep = _before_violations(state.checkpoint_length, failure.error)
        elif self.engine is not None and self._validates_checkpoints:
            # What was delivered since the rules last ran has not been checked yet.
            found = self.engine.check_streaming(state, self._ts(now))
            error = self._apply_violations(found, now)
            if error is not None:
                keep = _before_violations(state.checkpoint_length, error)
        self._rewind(keep, now)
        self._resume_text = state.content if keep else None
        if keep:
            state._set_checkpoint_length(keep)

    # -- endings ---------------------------------------------------------------------------

    @property
    def _validates_checkpoints(self) -> bool:
        continuation = self.plan.continuation
        return (
            self.engine is not None
            and continuation is not None
            and continuation.validate_checkpoint
        )

    @property
    def _failed_while_streaming(self) -> bool:
        return self._failure_phase in _STREAMING_ATTEMPT_PHASES

    def _after_final(self, violations: list[GuardrailViolation], now: float) -> Decision:
        error = self._apply_violations(violations, now)
        if error is not None:
            return self.failed(error, now)
        self._fire("finalized", now)
        return self._take_decision()

    def _take_decision(self) -> Decision:
        decision = self.decision
        assert decision is not None
        return decision

    def _rewind(
        self, keep: int, now: float, *, reason: str | None = None, attempt: int | None = None
    ) -> None:
        """Drop delivered text beyond `keep` characters, telling the consumer (RESET)."""
        discarded = self.state.content_length - keep
        if discarded <= 0:
            return
        self.state.truncate(keep)
        if reason is None:
            reason = self._failure.reason if self._failure else "retry"
        self.outbox.append(
            Event(
                EventType.RESET,
                data={
                    "reason": reason,
                    "attempt": self.attempt + 1 if attempt is None else attempt,
                    "fallback_index": self.factory_index,
                    "discarded": discarded,
                    "kept": keep,
                },
                timestamp=self.epoch(now),
            )
        )

    def _final_error(self, failure: policy.Failure) -> BaseException:
        """The error the user sees: ours as it is, a provider's wrapped (cause kept)."""
        error = failure.error
        context = self._error_context()
        if isinstance(error, Error):
            error.context = context
            return error
        retries = self.state.model_retry_count + self.state.network_retry_count
        summary = (
            f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        ) + f" (after {retries} retries and {self.factory_index} fallbacks)"
        wrapped: Error
        if failure.network_type is not None:
            wrapped = NetworkError(summary, network_type=failure.network_type, context=context)
        else:
            wrapped = Error(
                summary,
                code=ErrorCode.PROVIDER_ERROR,
                context=context,
                category=failure.category,
                status_code=status_code_of(error),
            )
        wrapped.__cause__ = error
        return wrapped

    def _error_context(self) -> ErrorContext:
        state = self.state
        return ErrorContext(
            token_count=state.token_count,
            content_length=state.content_length,
            checkpoint=state.checkpoint,
            model_retry_count=state.model_retry_count,
            network_retry_count=state.network_retry_count,
            fallback_index=state.fallback_index,
            stream_id=self.bus.stream_id,
        )

    def _finish_failed(self, error: BaseException, now: float) -> None:
        ts = self._ts(now)
        self.bus.emit(Obs.SESSION_END, ts=ts, completed=False)
        self.bus.emit(
            Obs.ERROR,
            ts=ts,
            error=str(error) or type(error).__name__,
            error_type=type(error).__name__,
            category=(error.category.value if isinstance(error, Error) else None),
            attempt=self.attempt,
            fallback_index=self.factory_index,
            final=True,
            exception=error,
        )
        self._record_metrics(completed=False)
        self.decision = Fail(error)

    def _record_metrics(self, *, completed: bool) -> None:
        # Spelled out rather than through run_metrics(): every run ends here.
        metrics = Metrics.get_global()
        state = self.state
        metrics.requests += 1
        metrics.tokens += state.token_count
        metrics.retries += state.model_retry_count + state.network_retry_count
        metrics.network_retry_count += state.network_retry_count
        metrics.errors += len(self.errors)
        metrics.violations += len(state.violations)
        metrics.drift_detections += 1 if state.drift_detected else 0
        metrics.fallbacks += self.factory_index
        metrics.completions += 1 if completed else 0
        metrics.timeouts += self._timeouts
        metrics.hedges += self._hedges
        metrics.hedge_wins += self._hedge_wins

    def run_metrics(self, *, completed: bool) -> MetricsSnapshot:
        """This run's contribution to the metrics counters."""
        state = self.state
        return MetricsSnapshot(
            requests=1,
            tokens=state.token_count,
            retries=state.model_retry_count + state.network_retry_count,
            network_retry_count=state.network_retry_count,
            errors=len(self.errors),
            violations=len(state.violations),
            drift_detections=1 if state.drift_detected else 0,
            fallbacks=self.factory_index,
            completions=1 if completed else 0,
            timeouts=self._timeouts,
            hedges=self._hedges,
            hedge_wins=self._hedge_wins,
        )


def _before_violations(keep: int, error: BaseException) -> int:
    """`keep`, cut back to where the first violation that `error` carries begins."""
    positions = [v.position for v in getattr(error, "violations", ()) if v.position is not None]
    return min(keep, *positions) if positions else keep


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
