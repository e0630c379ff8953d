"""What runs of the same options share, to start faster, and what each run keeps its own.

`l0.run(stream)` with no option given uses one `RunOptions` for every such run, and the
plan of such a run keeps what depends on its options alone on the (frozen) options, for the
next run (`make_plan(..., share=True)`). Sharing must never show: the plan of any run equals
the plan an unshared copy of its options makes, whatever ran before it. Options made for one
run keep nothing (a run's memory is all freed with it).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.guardrails.types import GuardrailRule
from l0.routes import InMemoryRouteHealth, with_route
from l0.runtime.api import run
from l0.runtime.options import OPTION_NAMES, RunOptions
from l0.runtime.plan import RunPlan, make_plan
from l0.testing import Script, ScriptedFactory


def plain_factory() -> Any:
    return ScriptedFactory(Script.tokens("x"))()


def describe(plan: RunPlan) -> dict[str, Any]:
    """A plan's fields, with what is made fresh for each run (a drift rule, the breaker's
    wrapper around the primary) described by kind rather than identity."""
    fields = {name: getattr(plan, name) for name in RunPlan.__dataclass_fields__}
    del fields["options"]  # the options object itself: shared or copied, by construction
    fields["factories"] = tuple(
        (type(factory).__name__, getattr(factory, "l0_route", None)) for factory in plan.factories
    )
    fields["guardrails"] = tuple(rule.name for rule in plan.guardrails)
    fields["on_event"] = plan.on_event is None
    return fields


OPTION_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "retry": st.sampled_from([None, l0.Retry(attempts=1)]),
    "guardrails": st.sampled_from([None, [], [l0.Guardrails.json()]]),
    "drift_detector": st.sampled_from([None, l0.DriftDetector()]),
    "breaker": st.sampled_from([None, l0.CircuitBreaker()]),
    "route_health": st.sampled_from([None, True, False, InMemoryRouteHealth()]),
    "fallbacks": st.sampled_from([None, [plain_factory], [with_route(plain_factory, "b")]]),
    "context": st.sampled_from([None, {"k": 1}]),
    "check_interval": st.sampled_from([None, 4]),
    "continue_from_last_good_token": st.sampled_from([None, False, True]),
}
FACTORIES = [plain_factory, with_route(plain_factory, "a"), with_route(plain_factory, "c", "u")]


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries({name: values for name, values in OPTION_VALUES.items()}),
    st.lists(st.sampled_from(FACTORIES), min_size=1, max_size=4),
    st.sampled_from([None, l0.Retry(attempts=2)]),
)
def test_a_plan_is_the_one_unshared_options_make(
    given_options: dict[str, Any], factories: list[Any], merged_retry: l0.Retry | None
) -> None:
    """Plans made one after another from the same options (and from options merged over
    them) equal plans made from a fresh copy of those options each time."""
    options = RunOptions(**given_options)
    for factory in factories:
        # (merged after a plan of `options` kept its shared values, and again each time)
        layered = options.merge(RunOptions(retry=merged_retry))
        for shared in (options, layered):
            fresh = RunOptions(**shared.as_kwargs())
            plan = make_plan(factory, shared, share=True)
            assert describe(plan) == describe(make_plan(factory, fresh))


def test_merged_options_do_not_inherit_what_plans_of_the_base_shared() -> None:
    """The options a merge builds are new options: a plan of theirs takes the merged values,
    not those a plan of the base options kept."""
    base = RunOptions(retry=l0.Retry(attempts=1), check_interval=3)
    make_plan(plain_factory, base, share=True)  # the base keeps its shared values now
    merged = base.merge(RunOptions(retry=l0.Retry(attempts=5), check_interval=7))
    plan = make_plan(plain_factory, merged)
    assert (plan.retry.attempts, plan.check_interval) == (5, 7)
    assert make_plan(plain_factory, base, share=True).retry.attempts == 1


def test_each_run_keeps_its_own_stream_drift_rule_and_breaker_wrapper() -> None:
    """What a plan makes per run is never shared: the primary stream, the drift rule (it
    keeps the run's drift state) and the breaker's wrapper around the primary."""
    options = RunOptions(drift_detector=l0.DriftDetector(), breaker=l0.CircuitBreaker())
    first = make_plan(plain_factory, options, share=True)
    second = make_plan(FACTORIES[1], options, share=True)
    assert first.factories[0] is not second.factories[0]
    assert isinstance(first.guardrails[-1], GuardrailRule)
    assert first.guardrails[-1] is not second.guardrails[-1]
    plain = RunOptions()
    plans = [make_plan(f, plain, share=True) for f in FACTORIES]
    assert [plan.factories for plan in plans] == [(f,) for f in FACTORIES]


def test_options_made_for_one_run_keep_nothing_of_its_plan() -> None:
    options = RunOptions(retry=l0.Retry(attempts=1))
    make_plan(plain_factory, options)
    assert "_plan_shared" not in vars(options)


def test_route_health_follows_each_runs_own_route() -> None:
    """With route_health=True and no fallbacks, whether health is kept depends on the
    stream's route: a routed stream after an unrouted one still has its health kept."""
    options = RunOptions(route_health=True)
    assert make_plan(plain_factory, options, share=True).route_health is None
    routed = make_plan(FACTORIES[1], options, share=True)
    assert routed.route_health is not None and routed.routes == ("a",)


@pytest.mark.anyio
async def test_run_with_no_option_given_uses_the_options_its_signature_builds() -> None:
    """`l0.run(stream)` shares one RunOptions between runs: the very options the defaults
    of its signature make (the same values, the same options counted as given)."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(run).parameters.items()
        if name in OPTION_NAMES
    }
    expected = RunOptions(**defaults)
    first, second = await l0.run(plain_factory), await l0.run(plain_factory)
    assert first._plan.options is second._plan.options
    assert first._plan.options == expected
    assert first._plan.options.given == expected.given
    assert await first.read() == await second.read() == "x"
    given = await l0.run(plain_factory, check_interval=4)
    assert given._plan.options is not first._plan.options
    assert given._plan.check_interval == 4
    await given.read()
