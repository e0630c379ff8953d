"""What a consensus is made of: presets (what counts as the same answer), each task's
output, the groups of agreeing answers, per-field votes, and the final result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args

from l0.compare import DifferenceSeverity, ObjectComparisonOptions, StringComparisonOptions
from l0.compare.types import StringAlgorithm, check_threshold
from l0.concurrency.types import raise_first
from l0.errors import Error, ErrorCode

T = TypeVar("T")

Strategy = Literal["unanimous", "majority", "best"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)


@dataclass(frozen=True, slots=True)
class ConsensusPreset:
    """When two answers count as the same answer.

    Text is normalized first (case, whitespace, punctuation at the ends, as enabled), then
    two texts agree when their similarity (`algorithm`, Levenshtein by default) is at least
    `similarity_threshold`; 1.0 means identical once normalized. Numbers agree within
    `numeric_tolerance`. Structured outputs agree when every field does.
    """

    name: str
    similarity_threshold: float = 1.0
    case_sensitive: bool = False
    normalize_whitespace: bool = True
    trim_punctuation: bool = True
    numeric_tolerance: float = 0.0
    algorithm: StringAlgorithm = "levenshtein"

    def __post_init__(self) -> None:
        check_threshold(self.similarity_threshold, "ConsensusPreset.similarity_threshold")
        self.comparison_options()  # validates the tolerance and the algorithm now

    def comparison_options(self) -> ObjectComparisonOptions:
        """The `Compare` options that decide whether two answers agree."""
        return ObjectComparisonOptions(
            numeric_tolerance=self.numeric_tolerance,
            string_options=StringComparisonOptions(
                case_sensitive=self.case_sensitive,
                normalize_whitespace=self.normalize_whitespace,
                trim_punctuation=self.trim_punctuation,
                algorithm=self.algorithm,
            ),
            string_threshold=self.similarity_threshold,
        )


STRICT_CONSENSUS = ConsensusPreset(
    "strict",
    case_sensitive=True,
    normalize_whitespace=False,
    trim_punctuation=False,
)
"""Only identical answers agree."""

STANDARD_CONSENSUS = ConsensusPreset("standard", numeric_tolerance=1e-9)
"""Answers agree when identical after ignoring case, runs of whitespace and punctuation at
the ends (`"Paris."`, `" paris"` and `"**Paris**"` agree; `"42"` and `"43"` never do)."""

LENIENT_CONSENSUS = ConsensusPreset("lenient", similarity_threshold=0.85, numeric_tolerance=1e-3)
"""Also near-identical wording agrees (Levenshtein similarity >= 0.85 once normalized).
Long texts that differ in one small word, even a number, can then count as one answer."""


@dataclass(frozen=True, slots=True)
class ConsensusOutput(Generic[T]):
    """One task's outcome: its value, or the exception it raised. `duration` in ms."""

    index: int
    value: T | None
    error: Exception | None
    duration: float

    @property
    def status(self) -> Literal["success", "error"]:
        return "error" if self.error is not None else "success"


@dataclass(frozen=True, slots=True)
class Agreement:
    """A group of outputs that agree. `value` is the group's first output (in task order);
    `ratio` is `count` over the number of successful outputs."""

    value: Any
    count: int
    ratio: float
    indices: list[int]


@dataclass(frozen=True, slots=True)
class DisagreementValue:
    """One of the competing answers: its value and the tasks that gave it."""

    value: Any
    count: int
    indices: list[int]


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Outputs that differ at `path` (`""`: the whole output; else a field name).

    Severity: WARNING when one answer still has a majority, ERROR when none has.
    """

    path: str
    values: list[DisagreementValue]
    severity: DifferenceSeverity


@dataclass(frozen=True, slots=True)
class FieldAgreement:
    """The most common value of one field, as an `Agreement` is for a whole output."""

    path: str
    value: Any
    count: int
    ratio: float
    indices: list[int]


@dataclass(frozen=True, slots=True)
class FieldConsensusInfo:
    """Every value one field took, largest group first, and whether they agree."""

    path: str
    agreement: FieldAgreement
    values: list[DisagreementValue]
    unanimous: bool
    has_majority: bool


@dataclass(frozen=True, slots=True)
class FieldConsensus:
    """Field-by-field agreement of structured outputs (dicts, Pydantic models, dataclasses).

    `agreement` is the mean of the fields' agreement ratios. A field missing from an output
    counts as the value None there.
    """

    fields: dict[str, FieldConsensusInfo]
    agreement: float
    unanimous_fields: list[str]
    disputed_fields: list[str]  # fields where no value has a majority


@dataclass(frozen=True, slots=True)
class ConsensusAnalysis:
    """How the outputs agree. Ratios are over successful outputs; failed tasks do not vote."""

    total: int
    successful: int
    failed: int
    agreements: list[Agreement]  # every group of agreeing outputs, largest first
    disagreements: list[Disagreement]  # the whole output, then each contested field
    agreement_ratio: float  # the largest group's ratio (0.0 when nothing succeeded)
    unanimous: bool
    has_majority: bool
    fields: FieldConsensus | None  # only when every successful output is structured


@dataclass(frozen=True, slots=True)
class ConsensusResult(Generic[T]):
    """The outcome of a consensus: the agreed value when `reached`, and why otherwise.

    `confidence` is the winning (or, when none won, the largest) group's share of the votes.
    """

    consensus: T | None
    reached: bool
    confidence: float
    strategy: Strategy
    outputs: list[ConsensusOutput[T]]
    analysis: ConsensusAnalysis
    message: str

    def unwrap(self) -> T:
        """The agreed value; else ValueError, or the first task error when all tasks failed."""
        if self.reached:
            return self.consensus  # type: ignore[return-value]  # set whenever reached
        if self.analysis.successful == 0 and self.outputs:
            raise_first([(o.index, o.error) for o in self.outputs if o.error is not None])
        raise ValueError(self.message)


def check_strategy(strategy: object) -> Strategy:
    if strategy not in STRATEGIES:
        raise Error(
            f"consensus strategy must be one of {list(STRATEGIES)}, got {strategy!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return strategy


__all__ = [
    "LENIENT_CONSENSUS",
    "STANDARD_CONSENSUS",
    "STRATEGIES",
    "STRICT_CONSENSUS",
    "Agreement",
    "ConsensusAnalysis",
    "ConsensusOutput",
    "ConsensusPreset",
    "ConsensusResult",
    "Disagreement",
    "DisagreementValue",
    "FieldAgreement",
    "FieldConsensus",
    "FieldConsensusInfo",
    "Strategy",
    "check_strategy",
]
