"""Property: any JSON document, damaged by the faults models make, is corrected back to an
equal value, and the correction report names exactly the faults that were injected."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings, strategies as st
from json_strategies import (
    Faults,
    damage,
    fault_plans,
    json_documents,
    model_documents,
    model_instances,
    same,
)
from pydantic import BaseModel

from l0.jsonkit import JSON


def _check_round_trip(document: Any, faults: Faults, rng: random.Random) -> None:
    damaged = damage(document, faults, rng)
    result = JSON.auto_correct(damaged.text)
    assert result.success, (damaged.text, result.error)
    assert same(JSON.parse_strict(result.corrected), document), (damaged.text, result.corrected)
    assert set(result.corrections) == damaged.corrections, damaged.text
    assert result.truncated == damaged.truncated
    assert result.changed == bool(damaged.corrections)


@settings(max_examples=200, deadline=None)
@given(document=json_documents, faults=fault_plans, rng=st.randoms(use_true_random=False))
def test_damaged_documents_are_corrected_back(
    document: Any, faults: Faults, rng: random.Random
) -> None:
    _check_round_trip(document, faults, rng)


@settings(max_examples=100, deadline=None)
@given(document=model_documents, faults=fault_plans, rng=st.randoms(use_true_random=False))
def test_damaged_model_documents_are_corrected_back(
    document: Any, faults: Faults, rng: random.Random
) -> None:
    _check_round_trip(document, faults, rng)


@settings(max_examples=100, deadline=None)
@given(
    instance=model_instances,
    faults=fault_plans.filter(lambda f: f.cut == 0),
    rng=st.randoms(use_true_random=False),
)
def test_corrected_model_documents_validate_to_the_same_object(
    instance: BaseModel, faults: Faults, rng: random.Random
) -> None:
    damaged = damage(instance.model_dump(mode="json"), faults, rng)
    value = JSON.parse(damaged.text)
    assert type(instance).model_validate(value) == instance


@settings(max_examples=100, deadline=None)
@given(document=json_documents, indent=st.sampled_from([None, 2]))
def test_clean_documents_are_not_touched(document: Any, indent: int | None) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    result = JSON.auto_correct(text)
    assert result.corrected == text
    assert result.corrections == () and not result.truncated and result.success


def test_the_damage_helper_injects_what_it_reports() -> None:
    """The strategy itself: a known document with every fault, checked by eye."""
    faults = Faults(True, True, False, 1, "json", True, True)
    damaged = damage({"a": [1]}, faults, random.Random(4))
    assert damaged.text.startswith(("Here is", "Sure!")) and "```json\n{" in damaged.text
    assert damaged.truncated
