"""A run's immutable configuration, validated once when the run is created.

Everything a user can pass to `l0.run` / `l0.wrap` ends up here, checked, with defaults
applied, so the core and the driver never see raw arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from l0.callbacks import ON_EVENT_HINT, refuse_async
from l0.continuation import ContinuationConfig
from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule
from l0.observability import EventHandler
from l0.retry import Retry
from l0.timeout import DEFAULT_TIMEOUT, Timeout

StreamFactory = Callable[[], Any]

# The plan is part of the sans-I/O core, so it checks the event store and the breaker by the
# methods it needs rather than by importing their modules (storage, clocks, locks): the
# methods of the `l0.EventStore` protocol, and `CircuitBreaker.protect`.
EVENT_STORE_METHODS = (
    "append",
    "read",
    "exists",
    "list_streams",
    "delete",
    "save_metadata",
    "get_metadata",
)

DEFAULT_CHECK_INTERVAL = 15  # tokens between streaming guardrail checks
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

    @property
    def fallback_count(self) -> int:
        return len(self.factories) - 1


def _problem(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _listed(values: Any, name: str, what: str) -> list[Any]:
    """`values` (a list, a tuple... or None) as a list; anything else is refused."""
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise _problem(f"{name} must be a list of {what}, got {type(values).__name__}")
    return list(values)


def _check_adapter(adapter: Any) -> None:
    """An adapter object must have `wrap`, rather than the first attempt failing over it. (An
    adapter's name is checked against the registry by the entry points, `check_adapter_name`:
    the plan imports no adapter.)"""
    if adapter is None or isinstance(adapter, str):
        return
    if not callable(getattr(adapter, "wrap", None)):
        raise _problem(
            f"adapter must be an adapter's name or an object with wrap(stream) (e.g. "
            f"l0.OpenAIAdapter()), got {type(adapter).__name__}"
        )


def make_plan(
    *,
    stream: StreamFactory,
    fallbacks: Sequence[StreamFactory] | None = None,
    guardrails: Sequence[GuardrailRule] | None = None,
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    continue_from_last_good_token: bool | ContinuationConfig = False,
    adapter: Any = None,
    on_event: EventHandler | None = None,
    context: dict[str, Any] | None = None,
    build_continuation_prompt: Callable[[str], str] | None = None,
    check_interval: int = DEFAULT_CHECK_INTERVAL,
    event_store: Any = None,
    drift_detector: Any = None,
    breaker: Any = None,
    route_health: Any = None,
    hedge_after: float | None = None,
) -> RunPlan:
    """Check every argument and build the plan; raise `l0.Error` naming the first problem."""
    if not callable(stream):
        raise _problem(
            f"run(stream=...) needs a factory (a callable returning a stream), got "
            f"{type(stream).__name__}; wrap an existing stream with `lambda: stream`, or use "
            "l0.wrap(stream) for a one-off stream without retries"
        )
    fallback_list = _listed(fallbacks, "fallbacks", "stream factories")
    for index, fallback in enumerate(fallback_list):
        if not callable(fallback):
            raise _problem(
                f"fallbacks[{index}] must be a factory (a callable returning a stream), "
                f"got {type(fallback).__name__}"
            )
    rules = _listed(guardrails, "guardrails", "l0.GuardrailRule objects")
    for index, rule in enumerate(rules):
        if not isinstance(rule, GuardrailRule):
            raise _problem(
                f"guardrails[{index}] must be an l0.GuardrailRule, got {type(rule).__name__}"
            )
    if drift_detector is not None:
        as_rule = getattr(drift_detector, "as_rule", None)
        if not callable(as_rule):
            raise _problem(
                f"drift_detector must be an l0.DriftDetector, got {type(drift_detector).__name__}"
            )
        rules.append(as_rule())  # drift is checked like a guardrail rule named "drift"
    _check_adapter(adapter)
    if retry is not None and not isinstance(retry, Retry):
        raise _problem(f"retry must be an l0.Retry, got {type(retry).__name__}")
    if timeout is not None and not isinstance(timeout, Timeout):
        raise _problem(f"timeout must be an l0.Timeout, got {type(timeout).__name__}")
    if on_event is not None and not callable(on_event):
        raise _problem(f"on_event must be callable, got {type(on_event).__name__}")
    refuse_async(on_event, "on_event", ON_EVENT_HINT)
    if context is not None and not isinstance(context, dict):
        raise _problem(f"context must be a dict, got {type(context).__name__}")
    if build_continuation_prompt is not None and not callable(build_continuation_prompt):
        raise _problem("build_continuation_prompt must be callable")
    refuse_async(
        build_continuation_prompt,
        "build_continuation_prompt",
        "It returns the user message (a str) that asks the model to go on.",
    )
    if (
        isinstance(check_interval, bool)
        or not isinstance(check_interval, int)
        or check_interval < 1
    ):
        raise _problem(f"check_interval must be an int >= 1, got {check_interval!r}")
    if event_store is not None and not all(
        callable(getattr(event_store, name, None)) for name in EVENT_STORE_METHODS
    ):
        raise _problem(
            f"event_store must be an l0.EventStore (e.g. l0.InMemoryEventStore()), got "
            f"{type(event_store).__name__}"
        )
    if breaker is not None:
        if not callable(getattr(breaker, "protect", None)):
            raise _problem(f"breaker must be an l0.CircuitBreaker, got {type(breaker).__name__}")
        # The primary goes behind the breaker, which learns its outcomes from the run's events.
        stream, on_event = breaker.protect(stream, on_event)
    factories = (stream, *fallback_list)
    store: Any = None
    routes: tuple[str | None, ...] = ()
    if route_health is not None or fallback_list:  # a lone route keeps no health by default
        store, routes = _route_health(route_health, factories)
    return RunPlan(
        factories=factories,
        retry=retry if retry is not None else _DEFAULT_RETRY,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        continuation=ContinuationConfig.from_option(continue_from_last_good_token),
        guardrails=tuple(rules),
        check_interval=check_interval,
        adapter=adapter,
        on_event=on_event,
        context=context,
        build_continuation_prompt=build_continuation_prompt,
        event_store=event_store,
        breaker=breaker,
        route_health=store,
        routes=routes,
        hedge_after=None if hedge_after is None else _hedge_seconds(hedge_after, len(factories)),
    )


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

    if option is True:
        store: Any = PROCESS_ROUTE_HEALTH
    elif all(callable(getattr(option, name, None)) for name in _STORE_METHODS):
        store = option
    else:
        raise _problem(
            "route_health must be True, False, None (on when fallbacks are given) or a store "
            f"with {'/'.join(_STORE_METHODS)} (an l0.routes.RouteHealthStore), got "
            f"{type(option).__name__}"
        )
    routes = tuple(route_of(factory) for factory in factories)
    if not any(routes):
        return None, ()  # no factory names its route: nothing to key health by
    return store, routes


PROCESS_ROUTE_HEALTH = "process"  # plan.route_health: the process's shared store
_STORE_METHODS = ("admit", "report", "reset", "aclose")  # what l0.routes.RouteHealthStore asks


def _hedge_seconds(hedge_after: Any, routes: int) -> float:
    if isinstance(hedge_after, bool) or not isinstance(hedge_after, (int, float)):
        raise _problem(f"hedge_after must be milliseconds > 0 or None, got {hedge_after!r}")
    if not hedge_after > 0 or hedge_after == float("inf"):
        raise _problem(f"hedge_after must be milliseconds > 0 or None, got {hedge_after!r}")
    if routes < 2:
        raise _problem(
            "hedge_after starts the next route when the current one is slow to answer; give "
            "the run fallbacks=[...] to hedge with"
        )
    return float(hedge_after) / 1000.0


__all__ = ["DEFAULT_CHECK_INTERVAL", "RunPlan", "StreamFactory", "make_plan"]
