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
    """An adapter's name must be known now, and an adapter object must have `wrap`, rather
    than the first attempt failing over it."""
    if adapter is None:
        return
    if isinstance(adapter, str):
        from l0.adapters import Adapters

        Adapters.get(adapter)  # ADAPTER_NOT_FOUND names the known ones
    elif not callable(getattr(adapter, "wrap", None)):
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
    if event_store is not None:
        from l0.eventsourcing.store import EventStore

        if not isinstance(event_store, EventStore):
            raise _problem(
                f"event_store must be an l0.EventStore (e.g. l0.InMemoryEventStore()), got "
                f"{type(event_store).__name__}"
            )
    if breaker is not None:
        from l0.breaker import CircuitBreaker

        if not isinstance(breaker, CircuitBreaker):
            raise _problem(f"breaker must be an l0.CircuitBreaker, got {type(breaker).__name__}")
        # The primary goes behind the breaker, which learns its outcomes from the run's events.
        stream, on_event = breaker.protect(stream, on_event)
    return RunPlan(
        factories=(stream, *fallback_list),
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
    )


__all__ = ["DEFAULT_CHECK_INTERVAL", "RunPlan", "StreamFactory", "make_plan"]
