"""Rules about what the output says and how it flows: patterns, empty output, stalls, loops.

- `pattern_rule`: regexes that should not appear (by default the usual "AI slop": talking about
  being an AI, refusals, filler). Scanned incrementally with a bounded tail (`_scan`).
- `zero_output_rule`: nothing but whitespace (and no tool call) when the stream ends.
- `stall_rule`: no output for more than `max_gap` seconds, as the reference says. The runtime
  keeps the longest silence between two outputs (tokens or tool calls) of the current
  attempt, and the wait from the last output to the stream's end, in `state._longest_gap`
  (one subtraction per token, no clock read); the session reports it when it exceeds
  `max_gap` and every gap it reported before, at its streaming checks and at the end. Gaps
  are measured on the clock readings the runtime already takes (once per event-loop turn
  on asyncio), so chunks that arrive together are 0 s apart. A state built by hand has no
  such record: `check(state)` then falls back to the average gap between `first_token_at`
  and `last_token_at`. (Waiting for a token that never comes is the inter-token timeout's
  job: the stream then fails instead of ending.)
- `repetition_rule`: the model looping on the same passage (`_loops`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from l0.errors import Error, ErrorCode
from l0.guardrails._loops import Loop, LoopDetector
from l0.guardrails._rule import check_float, check_int, check_severity, make_rule, violation
from l0.guardrails._scan import BATCH, PatternSet, PhraseMatch, PhraseScanner
from l0.guardrails._user_patterns import compile_user_pattern
from l0.guardrails.types import GuardrailRule, GuardrailViolation, Severity

if TYPE_CHECKING:
    from l0.types import State

_APOSTROPHE = "['’]"
# "As an AI researcher" and "an AI-powered tool" are about AI, not the model talking about itself.
NOT_ABOUT_ITSELF = (
    r"\b(?!-)(?! (?:researcher|engineer|scientist|developer|expert|ethicist|student|startup"
    r"|company|enthusiast|practitioner|product|team|lab|tool|system|ethics|safety|policy)s?\b)"
)
# (kind, phrase): written in lower case and matched against lower-cased text; a space stands
# for one to three whitespace characters, so every match is at most DEFAULT_MAX_MATCH long.
_DEFAULT_PHRASES: tuple[tuple[str, str], ...] = (
    ("meta commentary", rf"\bas an ai{NOT_ABOUT_ITSELF}"),
    ("meta commentary", r"\bas a (?:large )?language model\b"),
    ("meta commentary", rf"\bi(?: a|{_APOSTROPHE})m (?:just |only )?an ai{NOT_ABOUT_ITSELF}"),
    ("meta commentary", r"\bmy (?:training data|knowledge cutoff)\b"),
    ("meta commentary", r"\bas of my (?:last|latest) (?:knowledge )?update\b"),
    ("refusal", rf"\bi can(?:not|{_APOSTROPHE}t) (?:help|assist) with (?:that|this)\b"),
    ("refusal", rf"\bi(?: a|{_APOSTROPHE})m (?:sorry|afraid),? but i can(?:not|{_APOSTROPHE}t)\b"),
    ("refusal", rf"\bi(?: a|{_APOSTROPHE})m (?:unable|not able) to (?:help|assist|comply)\b"),
    ("filler", r"\bi hope this helps\b"),
    ("filler", rf"\bit(?: i|{_APOSTROPHE})s (?:important|worth) (?:to note|noting) that\b"),
    ("filler", r"\blet me know if you have any (?:other |further |more )?questions\b"),
    ("filler", r"\bfeel free to (?:ask|reach out)\b"),
    ("filler", rf"\bin today{_APOSTROPHE}s (?:fast-paced|digital|ever-changing) world\b"),
    ("filler", r"\bdelve into\b"),
)
DEFAULT_PATTERNS: tuple[str, ...] = tuple(
    phrase.replace(" ", r"\s{1,3}") for _, phrase in _DEFAULT_PHRASES
)
DEFAULT_MAX_MATCH = 120
_PATTERN_KINDS = tuple(kind for kind, _ in _DEFAULT_PHRASES)


@functools.cache
def _default_pattern_set() -> PatternSet:
    """Compiled on first use: importing l0 stays fast."""
    return PatternSet.build(DEFAULT_PATTERNS, lowercase=True, max_match=DEFAULT_MAX_MATCH)


def _user_pattern_set(patterns: Sequence[str | re.Pattern[str]], max_match: int) -> PatternSet:
    if isinstance(patterns, (str, re.Pattern)) or not isinstance(patterns, Sequence):
        raise Error(
            "Guardrails.pattern(patterns) takes a list of regexes (str or re.Pattern), "
            f"got {type(patterns).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    for pattern in patterns:
        source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
        if not isinstance(source, str) or not source:
            raise Error(
                f"Guardrails.pattern: each pattern must be a non-empty str or re.Pattern, "
                f"got {pattern!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
    # A user's pattern runs on `regex` with a time limit (see _user_patterns.py).
    compiled = [compile_user_pattern(pattern, re.IGNORECASE) for pattern in patterns]
    return PatternSet.build(
        compiled, lowercase=False, max_match=max_match, compile=compile_user_pattern
    )


class _PatternSession:
    __slots__ = ("_labels", "_recoverable", "_scanner", "_severity")

    def __init__(
        self, pattern_set: PatternSet, labels: tuple[str, ...], severity: Severity,
        recoverable: bool, *, batch: int = BATCH,
    ) -> None:
        self._scanner = PhraseScanner(pattern_set, batch=batch)
        self._labels = labels
        self._severity = severity
        self._recoverable = recoverable

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        matches = self._scanner.feed(delta)
        return self._report(matches) if matches else []

    def flush(self, state: State) -> list[GuardrailViolation]:
        """Scan what is batched now (e.g. before a checkpoint is trusted)."""
        return self._report(self._scanner.flush())

    def finish(self, state: State) -> list[GuardrailViolation]:
        return self._report(self._scanner.finish())

    def _report(self, matches: list[PhraseMatch]) -> list[GuardrailViolation]:
        found: list[GuardrailViolation] = []
        for match in matches:
            label = self._labels[match.pattern]
            found.append(violation(
                "pattern",
                f"Matched {label}: {match.text!r}",
                severity=self._severity,
                recoverable=self._recoverable,
                position=match.position,
                context={"pattern": label, "match": match.text},
                suggestion="Rephrase the prompt or ask the model to answer directly.",
            ))
        return found


def pattern_rule(
    patterns: Sequence[str | re.Pattern[str]] | None = None,
    *,
    severity: Severity = "warning",
    recoverable: bool = True,
    max_match_length: int = 200,
) -> GuardrailRule:
    """Report the first occurrence of each pattern (default: `DEFAULT_PATTERNS`).

    String patterns are compiled case-insensitively; compiled patterns keep their flags.
    While streaming, a match is found even when it is split across tokens, provided it is at
    most `max_match_length` characters long and needs at most 16 characters of context on
    either side (``\\b`` and short lookarounds are fine).
    """
    severity = check_severity(severity, "Guardrails.pattern")
    if patterns is None:
        pattern_set = _default_pattern_set()
        labels = tuple(f"{kind} phrase" for kind in _PATTERN_KINDS)
    else:
        max_match = check_int(max_match_length, "Guardrails.pattern max_match_length",
                              minimum=1)
        pattern_set = _user_pattern_set(patterns, max_match)
        labels = tuple(f"pattern {p.pattern!r}" for p in pattern_set.patterns)
    return make_rule(
        "pattern",
        lambda: _PatternSession(pattern_set, labels, severity, recoverable),
        description="Detects unwanted patterns (default: AI slop)",
        streaming=True,
        severity=severity,
        recoverable=recoverable,
        check_session=lambda: _PatternSession(pattern_set, labels, severity, recoverable,
                                              batch=1),
    )


class _ZeroOutputSession:
    __slots__ = ()

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        return []

    def finish(self, state: State) -> list[GuardrailViolation]:
        if state.tool_calls:
            return []
        content = state.content
        if content and not content.isspace():
            return []
        what = "no output" if not content else "only whitespace"
        return [violation("zero_output", f"Empty output: the model produced {what}",
                          severity="error", recoverable=True, position=0,
                          suggestion="Retry; check the prompt and the model's limits.")]


def zero_output_rule() -> GuardrailRule:
    """Empty or whitespace-only output at the end (tool calls count as output)."""
    return make_rule("zero_output", _ZeroOutputSession, description="Empty output on complete",
                     streaming=False, severity="error", recoverable=True)


class _StallSession:
    __slots__ = ("_max_gap", "_offset", "_reported", "_whole_stream")

    def __init__(self, max_gap: float, *, whole_stream: bool = False) -> None:
        self._max_gap = max_gap
        self._whole_stream = whole_stream  # `check(state)`: may fall back to the average gap
        self._reported = max_gap  # a gap is reported when it is longer than this
        self._offset = 0

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        self._offset += len(delta)
        return self._report(state._longest_gap, state)

    def finish(self, state: State) -> list[GuardrailViolation]:
        return self._report(state._longest_gap, state)

    def _report(self, gap: float, state: State) -> list[GuardrailViolation]:
        how = "with no output"
        if not gap and self._whole_stream:
            gap, how = _average_gap(state), "on average between tokens"
        if gap <= self._reported:
            return []
        self._reported = gap
        return [violation(
            "stall",
            f"Token stall: {gap:.2f}s {how} (max_gap {self._max_gap}s)",
            severity="warning",
            recoverable=True,
            position=self._offset,
            context={"gap": gap, "max_gap": self._max_gap},
        )]


def _average_gap(state: State) -> float:
    """For a state the runtime did not keep: the mean gap from the first token to the last."""
    first, last = state.first_token_at, state.last_token_at
    if first is None or last is None or state.token_count < 2:
        return 0.0
    return (last - first) / (state.token_count - 1)


def stall_rule(max_gap: float = 5.0) -> GuardrailRule:
    """Tokens arriving more than `max_gap` seconds apart (see the module docstring)."""
    gap = check_float(max_gap, "Guardrails.stall max_gap", minimum=0)
    return make_rule("stall", lambda: _StallSession(gap), description="Detects token stalls",
                     streaming=True, severity="warning", recoverable=True,
                     check_session=lambda: _StallSession(gap, whole_stream=True))


class _RepetitionSession:
    __slots__ = ("_detector",)

    def __init__(self, window: int, threshold: int) -> None:
        self._detector = LoopDetector(window=window, threshold=threshold)

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        if self._detector.found is not None:
            return []  # reported already
        return self._report(self._detector.feed(delta))

    def finish(self, state: State) -> list[GuardrailViolation]:
        if self._detector.found is not None:
            return []
        return self._report(self._detector.finish())

    @staticmethod
    def _report(loop: Loop | None) -> list[GuardrailViolation]:
        if loop is None:
            return []
        return [violation(
            "repetition",
            f"Repeated content: the model is looping on {loop.unit!r} "
            f"({loop.copies} identical copies in a row)",
            severity="error",
            recoverable=True,
            position=loop.position,
            context={"unit": loop.unit, "copies": loop.copies},
            suggestion="Retry, perhaps with a higher temperature or a repetition penalty.",
        )]


def repetition_rule(window: int = 1000, threshold: int = 3) -> GuardrailRule:
    """The model looping: the last `threshold` copies of one passage (at least 20 characters
    and two different words, repeated within `window` characters) are identical."""
    size = check_int(window, "Guardrails.repetition window", minimum=40)
    copies = check_int(threshold, "Guardrails.repetition threshold", minimum=2)
    return make_rule("repetition", lambda: _RepetitionSession(size, copies),
                     description="Detects model looping", streaming=True, severity="error",
                     recoverable=True)


__all__ = [
    "DEFAULT_PATTERNS",
    "pattern_rule",
    "repetition_rule",
    "stall_rule",
    "zero_output_rule",
]
