"""consensus() strategies and raising rules, the Consensus namespace, presets and fields."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable

import anyio
import pytest
from hypothesis import given, strategies as st
from pydantic import BaseModel

import l0.voting as lc
from l0.compare import DifferenceSeverity
from l0.errors import Error, ErrorCode
from l0.voting import Consensus, ConsensusPreset

pytestmark = pytest.mark.anyio


def answers(*values: object, delay: float = 0) -> list[Callable[[], Awaitable[object]]]:
    """One task per value; an exception instance is raised by its task."""

    def task(value: object) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            await anyio.sleep(delay)
            if isinstance(value, Exception):
                raise value
            return value

        return run

    return [task(value) for value in values]


async def test_reference_example_multi_model_validation() -> None:
    """The reference's example: majority across three models, ValueError when none."""
    replies = {"gpt-4o": "Paris", "gpt-4o-mini": "Paris.", "gpt-4-turbo": "Lyon"}

    async def get_answer(model: str) -> str:
        await anyio.sleep(0)
        return replies[model]

    answer = await lc.consensus(
        tasks=[
            lambda: get_answer("gpt-4o"),
            lambda: get_answer("gpt-4o-mini"),
            lambda: get_answer("gpt-4-turbo"),
        ],
        strategy="majority",
    )
    assert answer == "Paris"

    replies["gpt-4o-mini"] = "Marseille"
    with pytest.raises(ValueError, match="No majority"):
        await lc.consensus(
            tasks=[
                lambda: get_answer("gpt-4o"),
                lambda: get_answer("gpt-4o-mini"),
                lambda: get_answer("gpt-4-turbo"),
            ],
            strategy="majority",
        )


async def test_majority_is_the_default_strategy() -> None:
    """Without a strategy, the most common answer wins."""
    assert await lc.consensus(answers("b", "a", "a")) == "a"


async def test_majority_needs_more_than_half() -> None:
    """Two of four is not a majority; a tie raises ValueError."""
    with pytest.raises(ValueError, match="2 of 4 votes"):
        await lc.consensus(answers("a", "a", "b", "b"), "majority")
    with pytest.raises(ValueError):
        await lc.consensus(answers("a", "b", "c"), "majority")
    assert await lc.consensus(answers("a", "b", "b", "b"), "majority") == "b"


async def test_unanimous_returns_the_answer_only_when_all_agree() -> None:
    """Unanimous: agreeing answers give the first one; any difference raises ValueError."""
    assert await lc.consensus(answers("Yes", "yes", " YES. "), "unanimous") == "Yes"
    with pytest.raises(ValueError, match="No unanimous consensus: 3 outputs gave 2"):
        await lc.consensus(answers("yes", "yes", "no"), "unanimous")


async def test_best_returns_the_first_result_in_task_order() -> None:
    """Best: the first successful result, even when it is outvoted; never raises on disagreement."""
    assert await lc.consensus(answers("a", "b", "b"), "best") == "a"
    assert await lc.consensus(answers(RuntimeError("down"), "b", "c"), "best") == "b"


async def test_when_every_task_fails_the_first_failure_is_raised() -> None:
    """No result at all: the first task's own exception (not a ValueError) for every strategy."""
    for strategy in ("best", "majority", "unanimous"):
        with pytest.raises(ConnectionError, match="first"):
            await lc.consensus(
                answers(ConnectionError("first"), TimeoutError("second")),
                strategy,  # type: ignore[arg-type]
            )


async def test_failed_tasks_do_not_vote() -> None:
    """A failed task is ignored: the remaining answers decide."""
    assert await lc.consensus(answers("a", ValueError("x"), "a"), "unanimous") == "a"
    result = await Consensus.run(answers("a", ValueError("x"), "a"))
    assert (result.analysis.successful, result.analysis.failed) == (2, 1)
    assert [o.status for o in result.outputs] == ["success", "error", "success"]


@pytest.mark.virtual_time
async def test_tasks_run_concurrently() -> None:
    """All generations run at once: three one-second tasks take one second."""
    start = anyio.current_time()
    result = await Consensus.run(answers("a", "a", "a", delay=1))
    assert anyio.current_time() - start == pytest.approx(1.0)
    assert [o.duration for o in result.outputs] == [1000.0, 1000.0, 1000.0]


async def test_consensus_result_reports_confidence_and_agreements() -> None:
    """Consensus.run returns the value, its confidence and every group of answers."""
    result = await Consensus.run(answers("Paris", "Lyon", "paris"), "majority")
    assert result.reached and result.consensus == "Paris" and result.unwrap() == "Paris"
    assert result.confidence == pytest.approx(2 / 3)
    groups = [(a.value, a.count, a.indices) for a in result.analysis.agreements]
    assert groups == [("Paris", 2, [0, 2]), ("Lyon", 1, [1])]
    [disagreement] = result.analysis.disagreements
    assert disagreement.path == "" and disagreement.severity is DifferenceSeverity.WARNING
    assert [(v.value, v.indices) for v in disagreement.values] == [("Paris", [0, 2]), ("Lyon", [1])]


async def test_consensus_run_does_not_raise_on_disagreement() -> None:
    """Without agreement the result says why; unwrap() raises the ValueError."""
    result = await Consensus.run(answers("a", "b"), "unanimous")
    assert not result.reached and result.consensus is None
    assert "No unanimous consensus" in result.message
    assert result.analysis.disagreements[0].severity is DifferenceSeverity.ERROR
    with pytest.raises(ValueError):
        result.unwrap()


def test_presets_decide_what_counts_as_the_same_answer() -> None:
    """strict: identical only; standard: case/whitespace/edge punctuation; lenient: fuzzy."""
    values = ["The answer is forty-two.", "the answer is  forty-two", "the answer is forty two"]
    strict = Consensus.evaluate(values, "majority", preset=Consensus.strict())
    standard = Consensus.evaluate(values, "majority", preset=Consensus.standard())
    lenient = Consensus.evaluate(values, "unanimous", preset=Consensus.lenient())
    assert not strict.reached
    assert standard.reached and standard.analysis.agreements[0].indices == [0, 1]
    assert lenient.reached and lenient.consensus == values[0]
    assert not Consensus.evaluate(["42", "43"], preset=Consensus.lenient()).analysis.unanimous


def test_custom_preset_threshold_and_numeric_tolerance() -> None:
    """A preset's similarity threshold and numeric tolerance are honoured."""
    close = ConsensusPreset("close", numeric_tolerance=0.1)
    assert Consensus.evaluate([1.0, 1.05, 2.0], preset=close).consensus == 1.0
    fuzzy = ConsensusPreset("fuzzy", similarity_threshold=0.8)
    assert Consensus.evaluate(["colour", "color"], "unanimous", preset=fuzzy).reached
    with pytest.raises(Error, match="similarity_threshold"):
        ConsensusPreset("bad", similarity_threshold=1.2)


def test_structured_outputs_are_analysed_field_by_field() -> None:
    """No whole output has a majority: majority is not reached (a value assembled from the
    fields' majorities is an answer no task gave), but the analysis reports every field."""
    outputs = [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 9, "c": 3}, {"a": 1, "b": 2, "c": 8}]
    result = Consensus.evaluate(outputs, "majority")
    assert not result.reached and result.consensus is None
    with pytest.raises(ValueError, match="No majority"):
        result.unwrap()
    fields = result.analysis.fields
    assert fields is not None
    assert fields.unanimous_fields == ["a"] and fields.disputed_fields == []
    info = fields.fields["b"]
    assert (info.agreement.value, info.agreement.count, info.agreement.indices) == (2, 2, [0, 2])
    assert [(v.value, v.indices) for v in info.values] == [(2, [0, 2]), (9, [1])]
    assert info.has_majority and not info.unanimous
    paths = [(d.path, d.severity) for d in result.analysis.disagreements]
    assert paths == [
        ("", DifferenceSeverity.ERROR),
        ("b", DifferenceSeverity.WARNING),
        ("c", DifferenceSeverity.WARNING),
    ]


def test_a_disputed_field_means_no_majority() -> None:
    """A field where no value has a majority makes majority raise, naming the field."""
    outputs = [{"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 3}]
    result = Consensus.evaluate(outputs, "majority")
    assert not result.reached
    with pytest.raises(ValueError, match="fields without a majority: b"):
        result.unwrap()


async def test_the_issues_objects_have_no_majority() -> None:
    """The reference: "Most common result wins (>50%) / ValueError if no majority". Three
    different objects have no most common result; field majorities ({a:1, b:2}) do not
    make one."""
    with pytest.raises(ValueError, match="No majority"):
        await lc.consensus(answers({"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 2, "b": 2}))


async def test_a_majority_of_models_returns_one_of_them() -> None:
    """Two equal Pydantic answers out of three: the winner is the first of those objects."""

    class Answer(BaseModel):
        city: str
        population: int

    first = Answer(city="Paris", population=2_100_000)
    outputs = [
        Answer(city="Lyon", population=500_000),
        first,
        Answer(city="paris", population=2_100_000),
    ]
    result = await lc.consensus(answers(*outputs))
    assert result is first


small_objects = st.dictionaries(st.sampled_from("ab"), st.integers(0, 2), min_size=1, max_size=2)


@given(values=st.lists(small_objects, min_size=1, max_size=6))
def test_majority_is_one_of_the_answers_with_more_than_half(values: list[dict[str, int]]) -> None:
    """Against a model (count equal answers): majority is reached exactly when one answer has
    more than half of the votes, and it returns one of the given objects, that answer."""
    counts = Counter(tuple(sorted(v.items())) for v in values)
    answer, votes = counts.most_common(1)[0]
    result = Consensus.evaluate(values, "majority")
    assert result.reached == (votes * 2 > len(values))
    if result.reached:
        assert any(result.consensus is v for v in values)
        assert tuple(sorted(result.consensus.items())) == answer
    else:
        assert result.consensus is None


def test_dataclass_outputs_with_a_whole_majority_keep_the_original_object() -> None:
    """When a whole output has a majority, that very object is returned."""

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    first = Point(1, 2)
    assert Consensus.evaluate([first, Point(1, 2), Point(5, 5)]).consensus is first
    assert not Consensus.evaluate([Point(1, 2), Point(1, 3), Point(4, 2)]).reached


def test_analyze_describes_agreement_without_deciding() -> None:
    """Consensus.analyze reports groups, ratio and majority for plain values."""
    analysis = Consensus.analyze(["x", "y", "x", "x"])
    assert (analysis.total, analysis.agreement_ratio) == (4, 0.75)
    assert analysis.has_majority and not analysis.unanimous and analysis.fields is None


async def test_bad_arguments_are_clear_errors() -> None:
    """An unknown strategy or no tasks at all is an l0.Error INVALID_ARGUMENT."""
    with pytest.raises(Error, match="strategy") as caught:
        await lc.consensus(answers("a"), "plurality")  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(Error, match="at least one task"):
        await lc.consensus([])
    with pytest.raises(Error, match="non-empty list"):
        Consensus.evaluate([])
