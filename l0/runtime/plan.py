"""A run's immutable configuration: its stream factories and its `RunOptions`.

The options were checked when they were built (`l0.runtime.options`); `make_plan` only
derives what one run needs from them (the factories in order, the defaults applied, the
drift rule, the breaker around the primary, the route-health store and keys), so the core
and the driver never see raw arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from l0.continuation import ContinuationConfig
from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule
from l0.observability import EventHandler
from l0.retry import Retry
from l0.runtime.options import (
    DEFAULT_CHECK_INTERVAL,
    NO_OPTIONS,
    RunOptions,
    StreamFactory,
)
from l0.timeout import DEFAULT_TIMEOUT, Timeout

_DEFAULT_RETRY = Retry()  # shared, never mutated


@dataclass(slots=True)  # not frozen: frozen __init__ costs ~3 µs per run; never mutated
class RunPlan:
    factories: tuple[StreamFactory, ...]  # the primary stream first, then the fallbacks
    retry: Retry
    timeout: Timeout
    continuation: ContinuationConfig | None
    guardrails: tuple[GuardrailRule, ...]
    check_interval: int
    adapter: Any
    on_event: EventHandler | None
    context: dict[str, Any] | None
    build_continuation_prompt: Callable[[str], str] | None
    event_store: Any = None  # an l0.EventStore: the run is recorded into it
    breaker: Any = None  # an l0.CircuitBreaker guarding the primary (factories[0] is guarded)
    # Route health across runs: the store (None: off) and each factory's route key (None: a
    # route without a key, whose health is not kept).
    route_health: Any = None
    routes: tuple[str | None, ...] = ()
    hedge_after: float | None = None  # seconds without a first token before the next route races
    options: RunOptions = NO_OPTIONS  # what the plan was made from

    @property
    def fallback_count(self) -> int:
        return len(self.factories) - 1


def _problem(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def make_plan(
    stream: StreamFactory, options: RunOptions = NO_OPTIONS, *, share: bool = False
) -> RunPlan:
    """The plan of one run of `stream` with `options` (checked already, when they were
    built); raise `l0.Error(INVALID_ARGUMENT)` if `stream` is not a factory or the options
    ask for what this run cannot do. `share=True` is for options many runs use (`run()`
    with no option given): what the plan takes from the options alone is kept on them, and
    later plans of theirs reuse it."""
    if not callable(stream):
        raise _problem(
            f"run(stream=...) needs a factory (a callable returning a stream), got "
            f"{type(stream).__name__}; wrap an existing stream with `lambda: stream`, or use "
            "l0.wrap(stream) for a one-off stream without retries"
        )
    shared = options.__dict__.get(_SHARED)
    if shared is not None:
        return RunPlan((stream,), *shared)
    rules = options.guardrails
    if options.drift_detector is not None:
        # drift is checked like a guardrail rule named "drift" (a fresh rule per run)
        rules = (*rules, options.drift_detector.as_rule())
    on_event = options.on_event
    if options.breaker is not None:
        # The primary goes behind the breaker, which learns its outcomes from the run's events.
        stream, on_event = options.breaker.protect(stream, on_event)
    factories = (stream, *options.fallbacks)
    store: Any = None
    routes: tuple[str | None, ...] = ()
    if options.route_health is not None or options.fallbacks:  # a lone route keeps no health
        store, routes = _route_health(options.route_health, factories)
    hedge_after = options.hedge_after
    if hedge_after is not None and len(factories) < 2:
        raise _problem(
            "hedge_after starts the next route when the current one is slow to answer; give "
            "the run fallbacks=[...] to hedge with"
        )
    plan = RunPlan(
        factories=factories,
        retry=options.retry if options.retry is not None else _DEFAULT_RETRY,
        timeout=options.timeout if options.timeout is not None else DEFAULT_TIMEOUT,
        continuation=options.continuation,
        guardrails=rules,
        check_interval=options.check_interval,
        adapter=options.adapter,
        on_event=on_event,
        context=options.context,
        build_continuation_prompt=options.build_continuation_prompt,
        event_store=options.event_store,
        breaker=options.breaker,
        route_health=store,
        routes=routes,
        hedge_after=None if hedge_after is None else float(hedge_after) / 1000.0,
        options=options,
    )
    if (
        share
        and options.breaker is None
        and options.drift_detector is None
        and not options.fallbacks
        and (options.route_health is None or options.route_health is False)
    ):
        # Nothing of this plan but its stream depends on the stream: every run of these
        # options shares the rest, kept on the (frozen) options for the next run.
        options.__dict__[_SHARED] = tuple(getattr(plan, name) for name in _AFTER_FACTORIES)
    return plan


# What a plan takes after its factories, in order, and where the options keep the values a
# run of theirs with a single stream shares (RunOptions.merge does not copy it).
_AFTER_FACTORIES = tuple(field.name for field in fields(RunPlan))[1:]
_SHARED = "_plan_shared"


def _route_health(
    option: Any, factories: tuple[StreamFactory, ...]
) -> tuple[Any, tuple[str | None, ...]]:
    """The store a run reports to and its routes' keys. None (the default) means on when
    there are fallbacks (the process's store), True on, False off, or a store of your own.
    The process's store is named here (`PROCESS_ROUTE_HEALTH`) and made by the driver, so
    that the plan imports no store (it keeps a clock and a lock)."""
    if option is None:
        option = len(factories) > 1
    if option is False:
        return None, ()  # the common case of a lone route: nothing imported, nothing kept
    from l0.routes.keys import route_of

    # True: the process's store; otherwise a store RunOptions has recognised already.
    store: Any = PROCESS_ROUTE_HEALTH if option is True else option
    routes = tuple(route_of(factory) for factory in factories)
    if not any(routes):
        return None, ()  # no factory names its route: nothing to key health by
    return store, routes


PROCESS_ROUTE_HEALTH = "process"  # plan.route_health: the process's shared store


__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "RunPlan",
    "StreamFactory",
    "make_plan",
]
