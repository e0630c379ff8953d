"""Runs a run's guardrail rules: incrementally while tokens flow, fully once at the end.

The runtime asks for a streaming check every `interval` tokens and a final check when the
stream ends. Incremental rules (those with `session`) get only the text added since the last
check, read from the state without joining the whole content, so a check costs O(delta).
Plain rules get `check(state)` and cost what they cost; when such a rule would read more than
`thread_threshold` characters, `heavy()` says so and the driver runs the check in a worker
thread so the event loop stays responsive.

Each distinct violation is reported once per attempt, however many checks see it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule, GuardrailViolation, RuleSession
from l0.observability import EventBus, ObservabilityEventType

if TYPE_CHECKING:
    from l0.types import State

DEFAULT_THREAD_THRESHOLD = 10_000  # characters

Found = list[tuple[GuardrailRule, list[GuardrailViolation]]]


def _run(rule: GuardrailRule, check: Callable[..., Any], *args: Any) -> list[GuardrailViolation]:
    """Call a rule; a rule that raises is a bug in the rule, reported as such."""
    try:
        return list(check(*args))
    except Exception as exc:
        raise Error(
            f"Guardrail rule {rule.name!r} raised {type(exc).__name__}: {exc}",
            code=ErrorCode.INTERNAL_ERROR,
        ) from exc


class GuardrailEngine:
    """Per-run guardrail runner (see the module docstring)."""

    __slots__ = (
        "_bus",
        "_fed",
        "_incremental",
        "_plain_streaming",
        "_rules",
        "_seen",
        "_sessions",
        "thread_threshold",
    )

    def __init__(
        self,
        rules: Sequence[GuardrailRule],
        *,
        bus: EventBus,
        thread_threshold: int = DEFAULT_THREAD_THRESHOLD,
    ) -> None:
        self._rules = tuple(rules)
        self._incremental = tuple(r for r in self._rules if r.session is not None)
        self._plain_streaming = tuple(r for r in self._rules if r.session is None and r.streaming)
        self._bus = bus
        self.thread_threshold = thread_threshold
        self._sessions: list[tuple[GuardrailRule, RuleSession]] = []
        self._fed = 0
        self._seen: set[tuple[str, str, int | None]] = set()

    @property
    def rules(self) -> tuple[GuardrailRule, ...]:
        return self._rules

    def start_attempt(self, state: State) -> None:
        """Fresh per-stream sessions; text that survives from earlier attempts is re-fed."""
        self._sessions = [(rule, rule.session()) for rule in self._incremental if rule.session]
        self._fed = 0
        self._seen.clear()

    def heavy(self, state: State) -> bool:
        """Whether the next check should run off the event loop."""
        return bool(self._plain_streaming) and state.content_length > self.thread_threshold

    def evaluate_streaming(self, state: State) -> Found:
        """Run the streaming rules over the text added since the last check."""
        delta = state.text_since(self._fed)
        self._fed += len(delta)
        found: Found = []
        for rule, session in self._sessions:
            if rule.streaming:
                found.append((rule, _run(rule, session.feed, delta, state)))
        for rule in self._plain_streaming:
            found.append((rule, _run(rule, rule.check, state)))
        return found

    def evaluate_final(self, state: State) -> Found:
        """Run every rule over the complete output."""
        delta = state.text_since(self._fed)
        self._fed += len(delta)
        found: Found = []
        for rule, session in self._sessions:
            violations = _run(rule, session.feed, delta, state) if delta else []
            violations.extend(_run(rule, session.finish, state))
            found.append((rule, violations))
        for rule in self._rules:
            if rule.session is None:
                found.append((rule, _run(rule, rule.check, state)))
        return found

    def check_streaming(self, state: State, ts: float) -> list[GuardrailViolation]:
        """Check the text added since the last check; returns new violations."""
        return self.report("streaming", self.evaluate_streaming(state), ts)

    def check_final(self, state: State, ts: float) -> list[GuardrailViolation]:
        """Check the complete output once; returns new violations."""
        return self.report("final", self.evaluate_final(state), ts)

    def report(self, phase: str, found: Found, ts: float) -> list[GuardrailViolation]:
        """Record what a check found (on the event loop's thread); returns new violations."""
        fresh: list[GuardrailViolation] = []
        for _rule, violations in found:
            for violation in violations:
                key = (violation.rule, violation.message, violation.position)
                if key not in self._seen:
                    self._seen.add(key)
                    if violation.timestamp is None:
                        violation.timestamp = ts / 1000.0
                    fresh.append(violation)
        bus = self._bus
        if bus.active:
            bus.emit(
                ObservabilityEventType.GUARDRAIL_PHASE_START, ts=ts, phase=phase, rules=len(found)
            )
            for rule, violations in found:
                if rule.name == "drift":
                    bus.emit(
                        ObservabilityEventType.DRIFT_CHECK_RESULT,
                        ts=ts,
                        phase=phase,
                        detected=bool(violations),
                        details=[v.context for v in violations],
                    )
                bus.emit(
                    ObservabilityEventType.GUARDRAIL_RULE_RESULT,
                    ts=ts,
                    phase=phase,
                    rule=rule.name,
                    passed=not violations,
                    violations=[v.message for v in violations],
                )
            bus.emit(
                ObservabilityEventType.GUARDRAIL_PHASE_END,
                ts=ts,
                phase=phase,
                violations=len(fresh),
            )
        return fresh


__all__ = ["DEFAULT_THREAD_THRESHOLD", "GuardrailEngine"]
