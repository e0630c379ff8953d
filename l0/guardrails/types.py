"""Guardrail rules and the violations they report.

A rule is a name plus `check(state) -> list[GuardrailViolation]` (the violation type is
defined in `l0.types`, the shared vocabulary, and re-exported here). Rules that can work
incrementally also provide `session()`: a factory for a per-stream `RuleSession` whose `feed`
sees only the text added since its last call (O(delta)) and whose `finish` runs once at the
end. The per-stream state lives in the session, never in the rule, so one rule list can be
shared by any number of concurrent streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# The violation type is shared vocabulary (runs and errors carry it): defined in l0.types,
# re-exported here, where rules are written.
from l0.types import SEVERITIES, GuardrailViolation, Severity, State, Violation


class RuleSession(Protocol):
    """One rule's incremental state for one stream."""

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        """Check the text added since the last call."""
        ...

    def finish(self, state: State) -> list[GuardrailViolation]:
        """Check the complete output, once, when the stream ends."""
        ...

    # Optional: `flush(state) -> list[GuardrailViolation]`, for sessions that scan in batches,
    # asks them to look at everything fed so far (called before a checkpoint is trusted).


@dataclass(slots=True)
class GuardrailRule:
    name: str
    check: Callable[[State], list[GuardrailViolation]]
    description: str | None = None
    streaming: bool = True
    severity: Severity = "error"
    recoverable: bool = True
    # Incremental form of `check` (see the module docstring); None for plain rules.
    session: Callable[[], RuleSession] | None = None
    # Tokens between streaming checks of this rule; None: the run's `check_interval`.
    check_every: int | None = None

    def __post_init__(self) -> None:
        from l0.errors import Error, ErrorCode

        if not isinstance(self.name, str) or not self.name:
            raise Error(
                "GuardrailRule.name must be a non-empty string", code=ErrorCode.INVALID_ARGUMENT
            )
        if not callable(self.check):
            raise Error(
                f"GuardrailRule {self.name!r}: check must be callable, "
                f"got {type(self.check).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        from l0.callbacks import refuse_async

        refuse_async(
            self.check,
            f"GuardrailRule {self.name!r}: check",
            "For checks that must await (a moderation API), see l0's async checks "
            "(docs/async-checks.md).",
        )
        if self.check_every is not None and (
            isinstance(self.check_every, bool)
            or not isinstance(self.check_every, int)
            or self.check_every < 1
        ):
            raise Error(
                f"GuardrailRule {self.name!r}: check_every must be an int >= 1 or None, "
                f"got {self.check_every!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        if self.severity not in SEVERITIES:
            raise Error(
                f"GuardrailRule {self.name!r}: severity must be one of {SEVERITIES}, "
                f"got {self.severity!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


__all__ = [
    "SEVERITIES",
    "GuardrailRule",
    "GuardrailViolation",
    "RuleSession",
    "Severity",
    "Violation",
]
