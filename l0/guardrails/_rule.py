"""Building blocks shared by the built-in rules.

Every built-in rule is written once, as a per-stream session (`feed` each new piece, `finish`
at the end). `make_rule` derives the rule's full-content `check(state)` from the same session,
fed the whole content in one piece, so the two forms cannot disagree: `check` reports what the
session reports, plus what `finish` reports when the state says the output is complete
(`state.completed`) or the rule only ever judges complete output (non-streaming rules).
A session that batches its work for speed can take a different factory for `check`
(`check_session`), one that does the work at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from l0.errors import Error, ErrorCode
from l0.guardrails.types import SEVERITIES, GuardrailRule, GuardrailViolation, Severity

if TYPE_CHECKING:
    from l0.types import State


class Session(Protocol):
    def feed(self, delta: str, state: State) -> list[GuardrailViolation]: ...

    def finish(self, state: State) -> list[GuardrailViolation]: ...


def make_rule(
    name: str,
    session: Callable[[], Session],
    *,
    description: str,
    streaming: bool,
    severity: Severity,
    recoverable: bool,
    check_session: Callable[[], Session] | None = None,
) -> GuardrailRule:
    one_shot = check_session or session

    def check(state: State) -> list[GuardrailViolation]:
        one = one_shot()
        found = one.feed(state.content, state)
        if state.completed or not streaming:
            found.extend(one.finish(state))
        return found

    return GuardrailRule(
        name=name,
        check=check,
        description=description,
        streaming=streaming,
        severity=severity,
        recoverable=recoverable,
        session=session,
    )


def violation(
    rule: str,
    message: str,
    *,
    severity: Severity,
    recoverable: bool,
    position: int | None = None,
    context: dict[str, Any] | None = None,
    suggestion: str | None = None,
) -> GuardrailViolation:
    return GuardrailViolation(
        rule=rule,
        message=message,
        severity=severity,
        recoverable=recoverable,
        position=position,
        context=context,
        suggestion=suggestion,
    )


def check_severity(severity: object, owner: str) -> Severity:
    if severity not in SEVERITIES:
        raise Error(
            f"{owner}: severity must be one of {SEVERITIES}, got {severity!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return severity


def check_int(value: object, owner: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Error(
            f"{owner} must be an int >= {minimum}, got {value!r}", code=ErrorCode.INVALID_ARGUMENT
        )
    return value


def check_float(value: object, owner: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise Error(
            f"{owner} must be a number >= {minimum}, got {value!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return float(value)


__all__ = ["Session", "check_float", "check_int", "check_severity", "make_rule", "violation"]
