"""Runs of every common kind give their core the same fields.

CPython keeps an object's fields inline, where the per-token reads are fastest, only while
every instance of its class sets names the first instance set; one more name in a later run
turns that run's fields into a plain dict. A process runs plain and guarded, continued and
drift-checked streams side by side, so a field one kind adds at start must be set (to the
class default) by the others too. This checks the fields, not the speed: benchmarks measure
that (benchmarks/workload.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest

import l0
from l0.event_bus import EventBus
from l0.runtime.core import RunCore
from l0.runtime.facts import OPENED, START, STREAM_ENDED
from l0.runtime.plan import make_plan

KINDS: dict[str, dict[str, Any]] = {
    "plain": {},
    "timeouts": {"timeout": l0.Timeout(initial_token=5000, inter_token=10000)},
    "json": {"guardrails": [l0.Guardrails.json()]},
    "recommended": {"guardrails": l0.Guardrails.recommended()},
    "drift": {"drift_detector": l0.DriftDetector()},
    "continuation": {"continue_from_last_good_token": True},
}


def factory() -> Any:
    raise AssertionError("the core never calls factories")


def completed_fields(options: dict[str, Any]) -> list[str]:
    """The fields of a core that ran one clean attempt to its end."""
    plan = make_plan(factory, l0.RunOptions(**options))
    core = RunCore(plan, now=100.0, epoch=1_700_000_000.0, rng=random.Random(7), bus=EventBus())
    core.handle(START, 100.0)
    core.handle(OPENED, 100.0)
    for token in ("Hello", " there", " friend.", " More", " text", "..."):
        core.token(token, 101.0)
    core.handle(STREAM_ENDED, 102.0)
    assert core.phase == "complete"
    return sorted(vars(core))


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "plain"])
def test_a_run_of_each_kind_sets_the_fields_a_plain_run_sets(kind: str) -> None:
    assert completed_fields(KINDS[kind]) == completed_fields(KINDS["plain"])
