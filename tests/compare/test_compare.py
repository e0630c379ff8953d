"""Compare: string metrics (properties and known values) and deep object differences."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel

from l0.compare import (
    Compare,
    DifferenceSeverity,
    DifferenceType,
    ObjectComparisonOptions,
    StringComparisonOptions,
)
from l0.errors import Error, ErrorCode

METRICS = [
    Compare.levenshtein_similarity,
    Compare.jaro_winkler,
    Compare.cosine_similarity,
    Compare.jaccard_similarity,
]
ALGORITHMS = ["levenshtein", "jaro_winkler", "cosine", "jaccard"]


@pytest.mark.parametrize("metric", METRICS)
@settings(max_examples=100, deadline=None)
@given(a=st.text(max_size=40), b=st.text(max_size=40))
def test_metrics_are_symmetric_and_between_zero_and_one(metric: object, a: str, b: str) -> None:
    """Every metric lies in [0, 1], is symmetric, and gives 1.0 for identical strings."""
    assert callable(metric)
    forward, backward = metric(a, b), metric(b, a)
    assert 0.0 <= forward <= 1.0
    assert forward == pytest.approx(backward)
    assert metric(a, a) == 1.0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=50, deadline=None)
@given(a=st.text(max_size=30), b=st.text(max_size=30))
def test_compare_strings_dispatches_to_the_chosen_algorithm(algorithm: str, a: str, b: str) -> None:
    """Compare.strings with `algorithm` equals that metric and keeps identity at 1.0."""
    options = StringComparisonOptions(algorithm=algorithm)  # type: ignore[arg-type]
    metric = dict(zip(ALGORITHMS, METRICS, strict=True))[algorithm]
    assert Compare.strings(a, b, options) == pytest.approx(metric(a, b))
    assert Compare.strings(a, a, options) == 1.0


def test_known_values() -> None:
    """Textbook values: kitten/sitting, martha/marhta, word overlap."""
    assert Compare.levenshtein_distance("kitten", "sitting") == 3
    assert Compare.levenshtein_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert Compare.jaro_winkler("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert Compare.jaccard_similarity("the cat sat", "the cat ran") == pytest.approx(2 / 4)
    assert Compare.cosine_similarity("a b", "a c") == pytest.approx(0.5)
    assert Compare.cosine_similarity("a a b", "a b b") == pytest.approx(4 / 5)
    assert Compare.strings("abc", "xyz") == 0.0


def test_token_metrics_ignore_punctuation_and_compare_wordless_text_exactly() -> None:
    """Words are runs of letters/digits; text without words only matches itself."""
    assert Compare.jaccard_similarity("Paris.", "Paris!") == 1.0
    assert Compare.cosine_similarity("!!!", "???") == 0.0
    assert Compare.cosine_similarity("", "word") == 0.0


def test_case_and_whitespace_options_normalize_before_measuring() -> None:
    """case_sensitive=False folds case, normalize_whitespace collapses runs of whitespace."""
    loose = StringComparisonOptions(case_sensitive=False, normalize_whitespace=True)
    assert Compare.strings("Hello  World\n", "hello world") < 1.0
    assert Compare.strings("Hello  World\n", "hello world", loose) == 1.0
    assert Compare.levenshtein_distance("ABC", "abc", loose) == 0
    assert Compare.normalize("  A \t B ", loose) == "a b"


def test_is_similar_uses_a_threshold() -> None:
    """is_similar compares the similarity with `threshold` (0.8 by default)."""
    assert Compare.is_similar("colour", "color")  # 5/6
    assert not Compare.is_similar("colour", "color", threshold=0.9)
    with pytest.raises(Error) as caught:
        Compare.is_similar("a", "b", threshold=1.5)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


def test_unknown_algorithm_is_rejected() -> None:
    """A misspelt algorithm is a clear error naming the valid ones."""
    with pytest.raises(Error, match="levenshtein"):
        StringComparisonOptions(algorithm="hamming")  # type: ignore[arg-type]


def test_object_differences_have_paths_types_and_severities() -> None:
    """Changed, added, removed and type-mismatched values, each at its path."""
    expected = {"a": {"b": [1, 2, {"c": 3}]}, "name": "Ada", "gone": True, "n": 1}
    actual = {"a": {"b": [1, 2, {"c": 4}]}, "name": "ada", "n": "1", "new": [1]}
    found = {d.path: d for d in Compare.objects(expected, actual)}
    assert set(found) == {"a.b[2].c", "name", "gone", "n", "new"}
    assert (found["a.b[2].c"].type, found["a.b[2].c"].severity) == (
        DifferenceType.CHANGED,
        DifferenceSeverity.WARNING,
    )
    assert (found["a.b[2].c"].expected, found["a.b[2].c"].actual) == (3, 4)
    assert found["name"].severity is DifferenceSeverity.INFO  # only the case differs
    assert (found["gone"].type, found["gone"].severity) == (
        DifferenceType.REMOVED,
        DifferenceSeverity.ERROR,
    )
    assert (found["n"].type, found["n"].severity) == (
        DifferenceType.TYPE_MISMATCH,
        DifferenceSeverity.ERROR,
    )
    assert (found["new"].type, found["new"].actual) == (DifferenceType.ADDED, [1])
    assert found["a.b[2].c"].message == "a.b[2].c: changed from 3 to 4"


def test_equal_values_have_no_differences() -> None:
    """Equal nested values, ints equal to floats, NaN equal to NaN: nothing to report."""
    value = {"a": [1, {"b": (2, 3)}], "c": None, "d": math.nan}
    assert Compare.objects(value, {"a": [1.0, {"b": [2, 3]}], "c": None, "d": math.nan}) == []
    assert Compare.deep_equal(value, value)


def test_lists_of_different_length_report_added_and_removed_indexes() -> None:
    """Extra and missing list elements are reported by index."""
    assert [(d.path, d.type) for d in Compare.objects([1, 2, 3], [1, 2])] == [
        ("[2]", DifferenceType.REMOVED)
    ]
    assert [(d.path, d.type) for d in Compare.objects([1], [1, 5])] == [
        ("[1]", DifferenceType.ADDED)
    ]


def test_root_values_and_odd_keys() -> None:
    """A root difference has the path ""; non-identifier keys are quoted in brackets."""
    assert Compare.objects("yes", "no")[0].path == ""
    assert Compare.objects({"a b": 1}, {"a b": 2})[0].path == '["a b"]'
    assert Compare.objects({"x": {"1st": 1}}, {"x": {"1st": 2}})[0].path == 'x["1st"]'
    assert Compare.objects({1: "a"}, {1: "b"})[0].path == "[1]"


def test_numeric_tolerance_ignores_small_differences() -> None:
    """Numbers within `numeric_tolerance` are equal; booleans are never numbers."""
    options = ObjectComparisonOptions(numeric_tolerance=0.01)
    assert Compare.objects({"p": 0.5}, {"p": 0.505}, options) == []
    assert len(Compare.objects({"p": 0.5}, {"p": 0.52}, options)) == 1
    assert Compare.objects(True, 1)[0].type is DifferenceType.TYPE_MISMATCH


def test_ignore_keys_and_ignore_order() -> None:
    """ignore_keys skips keys at every depth; ignore_order compares lists as multisets."""
    options = ObjectComparisonOptions(ignore_keys=("id",), ignore_order=True)
    expected = {"id": 1, "tags": ["a", "b", "b"], "items": [{"id": 5, "v": 1}]}
    actual = {"id": 2, "tags": ["b", "a", "b"], "items": [{"id": 6, "v": 1}]}
    assert Compare.objects(expected, actual, options) == []
    found = Compare.objects({"tags": ["a", "b"]}, {"tags": ["b", "c"]}, options)
    assert [(d.path, d.type) for d in found] == [
        ("tags[0]", DifferenceType.REMOVED),
        ("tags[1]", DifferenceType.ADDED),
    ]


def test_string_options_and_threshold_apply_to_string_leaves() -> None:
    """Strings equal after normalization (or similar enough) are not differences."""
    loose = StringComparisonOptions(case_sensitive=False, normalize_whitespace=True)
    exact_after_normalizing = ObjectComparisonOptions(string_options=loose)
    assert Compare.objects({"a": "Yes  please"}, {"a": "yes please"}, exact_after_normalizing) == []
    near = ObjectComparisonOptions(string_options=loose, string_threshold=0.8)
    assert Compare.objects({"a": "colour"}, {"a": "color"}, near) == []
    assert Compare.objects({"a": "colour"}, {"a": "hue"}, near) != []


def test_models_and_dataclasses_compare_by_fields() -> None:
    """Pydantic models and dataclasses are compared field by field, also against dicts."""

    class Address(BaseModel):
        city: str

    class Person(BaseModel):
        name: str
        address: Address

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    left = Person(name="Ada", address=Address(city="London"))
    right = Person(name="Ada", address=Address(city="Paris"))
    assert [d.path for d in Compare.objects(left, right)] == ["address.city"]
    assert Compare.objects(left, {"name": "Ada", "address": {"city": "London"}}) == []
    assert [d.path for d in Compare.objects(Point(1, 2), Point(1, 3))] == ["y"]


def test_invalid_object_options_are_rejected() -> None:
    """Negative tolerances and thresholds outside [0, 1] are clear errors."""
    with pytest.raises(Error, match="numeric_tolerance"):
        ObjectComparisonOptions(numeric_tolerance=-1)
    with pytest.raises(Error, match="string_threshold"):
        ObjectComparisonOptions(string_threshold=2)


def test_trim_punctuation_strips_only_the_ends() -> None:
    """Edge punctuation, quotes and markdown emphasis go; inner punctuation stays."""
    trim = StringComparisonOptions(trim_punctuation=True)
    assert Compare.normalize('**"Paris."** ', trim) == "Paris"
    assert Compare.strings("3.14", "314", trim) < 1.0
    assert Compare.strings("(Paris)", "Paris!", trim) == 1.0
