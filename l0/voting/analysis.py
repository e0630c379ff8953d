"""Consensus as pure functions of the collected outputs (no I/O, no event loop).

Grouping: successful outputs are taken in task order; each joins the first group whose first
member it agrees with (`Compare.deep_equal` under the preset's options), else starts a new
group. Groups are ranked by size, ties broken by task order, so the result is deterministic.
Failed tasks do not vote: ratios are over the successful outputs.

Structured outputs (every successful output a dict, Pydantic model or dataclass) are also
grouped field by field (top-level fields), for the analysis only: which fields agree and
which are disputed. The decision is always about whole outputs.

Strategies (the reference's rules): `unanimous` needs a single group; `majority` needs a
group with more than half of the votes and returns one of the answers in it (the first, in
task order), never a value no task produced; `best` takes the first successful output in
task order and never fails unless every task failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from l0.compare import DifferenceSeverity, ObjectComparisonOptions
from l0.compare.objects import deep_equal, key_path, plain
from l0.voting.types import (
    STANDARD_CONSENSUS,
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
)

T = TypeVar("T")
Vote = tuple[int, Any]  # (task index, value)


def group(votes: list[Vote], options: ObjectComparisonOptions) -> list[list[Vote]]:
    """Votes in groups of agreeing values, largest group first (see the module docstring)."""
    groups: list[list[Vote]] = []
    for index, value in votes:
        for members in groups:
            if deep_equal(members[0][1], value, options):
                members.append((index, value))
                break
        else:
            groups.append([(index, value)])
    groups.sort(key=lambda members: (-len(members), members[0][0]))
    return groups


def _values(groups: list[list[Vote]]) -> list[DisagreementValue]:
    return [DisagreementValue(g[0][1], len(g), [i for i, _ in g]) for g in groups]


def _majority(count: int, total: int) -> bool:
    return count * 2 > total


def _severity(has_majority: bool) -> DifferenceSeverity:
    return DifferenceSeverity.WARNING if has_majority else DifferenceSeverity.ERROR


def _structured(votes: list[Vote]) -> list[tuple[int, Mapping[Any, Any]]] | None:
    plains = [(index, plain(value)) for index, value in votes]
    if plains and all(isinstance(value, Mapping) for _, value in plains):
        return plains
    return None


def field_consensus(
    outputs: list[tuple[int, Mapping[Any, Any]]], options: ObjectComparisonOptions
) -> tuple[FieldConsensus, dict[Any, FieldConsensusInfo]]:
    """Per-field votes over structured outputs; also returns the infos by original key."""
    keys: dict[Any, None] = {}
    for _, mapping in outputs:
        keys.update(dict.fromkeys(mapping))
    total = len(outputs)
    by_key: dict[Any, FieldConsensusInfo] = {}
    for key in keys:
        path = key_path("", key)
        groups = group([(index, mapping.get(key)) for index, mapping in outputs], options)
        top = groups[0]
        by_key[key] = FieldConsensusInfo(
            path=path,
            agreement=FieldAgreement(
                path, top[0][1], len(top), len(top) / total, [i for i, _ in top]
            ),
            values=_values(groups),
            unanimous=len(groups) == 1,
            has_majority=_majority(len(top), total),
        )
    infos = list(by_key.values())
    summary = FieldConsensus(
        fields={info.path: info for info in infos},
        agreement=sum(i.agreement.ratio for i in infos) / len(infos) if infos else 1.0,
        unanimous_fields=[i.path for i in infos if i.unanimous],
        disputed_fields=[i.path for i in infos if not i.has_majority],
    )
    return summary, by_key


def analyze(
    outputs: list[ConsensusOutput[Any]], preset: ConsensusPreset = STANDARD_CONSENSUS
) -> ConsensusAnalysis:
    """How the successful outputs agree, as a whole and (when structured) field by field."""
    return _analyze(outputs, preset)[0]


def _analyze(
    outputs: list[ConsensusOutput[Any]], preset: ConsensusPreset
) -> tuple[ConsensusAnalysis, dict[Any, FieldConsensusInfo] | None]:
    options = preset.comparison_options()
    votes = [(o.index, o.value) for o in outputs if o.error is None]
    total = len(votes)
    groups = group(votes, options)
    agreements = [Agreement(g[0][1], len(g), len(g) / total, [i for i, _ in g]) for g in groups]
    has_majority = bool(groups) and _majority(len(groups[0]), total)
    disagreements = []
    if len(groups) > 1:
        disagreements.append(Disagreement("", _values(groups), _severity(has_majority)))
    fields, by_key = None, None
    structured = _structured(votes)
    if structured is not None:
        fields, by_key = field_consensus(structured, options)
        disagreements.extend(
            Disagreement(info.path, info.values, _severity(info.has_majority))
            for info in fields.fields.values()
            if not info.unanimous
        )
    analysis = ConsensusAnalysis(
        total=len(outputs),
        successful=total,
        failed=len(outputs) - total,
        agreements=agreements,
        disagreements=disagreements,
        agreement_ratio=agreements[0].ratio if agreements else 0.0,
        unanimous=len(groups) == 1,
        has_majority=has_majority,
        fields=fields,
    )
    return analysis, by_key


def _describe(agreements: list[Agreement]) -> str:
    def short(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."

    return ", ".join(f"{a.count} × {short(a.value)}" for a in agreements)


# A decision: (value, reached, confidence, message).
_Decision = tuple[Any, bool, float, str]


def _decide(
    outputs: list[ConsensusOutput[Any]],
    strategy: Strategy,
    analysis: ConsensusAnalysis,
) -> _Decision:
    n, groups = analysis.successful, analysis.agreements
    if n == 0:
        return None, False, 0.0, f"all {len(outputs)} tasks failed"
    top = groups[0]
    if strategy == "best":
        first = next(o for o in outputs if o.error is None)
        ratio = next(a.ratio for a in groups if first.index in a.indices)
        return first.value, True, ratio, f"best: the first successful output (task {first.index})"
    if strategy == "unanimous":
        if analysis.unanimous:
            return top.value, True, 1.0, f"unanimous: all {n} outputs agree"
        return (
            None,
            False,
            top.ratio,
            f"No unanimous consensus: {n} outputs gave {len(groups)} different answers "
            f"({_describe(groups)})",
        )
    if analysis.has_majority:
        return top.value, True, top.ratio, f"majority: {top.count} of {n} outputs agree"
    # A majority is one of the answers (the reference's "most common result"): fields that
    # agree do not make an answer no task gave.
    fields = analysis.fields
    disputed = f"; fields without a majority: {', '.join(fields.disputed_fields)}" if fields else ""
    return (
        None,
        False,
        top.ratio,
        f"No majority: the most common answer has {top.count} of {n} votes and more than "
        f"half is needed ({_describe(groups)}){disputed}",
    )


def resolve(
    outputs: list[ConsensusOutput[T]],
    strategy: Strategy,
    preset: ConsensusPreset = STANDARD_CONSENSUS,
) -> ConsensusResult[T]:
    """Apply `strategy` to the outputs (see the module docstring)."""
    analysis, _ = _analyze(outputs, preset)
    value, reached, confidence, message = _decide(outputs, strategy, analysis)
    return ConsensusResult(value, reached, confidence, strategy, outputs, analysis, message)


__all__ = ["analyze", "field_consensus", "group", "resolve"]
