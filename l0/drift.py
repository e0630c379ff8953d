"""Drift detection: noticing, while a stream flows, that the model has wandered off its task.

Four deterministic signals, each found at most once per stream, each with a position:

- ``meta_commentary``: the model talks about itself ("As an AI language model, ...", "my
  training data"), found by an incremental phrase scan (`l0.guardrails._scan`);
- ``repetition``: the text has become a loop, the same passage repeated `repetition_threshold`
  times in a row (`l0.guardrails._loops`);
- ``tone_shift``: an answer that started formal turns casual: one window has at least
  `tone_threshold` informal markers (slang like "lol"/"gonna", "!!", emoji, ":)") while the
  windows before it averaged at most one marker per two windows;
- ``entropy_spike``: one window's character entropy is at least `entropy_threshold` bits above
  the mean of the earlier windows and above 5.5 bits (in 200-character windows prose and
  code sit around 4.0-4.5, random printable garbage around 6.2). A window written mostly in
  CJK, kana, Hangul or emoji (naturally high entropy) or holding a data token (40+
  characters of base64/hex/key alphabet, entropy around 5.8) is never a spike (it still
  counts in the mean, which only makes later spikes harder to reach). A window with too few
  distinct characters to reach 5.5 bits is measured only when a later window could spike
  (`l0.guardrails._windows`): prose, which never gets there, costs a `set` per window.

Windows are consecutive, non-overlapping `window_size`-character slices of the text (plus,
at the end, the last `window_size` characters). A window is compared only with windows that
end before it starts, and needs at least one such window: the first window is the baseline.
Every test point is fixed by the text itself, never by how it was split into pieces, so a
`DriftSession` fed any split finds exactly what `DriftDetector.detect` finds on the whole.

A `DriftDetector` holds only configuration and can be shared; per-stream state lives in the
`DriftSession` it creates. `DriftDetector.as_rule()` is the guardrail form, named ``"drift"``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from l0.errors import Error, ErrorCode
from l0.guardrails._loops import LoopDetector
from l0.guardrails._rule import make_rule
from l0.guardrails._scan import BATCH, PatternSet, PhraseScanner
from l0.guardrails._windows import (
    ENTROPY_FLOOR,
    WindowBaseline,
    entropy,
    entropy_is_meaningful,
    informal_markers,
)
from l0.guardrails.content_rules import NOT_ABOUT_ITSELF
from l0.guardrails.types import GuardrailViolation

if TYPE_CHECKING:
    from l0.guardrails.types import GuardrailRule
    from l0.types import State

META_COMMENTARY = "meta_commentary"
REPETITION = "repetition"
TONE_SHIFT = "tone_shift"
ENTROPY_SPIKE = "entropy_spike"
DRIFT_TYPES = (META_COMMENTARY, REPETITION, TONE_SHIFT, ENTROPY_SPIKE)

_A = "['’]"
_META_PHRASES = (
    rf"\bas an ai{NOT_ABOUT_ITSELF}",
    r"\bas a (?:large )?language model\b",
    rf"\bi(?: a|{_A})m (?:just |only )?an (?:ai|artificial intelligence){NOT_ABOUT_ITSELF}",
    r"\bmy (?:training data|knowledge cutoff)\b",
    r"\bas of my (?:last|latest) (?:knowledge |training )?update\b",
    rf"\bi (?:don{_A}t|do not) have (?:personal (?:opinions|feelings|experiences)|feelings)\b",
    r"\bi (?:was|have been) trained (?:on|by) (?:openai|anthropic|google|large amounts)\b",
)
_META_MAX_MATCH = 120


@functools.cache
def _meta_patterns() -> PatternSet:
    """Compiled on first use: importing l0 stays fast. A space stands for 1-3 whitespace.

    One alternation, not one pattern per phrase: the scanner then reports the leftmost
    phrase of all, whatever the split (per-pattern scans could report a later, shorter
    phrase before an earlier one that is still waiting for context)."""
    phrases = (phrase.replace(" ", r"\s{1,3}") for phrase in _META_PHRASES)
    joined = "|".join(f"(?:{phrase})" for phrase in phrases)
    return PatternSet.build([joined], lowercase=True, max_match=_META_MAX_MATCH)


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """What to look for and how sensitive to be (see the module docstring)."""

    detect_meta_commentary: bool = True
    detect_repetition: bool = True
    detect_tone_shift: bool = True
    detect_entropy_spike: bool = True
    window_size: int = 200  # characters per window (tone, entropy)
    entropy_threshold: float = 1.5  # bits per character above the earlier windows' mean
    tone_threshold: int = 3  # informal markers in one window after a formal start
    repetition_threshold: int = 3  # identical copies in a row that make a loop
    repetition_window: int = 1000  # characters a loop (all its copies) must fit in

    def __post_init__(self) -> None:
        for name, minimum in (("window_size", 50), ("tone_threshold", 1),
                              ("repetition_threshold", 2), ("repetition_window", 40)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise Error(f"DriftConfig.{name} must be an int >= {minimum}, got {value!r}",
                            code=ErrorCode.INVALID_ARGUMENT)
        value = self.entropy_threshold
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise Error(f"DriftConfig.entropy_threshold must be a number > 0, got {value!r}",
                        code=ErrorCode.INVALID_ARGUMENT)


class DriftFinding(NamedTuple):
    """One drift signal: its type, how sure, where it starts, and what was seen."""

    type: str
    confidence: float
    position: int
    details: str


@dataclass(slots=True)
class DriftResult:
    detected: bool = False
    types: list[str] = field(default_factory=list)
    confidence: float = 0.0  # the highest confidence among the findings
    details: str = ""
    findings: list[DriftFinding] = field(default_factory=list)

    @classmethod
    def of(cls, findings: list[DriftFinding]) -> DriftResult:
        findings = sorted(findings, key=lambda f: (f.position, DRIFT_TYPES.index(f.type)))
        return cls(
            detected=bool(findings),
            types=[f.type for f in findings],
            confidence=max((f.confidence for f in findings), default=0.0),
            details="; ".join(f.details for f in findings),
            findings=list(findings),
        )


class DriftSession:
    """One stream's drift state: `feed` pieces in order, `finish` once at the end.
    (`lazy_entropy=False` measures every window at once: the reference the lazy
    measurement is tested against.)"""

    __slots__ = ("_baseline", "_config", "_finished", "_last_window", "_length", "_loops",
                 "_meta", "_pending", "_pending_size", "_windowed", "findings")

    def __init__(
        self, config: DriftConfig, *, scan_batch: int = BATCH, lazy_entropy: bool = True
    ) -> None:
        self._config = config
        self._meta = (
            PhraseScanner(_meta_patterns(), batch=scan_batch)
            if config.detect_meta_commentary else None
        )
        self._loops = (
            LoopDetector(window=config.repetition_window, threshold=config.repetition_threshold)
            if config.detect_repetition else None
        )
        self._pending: list[str] = []  # text of the window being filled
        self._pending_size = 0
        self._last_window = ""  # the last full window, for the final one
        self._baseline = WindowBaseline(lazy=lazy_entropy)
        self._windowed = config.detect_tone_shift or config.detect_entropy_spike
        self._length = 0
        self._finished = False
        self.findings: list[DriftFinding] = []

    @property
    def result(self) -> DriftResult:
        return DriftResult.of(self.findings)

    def feed(self, text: str) -> list[DriftFinding]:
        """Analyze the next piece; the findings it revealed (usually none)."""
        if not text or self._finished:
            return []
        new: list[DriftFinding] = []
        if self._meta is not None:
            for match in self._meta.feed(text):
                new.append(self._meta_finding(match.text, match.position))
        if self._loops is not None:
            loop = self._loops.feed(text)
            if loop is not None:
                new.append(self._loop_finding(loop.unit, loop.copies, loop.position))
        if self._windowed:
            if self._pending_size + len(text) < self._config.window_size:
                self._pending.append(text)  # the common case: the window is not full yet
                self._pending_size += len(text)
            else:
                self._fill_windows(text, new)
        self._length += len(text)
        return self._record(new) if new else new

    def flush(self) -> list[DriftFinding]:
        """Scan batched text for meta commentary now (e.g. before a checkpoint is trusted)."""
        if self._meta is None or self._finished:
            return []
        new = [self._meta_finding(m.text, m.position) for m in self._meta.flush()]
        return self._record(new) if new else new

    def finish(self) -> list[DriftFinding]:
        """The text is complete: judge what needed the end to be known."""
        if self._finished:
            return []
        self._finished = True
        new: list[DriftFinding] = []
        if self._meta is not None:
            for match in self._meta.finish():
                new.append(self._meta_finding(match.text, match.position))
        if self._loops is not None and self._loops.found is None:
            loop = self._loops.finish()
            if loop is not None:
                new.append(self._loop_finding(loop.unit, loop.copies, loop.position))
        size = self._config.window_size
        if self._windowed and self._pending_size and self._length >= size:
            last = (self._last_window + "".join(self._pending))[-size:]
            self._judge(last, self._length - size, new, final=True)
        return self._record(new)

    # -- windows ------------------------------------------------------------------------------

    def _fill_windows(self, text: str, new: list[DriftFinding]) -> None:
        size = self._config.window_size
        start = self._length
        index = 0
        while index < len(text):
            take = min(size - self._pending_size, len(text) - index)
            self._pending.append(text[index : index + take])
            self._pending_size += take
            index += take
            if self._pending_size == size:
                window = "".join(self._pending)
                self._last_window = window
                self._pending.clear()
                self._pending_size = 0
                self._judge(window, start + index - size, new, final=False)

    def _judge(self, window: str, start: int, new: list[DriftFinding], *, final: bool) -> None:
        config = self._config
        baseline = self._baseline
        mean_markers = baseline.mean_markers(skip_last=final)
        markers = informal_markers(window.lower()) if config.detect_tone_shift else 0
        if (
            mean_markers is not None
            and mean_markers <= 0.5
            and markers >= config.tone_threshold
        ):
            new.append(DriftFinding(
                TONE_SHIFT, min(1.0, 0.5 + 0.1 * (markers - config.tone_threshold + 1)), start,
                f"tone shift: {markers} informal markers in the window at {start} after a "
                f"formal start ({mean_markers:.1f} per window before)",
            ))
        if not config.detect_entropy_spike:
            if not final:
                baseline.add(markers, None)
            return
        if not baseline.may_spike(window):  # too few distinct characters to reach the floor
            if not final:
                baseline.add_unmeasured(markers, window)
            return
        _, mean_entropy = baseline.before(skip_last=final)
        bits = entropy(window)
        if mean_entropy is not None:
            rise = bits - mean_entropy
            if (
                rise >= config.entropy_threshold
                and bits >= ENTROPY_FLOOR
                and entropy_is_meaningful(window)
            ):
                new.append(DriftFinding(
                    ENTROPY_SPIKE, min(1.0, 0.5 + 0.25 * (rise - config.entropy_threshold)),
                    start, f"entropy spike: {bits:.2f} bits/char in the window at {start}, "
                    f"{rise:.2f} above the earlier mean {mean_entropy:.2f}",
                ))
        if not final:
            baseline.add(markers, bits)

    # -- findings -----------------------------------------------------------------------------

    @staticmethod
    def _meta_finding(text: str, position: int) -> DriftFinding:
        return DriftFinding(META_COMMENTARY, 0.9, position,
                            f"meta commentary: {text!r} at {position}")

    @staticmethod
    def _loop_finding(unit: str, copies: int, position: int) -> DriftFinding:
        return DriftFinding(REPETITION, 0.85, position,
                            f"repetition: {unit!r} repeated {copies} times in a row at {position}")

    def _has(self, kind: str) -> bool:
        return any(f.type == kind for f in self.findings)

    def _record(self, new: list[DriftFinding]) -> list[DriftFinding]:
        """Keep the first finding of each type and stop looking for types already found."""
        fresh: list[DriftFinding] = []
        for finding in new:
            if not self._has(finding.type) and all(f.type != finding.type for f in fresh):
                fresh.append(finding)
        self.findings.extend(fresh)
        if self._has(META_COMMENTARY):
            self._meta = None
        if self._has(REPETITION):
            self._loops = None
        config = self._config
        if (self._has(TONE_SHIFT) or not config.detect_tone_shift) and (
            self._has(ENTROPY_SPIKE) or not config.detect_entropy_spike
        ):
            self._windowed = False
        return fresh


class DriftDetector:
    """Drift detection with one configuration; shareable (see the module docstring)."""

    __slots__ = ("config",)

    def __init__(self, config: DriftConfig | None = None) -> None:
        if config is not None and not isinstance(config, DriftConfig):
            raise Error(f"DriftDetector takes a DriftConfig, got {type(config).__name__}",
                        code=ErrorCode.INVALID_ARGUMENT)
        self.config = config or DriftConfig()

    def session(self) -> DriftSession:
        """Fresh per-stream state for incremental detection."""
        return DriftSession(self.config)

    def detect(self, text: str) -> DriftResult:
        """Drift in a complete text."""
        session = self.session()
        session.feed(text)
        session.finish()
        return session.result

    def as_rule(self) -> GuardrailRule:
        """This detector as the guardrail rule ``"drift"`` (error, recoverable): one
        violation per drift type, with the finding in ``violation.context``."""
        return make_rule(
            "drift",
            lambda: _DriftRuleSession(self.config),
            description="Detects drift: meta commentary, tone shift, loops, entropy spikes",
            streaming=True,
            severity="error",
            recoverable=True,
            check_session=lambda: _DriftRuleSession(self.config, scan_batch=1),
        )

    def __repr__(self) -> str:
        return f"DriftDetector({self.config!r})"


class _DriftRuleSession:
    """The rule's per-stream session: one violation per new finding."""

    __slots__ = ("_session",)

    def __init__(self, config: DriftConfig, *, scan_batch: int = BATCH) -> None:
        self._session = DriftSession(config, scan_batch=scan_batch)

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        findings = self._session.feed(delta)
        return self._violations(findings) if findings else []

    def flush(self, state: State) -> list[GuardrailViolation]:
        return self._violations(self._session.flush())

    def finish(self, state: State) -> list[GuardrailViolation]:
        return self._violations(self._session.finish())

    @staticmethod
    def _violations(findings: list[DriftFinding]) -> list[GuardrailViolation]:
        if not findings:
            return []
        return [
            GuardrailViolation(
                rule="drift",
                message=f"Drift detected ({finding.type}): {finding.details}",
                severity="error",
                recoverable=True,
                position=finding.position,
                context={
                    "types": [finding.type],
                    "confidence": finding.confidence,
                    "details": finding.details,
                },
                suggestion="Retry; restate the task or lower the temperature.",
            )
            for finding in findings
        ]


class Drift:
    """Drift detection under one name."""

    @staticmethod
    def create(config: DriftConfig | None = None, **options: Any) -> DriftDetector:
        """A detector from a config, or from `DriftConfig` fields given as keywords."""
        if options:
            if config is not None:
                raise Error("Drift.create takes a DriftConfig or keyword options, not both",
                            code=ErrorCode.INVALID_ARGUMENT)
            try:
                config = DriftConfig(**options)
            except TypeError as exc:
                raise Error(f"Drift.create: {exc}", code=ErrorCode.INVALID_ARGUMENT) from exc
        return DriftDetector(config)

    @staticmethod
    def detect(text: str, config: DriftConfig | None = None) -> DriftResult:
        """Drift in a complete text."""
        return DriftDetector(config).detect(text)

    @staticmethod
    def rule(config: DriftConfig | None = None) -> GuardrailRule:
        """The ``"drift"`` guardrail rule."""
        return DriftDetector(config).as_rule()


__all__ = [
    "DRIFT_TYPES",
    "Drift",
    "DriftConfig",
    "DriftDetector",
    "DriftFinding",
    "DriftResult",
    "DriftSession",
]
