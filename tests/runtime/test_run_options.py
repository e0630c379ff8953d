"""`l0.RunOptions`, the one definition of the run options: every entry point takes exactly its
fields, each checked once when it is built (hostile values are an INVALID_ARGUMENT there),
and `merge` lets a layer's given options replace another's (checked against a dict model).

The option names are never written out here: they come from the dataclass's fields, so an
option added to `RunOptions` fails these tests until every entry point takes it (and it has a
sample value below and hostile values to be refused).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel

import l0
from l0.pipeline import PipelineOptions, PipelineStep, create_step
from l0.pool import create_pool
from l0.routes import InMemoryRouteHealth
from l0.runtime.api import RunKeywords
from l0.runtime.options import OPTION_NAMES, RunOptions
from l0.runtime.plan import make_plan
from l0.structured_output.api import StructuredOptions
from l0.testing import Script, ScriptedFactory, ScriptedStream
from l0.window import ChunkProcessConfig

pytestmark = pytest.mark.anyio

STRUCTURED_OWN = {"auto_correct", "on_validation_error", "on_auto_correct", "config"}

# A valid value, other than the default, for every option (made fresh for each test).
SAMPLES: dict[str, Callable[[], Any]] = {
    "fallbacks": lambda: [ScriptedFactory(Script.tokens("backup"))],
    "guardrails": lambda: l0.Guardrails.recommended(),
    "retry": lambda: l0.Retry(attempts=1, base_delay=0.0),
    "timeout": lambda: l0.Timeout(initial_token=4000),
    "adapter": lambda: "openai",
    "on_event": lambda: lambda event: None,
    "context": lambda: {"tenant": "acme"},
    "continue_from_last_good_token": lambda: True,
    "build_continuation_prompt": lambda: lambda prompt: prompt,
    "check_interval": lambda: 3,
    "event_store": lambda: l0.InMemoryEventStore(),
    "drift_detector": lambda: l0.DriftDetector(),
    "breaker": lambda: l0.CircuitBreaker(),
    "route_health": lambda: InMemoryRouteHealth(),
    "hedge_after": lambda: 250,
}

async def _async_callback(value: Any) -> None:  # l0 calls these synchronously: refused
    return None


# Values each option must refuse (an l0.Error with INVALID_ARGUMENT, naming the option).
HOSTILE: dict[str, list[Any]] = {
    "fallbacks": ["lambda", lambda: None, [1], [None], {"a": lambda: None}, {print}],
    "guardrails": ["rule", [1], [lambda text: True], 3],
    "retry": [3, "fast", {"attempts": 1}, l0.Timeout()],
    "timeout": [5, 5.0, "5s", l0.Retry()],
    "adapter": ["", 3, object(), ["openai"]],
    "on_event": [1, "print", [print], _async_callback],
    "context": [[("k", 1)], "tenant", 1],
    "continue_from_last_good_token": ["yes", 1, 0, [True]],
    "build_continuation_prompt": ["{checkpoint}", 1, _async_callback],
    "check_interval": [0, -1, True, 1.5, "15", math.inf],
    "event_store": [object(), "memory", {}],
    "drift_detector": [object(), True, "drift"],
    "breaker": [object(), True, "open"],
    "route_health": ["on", 1, object()],
    "hedge_after": [0, -5, math.nan, math.inf, True, "100"],
}


def options_of(name: str) -> dict[str, Any]:
    """One option set to its sample (with a fallback when it needs a second route)."""
    options = {name: SAMPLES[name]()}
    if name == "hedge_after":
        options["fallbacks"] = SAMPLES["fallbacks"]()
    return options


def reached(
    options: RunOptions, sent: dict[str, Any], *, changed: frozenset[str] = frozenset()
) -> None:
    """The options that reached a run are those sent (normalised as RunOptions does)."""
    expected = RunOptions(**sent)
    for name in sent:
        assert name in options.given
        if name not in changed:
            assert getattr(options, name) == getattr(expected, name), name


def keyword_names(function: Callable[..., Any]) -> set[str]:
    return {
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


# -- one option set, everywhere ----------------------------------------------------------


def test_every_option_has_a_sample_and_hostile_values() -> None:
    """A new option cannot be added without saying what it accepts and what it refuses."""
    assert set(SAMPLES) == set(OPTION_NAMES) == set(HOSTILE)


def test_every_entry_point_names_exactly_the_options() -> None:
    """The keyword parameters of run, wrap, with_options and RunOptions, and the keys of the
    TypedDicts the overloads and pool.submit use, are RunOptions' fields."""
    options = set(OPTION_NAMES)
    assert keyword_names(l0.run) == options
    assert keyword_names(l0.wrap) == options
    assert keyword_names(l0.WrappedClient.with_options) == options
    assert keyword_names(RunOptions.__init__) == options
    assert set(RunKeywords.__optional_keys__) == options
    assert set(StructuredOptions.__optional_keys__) == options | STRUCTURED_OWN


def test_the_public_defaults_are_those_of_the_reference() -> None:
    """run and wrap keep the reference's keyword defaults; with_options keeps None for all."""
    for function in (l0.run, l0.wrap):
        defaults = function.__kwdefaults__ or {}
        assert defaults["continue_from_last_good_token"] is False
        assert defaults["check_interval"] == 15
        assert all(defaults[name] is None for name in ("guardrails", "retry", "timeout"))
    assert set((l0.WrappedClient.with_options.__kwdefaults__ or {}).values()) == {None}


@pytest.mark.parametrize("name", OPTION_NAMES)
async def test_run_passes_every_option_to_the_plan(name: str) -> None:
    sent = options_of(name)
    stream = await l0.run(ScriptedFactory(Script.tokens("ok")), **sent)
    reached(stream._plan.options, sent)


@pytest.mark.parametrize("name", OPTION_NAMES)
async def test_the_wrapped_client_passes_every_option_to_each_request(name: str) -> None:
    """wrap(client, ...) and with_options(...) take every option; each request's run gets it."""

    async def acompletion(**kwargs: Any) -> Any:
        return ScriptedStream(Script.tokens("ok"))

    sent = options_of(name)
    for client in (l0.wrap(acompletion, **sent), l0.wrap(acompletion).with_options(**sent)):
        reached(client.options, sent)
        stream = await client.chat.completions.create(model="m", messages=[], stream=True)
        reached(stream._plan.options, sent)


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_wrapping_a_stream_takes_every_option(name: str) -> None:
    """wrap(stream) takes them all; retry and continuation are refused, since a stream
    passed as is cannot be re-created."""
    sent = options_of(name)
    if name in {"retry", "continue_from_last_good_token"}:
        with pytest.raises(l0.Error, match="re-create") as caught:
            l0.wrap(ScriptedStream(Script.tokens("ok")), **sent)
        assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
        return
    lazy = l0.wrap(ScriptedStream(Script.tokens("ok")), **sent)
    reached(lazy._plan.options, sent)


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_pipelines_take_every_option(name: str) -> None:
    """As a dict of l0.run keywords or as RunOptions, on a step and on the pipeline."""
    sent = options_of(name)
    for given_as in (sent, RunOptions(**sent)):
        step = PipelineStep(name="s", fn=lambda v, ctx: v, run_options=given_as)
        reached(step.run_options, sent)
        reached(create_step("s", lambda v, ctx: v, run_options=given_as).run_options, sent)
        reached(PipelineOptions(run_options=given_as).run_options, sent)


@pytest.mark.parametrize("name", OPTION_NAMES)
async def test_pools_take_every_option(name: str) -> None:
    """As the pool's run_options and as submit() keywords; the run gets them."""
    sent = options_of(name)
    async with create_pool(1, run_options=sent) as pool:
        reached(pool.options.run_options, sent)
        operation = await pool.submit(ScriptedFactory(Script.tokens("ok")), **sent)
        reached(operation.run_options, sent)
        operation.cancel()  # what it does with them is l0.run's business, tested there
        await operation.wait()


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_window_chunks_take_every_option(name: str) -> None:
    """ChunkProcessConfig names four options as fields (the reference's); `run_options`
    carries every option, and the named fields win over it."""
    sent = options_of(name)
    config = ChunkProcessConfig(stream=lambda: None, run_options=sent)
    reached(config.options, sent)
    if name in {"fallbacks", "guardrails", "retry", "timeout"}:
        named = ChunkProcessConfig(stream=lambda: None, run_options={name: None}, **sent)
        reached(named.options, sent)


class Pet(BaseModel):
    name: str


@pytest.mark.parametrize("name", OPTION_NAMES)
async def test_structured_takes_every_option(name: str) -> None:
    """structured's run gets every option; it adds its schema rule to the guardrails and
    observes the events on the way to on_event."""
    sent = options_of(name)
    result = await l0.structured_stream(
        Pet, ScriptedFactory(Script.tokens('{"name": "x"}')), **sent
    )
    reached(result._stream._plan.options, sent, changed=frozenset({"guardrails", "on_event"}))
    if name == "guardrails":
        assert result._stream._plan.options.guardrails[:-1] == tuple(sent["guardrails"])


def test_an_adapter_name_is_looked_up_where_options_are_given() -> None:
    """RunOptions (part of the core) checks an adapter's shape; the entry points also look
    a name up in the registry, so an unknown one fails there, before any run."""
    assert RunOptions(adapter="not-registered").adapter == "not-registered"
    for build in (
        lambda: l0.wrap(lambda **kwargs: None, adapter="not-registered"),
        lambda: l0.wrap(lambda **kwargs: None).with_options(adapter="not-registered"),
        lambda: PipelineStep(name="s", fn=lambda v, c: v, run_options={"adapter": "nope"}),
        lambda: ChunkProcessConfig(stream=lambda: None, run_options={"adapter": "nope"}),
    ):
        with pytest.raises(l0.Error) as caught:
            build()
        assert caught.value.code is l0.ErrorCode.ADAPTER_NOT_FOUND


async def test_structured_refuses_an_unknown_option_clearly() -> None:
    with pytest.raises(l0.Error, match=r"unknown l0\.run options") as caught:
        await l0.structured(Pet, ScriptedFactory(Script.tokens("{}")), retries=3)
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


# -- checked once, at construction -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in HOSTILE.items() for value in values]
)
def test_a_hostile_value_is_refused_when_the_options_are_built(name: str, value: Any) -> None:
    """RunOptions, and so every entry point, refuses it before any run exists."""
    for build in (
        lambda: RunOptions(**{name: value}),
        lambda: l0.wrap(lambda **kwargs: None, **{name: value}),
        lambda: PipelineStep(name="s", fn=lambda v, ctx: v, run_options={name: value}),
        lambda: ChunkProcessConfig(stream=lambda: None, run_options={name: value}),
    ):
        with pytest.raises(l0.Error) as caught:
            build()
        assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
        assert name.split("_")[0] in caught.value.message


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in HOSTILE.items() for value in values]
)
async def test_run_refuses_a_hostile_value_before_returning(name: str, value: Any) -> None:
    factory = ScriptedFactory(Script.tokens("never"))
    with pytest.raises(l0.Error) as caught:
        await l0.run(factory, **{name: value})
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT
    assert factory.calls == 0


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
    st.sampled_from([print, len, l0.Retry(), l0.Timeout(), l0.ContinuationConfig()]),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OPTION_NAMES), ANYTHING)
def test_any_value_is_taken_or_refused_clearly(name: str, value: Any) -> None:
    """Whatever an option is given, building the options either works, and so does the plan
    of a run with them, or raises INVALID_ARGUMENT: never a TypeError, never later."""
    try:
        options = RunOptions(**{name: value})
    except l0.Error as error:
        assert error.code is l0.ErrorCode.INVALID_ARGUMENT
        return
    backup = RunOptions(fallbacks=[ScriptedFactory(Script.tokens("b"))])
    plan = make_plan(ScriptedFactory(Script.tokens("x")), backup.merge(options))
    assert (name in plan.options.given) is (value is not None) or name == "fallbacks"


async def test_a_wrapped_client_checks_its_options_once_not_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The options are built (and checked) by wrap(); requests reuse them as they are."""
    built: list[RunOptions] = []
    real_init = RunOptions.__init__

    def counting_init(self: RunOptions, **kwargs: Any) -> None:
        built.append(self)
        real_init(self, **kwargs)

    async def acompletion(**kwargs: Any) -> Any:
        return ScriptedStream(Script.tokens("ok"))

    monkeypatch.setattr(RunOptions, "__init__", counting_init)
    client = l0.wrap(acompletion, retry=l0.Retry(attempts=1), check_interval=4)
    for _ in range(3):
        stream = await client.chat.completions.create(model="m", messages=[], stream=True)
        assert await stream.read() == "ok"
        assert stream._plan.options is client.options
    assert len(built) == 1


def test_the_plan_reads_the_options_without_checking_them_again() -> None:
    """make_plan takes the RunOptions as they are: the options a plan holds are the very
    object it was given, for every run made from them."""
    options = RunOptions(retry=l0.Retry(attempts=1), context={"k": 1})
    plans = [make_plan(ScriptedFactory(Script.tokens("x")), options) for _ in range(3)]
    assert all(plan.options is options for plan in plans)
    assert {plan.retry.attempts for plan in plans} == {1}


def test_the_options_are_frozen() -> None:
    options = RunOptions(check_interval=3)
    with pytest.raises(AttributeError):
        options.check_interval = 0  # type: ignore[misc]


def test_normalised_values() -> None:
    """Sequences become tuples; what was not given holds its default."""
    rules = l0.Guardrails.recommended()
    options = RunOptions(guardrails=rules, continue_from_last_good_token=True)
    assert options.guardrails == tuple(rules) and options.fallbacks == ()
    assert options.check_interval == 15 and options.retry is None
    assert options.continuation == l0.ContinuationConfig()
    assert options.given == {"guardrails", "continue_from_last_good_token"}
    assert RunOptions().continue_from_last_good_token is False and RunOptions().given == set()


# -- merge -------------------------------------------------------------------------------


def test_merge_replaces_what_the_other_gives_and_keeps_the_rest() -> None:
    strict = l0.Retry(attempts=5)
    base = RunOptions(retry=strict, check_interval=3, continue_from_last_good_token=True)
    step = RunOptions(continue_from_last_good_token=False, guardrails=[], context={"k": 1})
    merged = base.merge(step)
    assert merged.retry is strict and merged.check_interval == 3  # kept
    assert merged.continue_from_last_good_token is False and merged.continuation is None
    assert merged.guardrails == () and merged.context == {"k": 1}
    assert merged.given == base.given | step.given
    assert base.merge(RunOptions()) is base and RunOptions().merge(step) is step


@st.composite
def option_sets(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.sets(st.sampled_from(OPTION_NAMES)))
    options = {name: SAMPLES[name]() for name in names}
    for name in draw(st.sets(st.sampled_from(sorted(names)))) if names else ():
        options[name] = None  # passed as None: not given
    if options.get("hedge_after") is not None and not options.get("fallbacks"):
        options["fallbacks"] = SAMPLES["fallbacks"]()
    return options


@settings(max_examples=150, deadline=None)
@given(option_sets(), option_sets())
def test_merge_is_a_dict_update_of_the_given_options(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    """The model: the given options as a dict, the second layer's updating the first's."""
    model = {k: v for k, v in first.items() if v is not None}
    model.update({k: v for k, v in second.items() if v is not None})
    merged = RunOptions(**first).merge(RunOptions(**second))
    assert merged == RunOptions(**model)
    assert merged.as_kwargs().keys() == model.keys()
    assert merged.continuation == RunOptions(**model).continuation
    assert RunOptions(**merged.as_kwargs()) == merged
