"""Verdicts on the text: guardrail violations, checkpoints, and rewinds.

- `_apply_violations` turns what the guardrail rules found into the error that stops the
  attempt (fatal, drift, zero output, or a plain violation), or None.
- Checkpoints are saved on the hot path's interval (`_maybe_checkpoint`), after the
  streaming checks passed over the text, without a transition.
- `verify_checkpoint` (the handler of the edge into `checkpoint_verifying`) chooses the text
  the next attempt resumes after; `_rewind` takes back delivered text beyond it, telling the
  consumer with a RESET event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from l0.errors import Error, ErrorCode, FailureType
from l0.runtime.telemetry import LifecycleTelemetry
from l0.types import Event, EventType, GuardrailViolation

if TYPE_CHECKING:
    from transitions import EventData

_STREAMING_ATTEMPT_PHASES = frozenset(
    {"waiting_for_token", "streaming", "tool_call_detected", "continuation_matching"}
)
# A violation found while streaming resumes from the last checkpoint before it.
_VIOLATIONS = (FailureType.GUARDRAIL, FailureType.DRIFT, FailureType.ZERO_OUTPUT)


class Verdicts(LifecycleTelemetry):
    """Guardrail verdicts, checkpoints and rewinds (see the module docstring)."""

    # The hot path counts tokens down to the next interval (the common divisor of the
    # streaming checks' intervals and the checkpoint interval), then runs what is due.
    _interval = 0
    _tokens_to_interval = -1  # never reaches zero when nothing is due
    # Tokens of this attempt counted at intervals: the checks and checkpoints are due on it
    # (not on the run's token total, which a retried attempt starts part-way through).
    _tokens_at_interval = 0
    _checkpoint_every = 0

    def _init_intervals(self) -> None:
        continuation = self.plan.continuation
        self._checkpoint_every = continuation.checkpoint_interval if continuation else 0
        every = [*(self.engine.intervals if self.engine else ()), self._checkpoint_every]
        self._interval = math.gcd(*every)
        # (each attempt restarts the count: RunCore.open_attempt)

    # -- violations ------------------------------------------------------------------------------

    def _apply_violations(
        self, violations: Sequence[GuardrailViolation], now: float
    ) -> Error | None:
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

    # -- checkpoints -----------------------------------------------------------------------------

    def _maybe_checkpoint(self, now: float) -> None:
        every = self._checkpoint_every
        if not every or self._tokens_at_interval % every:
            return
        self.state._mark_checkpoint()
        if self.bus.active:
            self._emit_checkpoint(now)

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
        elif failure is not None and failure.failure_type in _VIOLATIONS:
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

    # -- rewinds ---------------------------------------------------------------------------------

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
        self._put(
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


def _before_violations(keep: int, error: BaseException) -> int:
    """`keep`, cut back to where the first violation that `error` carries begins."""
    positions = [v.position for v in getattr(error, "violations", ()) if v.position is not None]
    return min(keep, *positions) if positions else keep


__all__ = ["Verdicts"]
