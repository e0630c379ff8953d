"""Lifecycle telemetry of the run core: every observability event a run emits, and its
contribution to the metrics counters.

Each method emits the events of one boundary, with the timestamp of the fact being handled
(`now`, never a clock). Events go to the injected `EventSink` (the driver's EventBus); the
run's totals go once, when it ends, to the injected `MetricsSink` (the stream passes the
process's `Metrics`, a replay keeps them to itself). Nothing process-wide is touched here.

To add a lifecycle event type: add it to `ObservabilityEventType`, emit it from a method
here, called by the handler of the boundary where it happens.
"""

from __future__ import annotations

from l0.errors import Error, RecoveryPolicy, RecoveryStrategy as Strategy
from l0.metrics import MetricsSnapshot
from l0.observability import ObservabilityEventType as Obs
from l0.runtime import policy
from l0.runtime.core_base import RunBase


class LifecycleTelemetry(RunBase):
    """The lifecycle events and metrics of a run (see the module docstring)."""

    # The events every run emits: their callers check `bus.active` first (a call saved per
    # boundary of every run when nobody listens).

    def _emit_session_start(self, now: float) -> None:
        self.bus.emit(
            Obs.SESSION_START,
            ts=self._ts(now),
            fallbacks=self.plan.fallback_count,
            continuation=self.plan.continuation is not None,
        )

    def _emit_stream_ready(self, now: float) -> None:
        self.bus.emit(
            Obs.STREAM_READY,
            ts=self._ts(now),
            attempt=self.attempt,
            fallback_index=self.factory_index,
        )

    def _emit_stream_init(self, now: float, index: int, resume: str | None, hedge: bool) -> None:
        extra = {"hedge": True} if hedge else {}
        self.bus.emit(
            Obs.STREAM_INIT,
            ts=self._ts(now),
            attempt=self.attempt,
            fallback_index=index,
            continuation=bool(resume),
            **extra,
        )

    def _emit_attempt_failed(
        self, error: BaseException, failure: policy.Failure, now: float, *, network: bool
    ) -> None:
        """An attempt failed (not yet the run): NETWORK_ERROR for network trouble, ERROR."""
        ts = self._ts(now)
        if network:
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

    def _emit_hedge_dropped(
        self, index: int, error: BaseException, failure: policy.Failure, now: float
    ) -> None:
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

    def _note_recovery(self, now: float) -> None:
        """The first output of an attempt after network trouble: the network recovered."""
        if self._network_trouble:
            self._network_trouble = False
            self.bus.emit(Obs.NETWORK_RECOVERY, ts=self._ts(now), attempt=self.attempt)

    def _emit_retry(self, failure: policy.Failure, now: float) -> None:
        """A retry was scheduled (RETRY_START for the first since the last success)."""
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

    def _emit_retries_given_up(self, failure: policy.Failure, now: float) -> None:
        if self._retried_since_success:
            self.bus.emit(
                Obs.RETRY_GIVE_UP,
                ts=self._ts(now),
                reason=failure.reason,
                retries=self._budget_total,
            )

    def _emit_fallback_start(self, now: float, *, previous: int, reason: str, error: str) -> None:
        self.bus.emit(
            Obs.FALLBACK_START,
            ts=self._ts(now),
            index=self.factory_index,
            previous_index=previous,
            reason=reason,
            error=error,
        )

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

    def _emit_given_up(self, failure: policy.Failure, now: float) -> None:
        """The run gives up on `failure` (before its final ERROR)."""
        self._emit_retries_given_up(failure, now)
        if self.factory_index > 0:
            self.bus.emit(
                Obs.FALLBACK_END, ts=self._ts(now), index=self.factory_index, success=False
            )

    def _emit_final_error(self, error: BaseException, now: float) -> None:
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

    def _emit_left(self, outcome: str, error: BaseException | None, now: float) -> None:
        if self.bus.active:
            kind = type(error).__name__ if error is not None else None
            self.bus.emit(
                Obs.SESSION_END, ts=self._ts(now), completed=False, outcome=outcome, error_type=kind
            )

    def _emit_checkpoint(self, now: float) -> None:  # (the caller checks `bus.active`)
        state = self.state
        self.bus.emit(
            Obs.CHECKPOINT_SAVED,
            ts=self._ts(now),
            token_count=state.token_count,
            checkpoint_length=state.checkpoint_length,
        )

    # -- metrics -----------------------------------------------------------------------------

    def _record_metrics(self, *, completed: bool) -> None:
        """The run ended: its totals go to the metrics sink (once per run)."""
        sink = self.metrics_sink
        if sink is not None:
            state = self.state  # spelled out rather than through _counts(): every run ends here
            sink.add_counts(
                1,
                state.token_count,
                state.model_retry_count + state.network_retry_count,
                state.network_retry_count,
                len(self.errors),
                len(state.violations),
                1 if state.drift_detected else 0,
                self.factory_index,
                1 if completed else 0,
                self._timeouts,
                self._hedges,
                self._hedge_wins,
            )

    def run_metrics(self, *, completed: bool) -> MetricsSnapshot:
        """This run's contribution to the metrics counters."""
        return MetricsSnapshot(*self._counts(completed))

    def _counts(self, completed: bool) -> tuple[int, ...]:
        """The run's totals, in `MetricsSnapshot`'s field order."""
        state = self.state
        return (
            1,
            state.token_count,
            state.model_retry_count + state.network_retry_count,
            state.network_retry_count,
            len(self.errors),
            len(state.violations),
            1 if state.drift_detected else 0,
            self.factory_index,
            1 if completed else 0,
            self._timeouts,
            self._hedges,
            self._hedge_wins,
        )


__all__ = ["LifecycleTelemetry"]
