"""Runs a run's guardrail rules: incrementally while tokens flow, fully once at the end.

Rules are grouped by how often they are checked: every `check_interval` tokens by default
(15), every 25 for the rule named "drift" (its analysis wants more text at a time), or every
`rule.check_every` when the rule says. The runtime calls `check_streaming(state, ts, count)`
on a common beat and each group runs when `count` is a multiple of its interval. Incremental
rules (those with `session`) get only the text added since their group last ran, read from
the state without joining the whole content, so a check costs O(delta). Plain rules get
`check(state)` and cost what they cost; when such a rule would read more than
`thread_threshold` characters, `heavy()` says so and the driver runs the check in a worker
thread so the event loop stays responsive.

Sessions may scan in batches; an optional `flush(state)` makes them look at everything fed so
far, and a check of all groups (`count=None`, used before a checkpoint is trusted) calls it.
Each distinct violation is reported once per attempt, however many checks see it again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule, GuardrailViolation, RuleSession
from l0.observability import EventSink, ObservabilityEventType

if TYPE_CHECKING:
    from l0.types import State

DEFAULT_THREAD_THRESHOLD = 10_000  # characters
MESSAGE_LIMIT = 300  # characters of a violation's message: it ends up in errors and logs
DEFAULT_CHECK_INTERVAL = 15  # tokens between streaming checks
DRIFT_CHECK_INTERVAL = 25  # tokens between drift checks
DUE_TABLE_LIMIT = 4096  # largest common multiple of the intervals `due` looks up in a table

Found = list[tuple[GuardrailRule, list[GuardrailViolation]]]


def _run(rule: GuardrailRule, check: Callable[..., Any], *args: Any) -> list[GuardrailViolation]:
    """Call a rule; a rule that raises is a bug in the rule, reported as such, and one that
    returns anything but a list of violations is the caller's mistake (INVALID_ARGUMENT)."""
    try:
        found = check(*args)
    except Exception as exc:
        _reraise(rule, exc)
    if type(found) is not list or found:
        return _checked(rule, found)
    return found


def _reraise(rule: GuardrailRule, exc: Exception) -> NoReturn:
    """Raise what a rule that raised `exc` means (see `_run`)."""
    if isinstance(exc, Error) and exc.code is ErrorCode.INVALID_ARGUMENT:
        raise exc  # the caller's mistake, said by the rule (e.g. a pattern out of time)
    raise _raised(rule, exc) from exc


def _checked(rule: GuardrailRule, found: object) -> list[GuardrailViolation]:
    """What a rule returned, as a list of violations (INVALID_ARGUMENT if it is not one)."""
    if type(found) is not list:
        if not isinstance(found, (list, tuple)):
            raise _wrong_result(rule, found)
        found = list(found)
    for item in found:
        if not isinstance(item, GuardrailViolation):
            raise _wrong_result(rule, item, inside=True)
    return found


def _raised(rule: GuardrailRule, exc: Exception) -> Error:
    return Error(
        f"Guardrail rule {rule.name!r} raised {type(exc).__name__}: {exc}",
        code=ErrorCode.INTERNAL_ERROR,
    )


def _wrong_result(rule: GuardrailRule, value: object, *, inside: bool = False) -> Error:
    what = f"a list holding a {type(value).__name__}" if inside else type(value).__name__
    return Error(
        f"Guardrail rule {rule.name!r} returned {what}; a rule's check returns a list of "
        "l0.GuardrailViolation (an empty list when the text is fine)",
        code=ErrorCode.INVALID_ARGUMENT,
    )


def shorten(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """`message` cut to `limit` characters, saying how much was left out."""
    if len(message) <= limit:
        return message
    note = f"… ({len(message) - limit} more characters)"
    return message[: limit - len(note)] + note


@functools.lru_cache(maxsize=64)
def _due_table(intervals: tuple[int, ...]) -> tuple[bool, ...]:
    """Whether any of `intervals` divides c, for c modulo their common multiple (`due` runs
    every few tokens; built once per set of intervals, not per run); empty when that
    multiple is too large to tabulate."""
    period = math.lcm(*intervals) if intervals else 1
    if period > DUE_TABLE_LIMIT:
        return ()
    return tuple(any(c % every == 0 for every in intervals) for c in range(period))


class _Group:
    """The streaming rules checked every `every` tokens, and how far they have read."""

    __slots__ = ("every", "fed_parts", "feeds", "plain", "rules", "sessions")

    def __init__(self, every: int, rules: list[GuardrailRule]) -> None:
        self.every = every
        self.rules = rules
        self.plain = [r for r in rules if r.session is None]
        self.sessions: list[tuple[GuardrailRule, RuleSession]] = []
        # Each session's rule and bound `feed`, looked up once per attempt, not per check.
        self.feeds: list[tuple[GuardrailRule, Callable[..., Any]]] = []
        self.fed_parts = 0  # the state's pieces handed to this group's sessions

    def start(self) -> None:
        sessions = self.sessions = [(r, r.session()) for r in self.rules if r.session is not None]
        self.feeds = [(rule, session.feed) for rule, session in sessions]
        self.fed_parts = 0

    def take(self, state: State) -> str:
        """The text added since this group last looked."""
        # `State.parts_since` and `part_count`, inlined: this runs every few tokens.
        parts = state._parts
        delta = "".join(parts[self.fed_parts :])
        self.fed_parts = len(parts)
        return delta

    def evaluate(self, state: State, found: Found) -> None:
        delta = self.take(state)
        for rule, feed in self.feeds:  # `_run`, inlined: this runs every few tokens
            try:
                violations = feed(delta, state)
            except Exception as exc:
                _reraise(rule, exc)
            if type(violations) is not list or violations:
                violations = _checked(rule, violations)
            found.append((rule, violations))
        for rule in self.plain:
            found.append((rule, _run(rule, rule.check, state)))

    def evaluate_flushed(self, state: State, found: Found) -> None:
        """`evaluate`, then the sessions that batch look at everything fed so far."""
        delta = self.take(state)
        for rule, session in self.sessions:
            violations = _run(rule, session.feed, delta, state)
            flush_session = getattr(session, "flush", None)
            if flush_session is not None:
                violations.extend(_run(rule, flush_session, state))
            found.append((rule, violations))
        for rule in self.plain:
            found.append((rule, _run(rule, rule.check, state)))


class GuardrailEngine:
    """Per-run guardrail runner (see the module docstring)."""

    __slots__ = ("_bus", "_due", "_groups", "_plain_streaming", "_rules", "_seen",
                 "thread_threshold")

    def __init__(
        self,
        rules: Sequence[GuardrailRule],
        *,
        bus: EventSink,
        check_interval: int = DEFAULT_CHECK_INTERVAL,
        thread_threshold: int = DEFAULT_THREAD_THRESHOLD,
    ) -> None:
        self._rules = tuple(rules)
        by_interval: dict[int, list[GuardrailRule]] = {}
        for rule in self._rules:
            if rule.streaming:
                every = rule.check_every or (
                    DRIFT_CHECK_INTERVAL if rule.name == "drift" else check_interval
                )
                by_interval.setdefault(every, []).append(rule)
        self._groups = [_Group(every, group) for every, group in sorted(by_interval.items())]
        self._plain_streaming = any(group.plain for group in self._groups)
        self._due = _due_table(tuple(sorted(by_interval)))
        self._bus = bus
        self.thread_threshold = thread_threshold
        self._seen: set[tuple[str, str, int | None]] = set()

    @property
    def rules(self) -> tuple[GuardrailRule, ...]:
        return self._rules

    @property
    def intervals(self) -> tuple[int, ...]:
        """How often (in tokens) each group of streaming rules runs."""
        return tuple(group.every for group in self._groups)

    def start_attempt(self, state: State) -> None:
        """Fresh per-stream sessions; text that survives from earlier attempts is re-fed."""
        for group in self._groups:
            group.start()
        self._seen.clear()

    def heavy(self, state: State) -> bool:
        """Whether the next check should run off the event loop."""
        return self._plain_streaming and state.content_length > self.thread_threshold

    def due(self, count: int) -> bool:
        """Whether any group runs at token `count`."""
        due = self._due
        if due:
            return due[count % len(due)]
        # A plain loop: this runs every few tokens and any() over a generator costs more.
        for group in self._groups:  # noqa: SIM110
            if count % group.every == 0:
                return True
        return False

    def evaluate_streaming(self, state: State, count: int | None = None) -> Found:
        """Run the groups due at token `count` over their new text; with `count=None`, run
        every group and flush batched sessions (a checkpoint is about to be trusted)."""
        found: Found = []
        for group in self._groups:
            if count is None:
                group.evaluate_flushed(state, found)
            elif count % group.every == 0:
                group.evaluate(state, found)
        return found

    def evaluate_final(self, state: State) -> Found:
        """Run every rule over the complete output."""
        found: Found = []
        for group in self._groups:
            delta = group.take(state)
            for rule, session in group.sessions:
                violations = _run(rule, session.feed, delta, state) if delta else []
                violations.extend(_run(rule, session.finish, state))
                found.append((rule, violations))
        for rule in self._rules:
            if rule.streaming and rule.session is not None:
                continue  # finished through its session above
            found.append((rule, _run(rule, rule.check, state)))
        return found

    def check_streaming(
        self, state: State, ts: float, count: int | None = None
    ) -> list[GuardrailViolation]:
        """Check the text added since each due group last ran; returns new violations."""
        found = self.evaluate_streaming(state, count)
        if not self._bus.active:
            for _rule, violations in found:
                if violations:
                    break
            else:
                return []  # the usual case: nothing found, nobody listening
        return self.report("streaming", found, ts)

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
                    if (
                        isinstance(violation.message, str)
                        and len(violation.message) > MESSAGE_LIMIT
                    ):
                        violation.message = shorten(violation.message)
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


__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_THREAD_THRESHOLD",
    "DRIFT_CHECK_INTERVAL",
    "GuardrailEngine",
]
