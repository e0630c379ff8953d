"""The failure policy of the run core: what a failed attempt leads to.

A failure is classified (`policy.classify`: its category, whether it is retried, counts
toward `attempts`, may fall back) and judged once, when it arrives (`_judge`): whether the
run leaves the route at once (`Retry.failover`), whether the retry budget allows another
try, whether a next route exists. The judgement is kept in `_verdict`; the user's
`should_retry` may then veto the retry (`Consult`), and a retry's delay is computed. The
`fail` edges of the runtime machine (machine/declarations/runtime.toml) read the verdict
through their conditions, first match wins: `leave_route` -> fallback, `retry_allowed` ->
retrying, `fallback_available` -> fallback, else error. Their handlers below do the
bookkeeping and leave the decision (Sleep, or Fail).

To add a retry rule: what a failure is belongs in `policy.classify`; when the run moves on
belongs in `_judge`, read by the edges' conditions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from l0.errors import (
    Error,
    ErrorCode,
    FailureType,
    NetworkError,
    TimeoutError as L0TimeoutError,
    status_code_of,
)
from l0.runtime import policy
from l0.runtime.facts import Consult, Decision, Fail, Sleep
from l0.runtime.verdicts import Verdicts
from l0.types import Event, EventType

if TYPE_CHECKING:
    from transitions import EventData

_TIMEOUT_CODES = (
    ErrorCode.INITIAL_TOKEN_TIMEOUT,
    ErrorCode.INTER_TOKEN_TIMEOUT,
    ErrorCode.TOTAL_TIMEOUT,
)
_NETWORK_TROUBLE = (FailureType.NETWORK, FailureType.TIMEOUT)


@dataclass(frozen=True, slots=True)
class FailureVerdict:
    """What the policy allows for one failure, decided once when it arrives."""

    leave_route: bool  # move to the next route now (not a retry)
    retry_allowed: bool  # the retry budget allows another try (before any veto)
    fallback_available: bool  # a next route exists and the failure may fall back


_NO_VERDICT = FailureVerdict(leave_route=False, retry_allowed=False, fallback_available=False)


class FailurePolicy(Verdicts):
    """Failures, retries, fallbacks and the run's failed ending (module docstring)."""

    _verdict = _NO_VERDICT

    # -- facts ---------------------------------------------------------------------------------

    def _failed(self, error: BaseException, now: float) -> Decision:
        """The current attempt failed with `error`."""
        self.stop_reading = True
        self.token_handler = self._at_boundary
        if self.abort_requested:
            return self._aborted(now)
        self.errors.append(error)
        failure = policy.classify(error)
        self._failure = failure
        self._failure_phase = self.phase
        self._retry_vetoed = False
        if failure.failure_type is self._same_kind:
            self._same_failures += 1
        else:
            self._same_kind, self._same_failures = failure.failure_type, 1
        if isinstance(error, Error) and error.code in _TIMEOUT_CODES:
            self._timeouts += 1
        network = failure.failure_type in _NETWORK_TROUBLE
        if network:
            self._network_trouble = True
            self.state.network_errors.append(error)
        self._emit_attempt_failed(error, failure, now, network=network)
        verdict = self._verdict = self._judge(failure)
        # A restart (a refused continuation) and leaving a route are not retries: nobody is
        # asked about them.
        if (
            verdict.retry_allowed
            and not verdict.leave_route
            and not failure.restart
            and self.plan.retry.should_retry is not None
        ):
            self.decision = Consult(error, self._budget_total, failure.category)
            return self.decision
        return self._fire_fail(now)

    def _consulted(self, allowed: bool, now: float) -> Decision:
        """The user's `should_retry` answered (it can only veto)."""
        self._retry_vetoed = not allowed
        return self._fire_fail(now)

    def _timed_out(self, timeout_type: str, seconds: float, now: float) -> Decision:
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
        return self._failed(error, now)

    def _aborted(self, now: float) -> Decision:
        """The consumer called `abort()`."""
        self.abort_requested = True
        self.stop_reading = True
        if self.phase in ("complete", "error"):
            return self._take_decision()
        self._fire("abort", now)
        return self._take_decision()

    # -- the judgement, once per failure -------------------------------------------------------

    def _judge(self, failure: policy.Failure) -> FailureVerdict:
        fallback = failure.fallback_ok and self.factory_index < self.plan.fallback_count
        leave = fallback and policy.leave_route(
            failure, self.plan.retry.failover, same_failures=self._same_failures
        )
        retry = not leave and policy.retry_allowed(
            failure,
            self.plan.retry,
            model_retries=self._budget_model,
            total_retries=self._budget_total,
            fallback_pending=self.factory_index < self.plan.fallback_count,
        )
        return FailureVerdict(leave_route=leave, retry_allowed=retry, fallback_available=fallback)

    def _fire_fail(self, now: float) -> Decision:
        failure = self._failure
        assert failure is not None
        if self._verdict.retry_allowed and not self._retry_vetoed:
            try:
                self._delay = policy.retry_delay(
                    failure,
                    self.plan.retry,
                    attempt=self._budget_total,
                    total_attempts=self.attempt + 1,
                    rng=self.rng,
                )
            except Error as problem:
                # A broken calculate_delay ends retrying, and is the error reported.
                self._retry_vetoed = True
                self.errors.append(problem)
                self._failure = failure = policy.classify(problem)
                self._verdict = self._judge(failure)
        self._fire("fail", now)
        return self._take_decision()

    # conditions of the `fail` edges (transitions passes the EventData)

    def leave_route(self, event_data: EventData) -> bool:
        return self._verdict.leave_route

    def retry_allowed(self, event_data: EventData) -> bool:
        return self._verdict.retry_allowed and not self._retry_vetoed

    def fallback_available(self, event_data: EventData) -> bool:
        return self._verdict.fallback_available

    # -- handlers of the `fail` and `abort` edges ----------------------------------------------

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
        self._emit_retry(failure, now)
        self.decision = Sleep(self._delay)

    def switch_fallback(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        failure = self._failure
        assert failure is not None
        self._emit_retries_given_up(failure, now)
        self._retried_since_success = False
        previous = self.factory_index
        self._move_to_route(self.factory_index + 1)
        self._emit_fallback_start(
            now,
            previous=previous,
            reason=failure.reason,
            error=str(failure.error) or type(failure.error).__name__,
        )
        self.decision = Sleep(0.0)

    def _move_to_route(self, index: int) -> None:
        """Route `index` is the run's from now on, with a fresh retry budget."""
        self.factory_index = index
        self.state.fallback_index = index
        self._budget_model = self._budget_total = 0
        self._same_kind, self._same_failures = None, 0

    def give_up(self, event_data: EventData) -> None:
        now = event_data.kwargs["now"]
        failure = self._failure
        assert failure is not None
        error = self._final_error(failure)
        self._emit_given_up(failure, now)
        self.state.duration = now - self._started
        self._put(Event(EventType.ERROR, error=error, timestamp=self.epoch(now)))
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

    def _finish_failed(self, error: BaseException, now: float) -> None:
        self._emit_final_error(error, now)
        self._record_metrics(completed=False)
        self.decision = Fail(error)


__all__ = ["FailurePolicy", "FailureVerdict"]
