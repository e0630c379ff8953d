"""Consensus: run several generations of the same answer and keep the one they agree on.

`consensus(tasks, strategy)` returns the agreed value or raises ValueError (the reference's
rules); `Consensus.run` returns a `ConsensusResult` with every output and the analysis
instead of raising for a disagreement. The tasks run concurrently on `Parallel.run`; a failed
task does not vote, and when every task failed the first failure is raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from l0.concurrency import Parallel, ParallelOptions
from l0.concurrency.engine import check_tasks
from l0.concurrency.types import Task
from l0.errors import Error, ErrorCode
from l0.voting import analysis as _analysis
from l0.voting.types import (
    LENIENT_CONSENSUS,
    STANDARD_CONSENSUS,
    STRICT_CONSENSUS,
    Agreement,
    ConsensusAnalysis,
    ConsensusOutput,
    ConsensusPreset,
    ConsensusResult,
    Disagreement,
    DisagreementValue,
    FieldAgreement,
    FieldConsensus,
    FieldConsensusInfo,
    Strategy,
    check_strategy,
)

T = TypeVar("T")


class Consensus:
    """Consensus with full results, on tasks (`run`) or on values you already have
    (`evaluate`, `analyze`), plus the presets that decide when answers agree."""

    @staticmethod
    async def run(
        tasks: Iterable[Task[T]],
        strategy: Strategy = "majority",
        *,
        preset: ConsensusPreset | None = None,
        timeout: float | None = None,
    ) -> ConsensusResult[T]:
        """Run every task at once (each within `timeout` seconds) and apply `strategy`."""
        strategy = check_strategy(strategy)
        checked = check_tasks(tasks)
        if not checked:
            raise Error("consensus needs at least one task", code=ErrorCode.INVALID_ARGUMENT)
        options = ParallelOptions(concurrency=len(checked), timeout=timeout)
        ran = await Parallel.run(checked, options)
        outputs = [
            ConsensusOutput(index, value, error, duration or 0.0)
            for index, (value, error, duration) in enumerate(
                zip(ran.results, ran.errors, ran.telemetry.durations, strict=True)
            )
        ]
        return _analysis.resolve(outputs, strategy, preset or STANDARD_CONSENSUS)

    @staticmethod
    def evaluate(
        values: Sequence[T],
        strategy: Strategy = "majority",
        *,
        preset: ConsensusPreset | None = None,
    ) -> ConsensusResult[T]:
        """Apply `strategy` to values already collected (value i plays task i)."""
        strategy = check_strategy(strategy)
        return _analysis.resolve(_outputs(values), strategy, preset or STANDARD_CONSENSUS)

    @staticmethod
    def analyze(
        values: Sequence[Any], *, preset: ConsensusPreset | None = None
    ) -> ConsensusAnalysis:
        """How `values` agree: groups, disagreements and (for structured values) fields."""
        return _analysis.analyze(_outputs(values), preset or STANDARD_CONSENSUS)

    @staticmethod
    def strict() -> ConsensusPreset:
        """Only identical answers agree."""
        return STRICT_CONSENSUS

    @staticmethod
    def standard() -> ConsensusPreset:
        """Answers identical after ignoring case, whitespace runs and edge punctuation agree
        (the default)."""
        return STANDARD_CONSENSUS

    @staticmethod
    def lenient() -> ConsensusPreset:
        """Near-identical wording (Levenshtein similarity >= 0.85) also agrees."""
        return LENIENT_CONSENSUS


def _outputs(values: Sequence[T]) -> list[ConsensusOutput[T]]:
    """Values already collected, as the outputs of tasks 0..n-1."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise Error(
            "consensus needs a non-empty list of values to compare",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return [ConsensusOutput(i, value, None, 0.0) for i, value in enumerate(values)]


async def consensus(
    tasks: Iterable[Task[T]],
    strategy: Strategy = "majority",
    *,
    preset: ConsensusPreset | None = None,
    timeout: float | None = None,
) -> T:
    """Multi-generation consensus: run every task and return the answer they agree on.

    - "unanimous": all results must agree, else ValueError.
    - "majority": the most common result wins if it has more than half of the votes, else
      ValueError. The winner is one of the results (the first of the winning group).
    - "best": the first successful result (in task order); never raises unless all fail.

    What counts as "the same result" is the preset's call (`Consensus.standard()` by
    default: case, whitespace runs and punctuation at the ends are ignored).
    """
    result = await Consensus.run(tasks, strategy, preset=preset, timeout=timeout)
    return result.unwrap()


__all__ = [
    "Agreement",
    "Consensus",
    "ConsensusAnalysis",
    "ConsensusOutput",
    "ConsensusPreset",
    "ConsensusResult",
    "Disagreement",
    "DisagreementValue",
    "FieldAgreement",
    "FieldConsensus",
    "FieldConsensusInfo",
    "consensus",
]
