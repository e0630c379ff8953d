"""`RunOptions`: the reliability options of a run, defined, checked and normalised once.

Every entry point takes the same options: `l0.run(...)` and `l0.wrap(...)` by keyword, a
wrapped client (`with_options`), pipelines and pools (`run_options=`) and `l0.structured`.
Each builds one `RunOptions` and hands it down; the plan of a run (`make_plan`) reads it
without checking anything again. A bad value is refused here, at construction, with an
`l0.Error(INVALID_ARGUMENT)` that names it.

An option is *given* when it was passed with a value other than None; `merge` lets the
given options of a more specific layer (a pipeline step over its pipeline, `submit()` over
its pool, `with_options` over the wrapped client) replace the others', key by key. So
`guardrails=[]` or `continue_from_last_good_token=False` override, and None keeps.

The class sits in the sans-I/O core (the plan reads it), so it recognises the event store,
the breaker and a route-health store by the methods it needs rather than by importing their
modules; the entry points (`l0.run`, `l0.wrap`) carry the precise public types.

Construction is on the per-run path of `l0.run`: no pydantic, one pass of checks, and the
fields stored with one dict update (a frozen dataclass with slots would set them one
`object.__setattr__` at a time, which costs more than the checks).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from l0.callbacks import ON_EVENT_HINT, refuse_async
from l0.continuation import ContinuationConfig
from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule
from l0.observability import EventHandler
from l0.retry import Retry
from l0.timeout import Timeout

StreamFactory = Callable[[], Any]

DEFAULT_CHECK_INTERVAL = 15  # tokens between streaming guardrail checks

# What the options recognise an event store, a breaker and a route-health store by: the
# methods of the `l0.EventStore` protocol, `CircuitBreaker.protect`, and what
# `l0.routes.RouteHealthStore` asks.
EVENT_STORE_METHODS = (
    "append",
    "read",
    "exists",
    "list_streams",
    "delete",
    "save_metadata",
    "get_metadata",
)
ROUTE_STORE_METHODS = ("admit", "report", "reset", "aclose")


def _problem(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _callables(value: Any, name: str, what: str) -> tuple[Any, ...]:
    if type(value) is tuple or type(value) is list:  # the usual case, without ABC checks
        return tuple(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise _problem(f"{name} must be a list of {what}, got {type(value).__name__}")
    return tuple(value)


def _adapter_shaped(adapter: Any) -> bool:
    """A name, or what `l0.Adapters` accepts as an adapter. Whether a name is registered is
    checked by the entry points (`check_adapter_name`): this module imports no adapter."""
    if isinstance(adapter, str):
        return bool(adapter)
    name = getattr(adapter, "name", None)
    return (
        isinstance(name, str)
        and bool(name)
        and callable(getattr(adapter, "detect", None))
        and callable(getattr(adapter, "wrap", None))
    )


@dataclass(frozen=True, init=False)
class RunOptions:
    """The options of `l0.run` besides `stream` (see `l0.run` for what each one does).

    Every argument is keyword-only and defaults to None, meaning "not given" (the run's
    default applies). Fields hold the normalised values: `fallbacks` and `guardrails` are
    tuples, `continue_from_last_good_token` is False when not given, `check_interval` 15.
    `given` names the options that were passed (not None); `merge` layers two option sets;
    `parse` takes a dict of `l0.run` keywords too.
    """

    fallbacks: tuple[StreamFactory, ...]
    guardrails: tuple[GuardrailRule, ...]
    retry: Retry | None
    timeout: Timeout | None
    adapter: Any
    on_event: EventHandler | None
    context: dict[str, Any] | None
    continue_from_last_good_token: bool | ContinuationConfig
    build_continuation_prompt: Callable[[str], str] | None
    check_interval: int
    event_store: Any  # an l0.EventStore: each run is recorded into it
    drift_detector: Any  # an l0.DriftDetector: drift is checked like a guardrail
    breaker: Any  # an l0.CircuitBreaker guarding the primary stream
    route_health: Any  # None: on when a run has fallbacks; True, False or a RouteHealthStore
    hedge_after: float | None  # milliseconds without a first token before the next route races
    # Derived once, not options: the continuation config (None: off), and which of the
    # options whose value is normalised (so that a field no longer shows None) were given.
    continuation: ContinuationConfig | None = field(init=False, repr=False, compare=False)
    _given_normalised: frozenset[str] = field(init=False, repr=False)

    def __init__(
        self,
        *,
        fallbacks: Sequence[StreamFactory] | None = None,
        guardrails: Sequence[GuardrailRule] | None = None,
        retry: Retry | None = None,
        timeout: Timeout | None = None,
        adapter: Any = None,
        on_event: EventHandler | None = None,
        context: dict[str, Any] | None = None,
        continue_from_last_good_token: bool | ContinuationConfig | None = None,
        build_continuation_prompt: Callable[[str], str] | None = None,
        check_interval: int | None = None,
        event_store: Any = None,
        drift_detector: Any = None,
        breaker: Any = None,
        route_health: Any = None,
        hedge_after: float | None = None,
    ) -> None:
        given_normalised = _GIVEN_NORMALISED[
            fallbacks is not None,
            guardrails is not None,
            continue_from_last_good_token is not None,
            check_interval is not None,
        ]
        if fallbacks is None:
            fallback_tuple: tuple[StreamFactory, ...] = ()
        else:
            fallback_tuple = _callables(fallbacks, "fallbacks", "stream factories")
            for index, fallback in enumerate(fallback_tuple):
                if not callable(fallback):
                    raise _problem(
                        f"fallbacks[{index}] must be a factory (a callable returning a stream), "
                        f"got {type(fallback).__name__}"
                    )
        if guardrails is None:
            rules: tuple[GuardrailRule, ...] = ()
        else:
            rules = _callables(guardrails, "guardrails", "l0.GuardrailRule objects")
            for index, rule in enumerate(rules):
                if not isinstance(rule, GuardrailRule):
                    raise _problem(
                        f"guardrails[{index}] must be an l0.GuardrailRule, got "
                        f"{type(rule).__name__}"
                    )
        if drift_detector is not None and not callable(getattr(drift_detector, "as_rule", None)):
            raise _problem(
                f"drift_detector must be an l0.DriftDetector, got {type(drift_detector).__name__}"
            )
        if retry is not None and not isinstance(retry, Retry):
            raise _problem(f"retry must be an l0.Retry, got {type(retry).__name__}")
        if timeout is not None and not isinstance(timeout, Timeout):
            raise _problem(f"timeout must be an l0.Timeout, got {type(timeout).__name__}")
        if adapter is not None and not _adapter_shaped(adapter):
            raise _problem(
                "adapter must be an adapter's name (e.g. 'openai') or an adapter (a `name`, "
                f"`detect(stream)` and `wrap(stream)`), got {adapter!r}"
            )
        if on_event is not None:
            if not callable(on_event):
                raise _problem(f"on_event must be callable, got {type(on_event).__name__}")
            refuse_async(on_event, "on_event", ON_EVENT_HINT)
        if context is not None and not isinstance(context, dict):
            raise _problem(f"context must be a dict, got {type(context).__name__}")
        if continue_from_last_good_token is None:
            continue_from_last_good_token = False
        continuation = (
            None
            if continue_from_last_good_token is False
            else ContinuationConfig.from_option(continue_from_last_good_token)
        )
        if build_continuation_prompt is not None:
            if not callable(build_continuation_prompt):
                raise _problem("build_continuation_prompt must be callable")
            refuse_async(
                build_continuation_prompt,
                "build_continuation_prompt",
                "It returns the user message (a str) that asks the model to go on.",
            )
        if check_interval is None:
            check_interval = DEFAULT_CHECK_INTERVAL
        elif (
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
        if breaker is not None and not callable(getattr(breaker, "protect", None)):
            raise _problem(f"breaker must be an l0.CircuitBreaker, got {type(breaker).__name__}")
        if not (
            route_health is None
            or isinstance(route_health, bool)
            or all(callable(getattr(route_health, name, None)) for name in ROUTE_STORE_METHODS)
        ):
            raise _problem(
                "route_health must be True, False, None (on when fallbacks are given) or a "
                f"store with {'/'.join(ROUTE_STORE_METHODS)} (an l0.routes.RouteHealthStore), "
                f"got {type(route_health).__name__}"
            )
        if hedge_after is not None and (
            isinstance(hedge_after, bool)
            or not isinstance(hedge_after, (int, float))
            or not 0 < hedge_after < math.inf
        ):
            raise _problem(f"hedge_after must be milliseconds > 0 or None, got {hedge_after!r}")
        # The dataclass is frozen: its fields are stored once, here, in one step (cheaper
        # than a slot at a time: this runs for every `l0.run`).
        self.__dict__.update(
            fallbacks=fallback_tuple,
            guardrails=rules,
            retry=retry,
            timeout=timeout,
            adapter=adapter,
            on_event=on_event,
            context=context,
            continue_from_last_good_token=continue_from_last_good_token,
            build_continuation_prompt=build_continuation_prompt,
            check_interval=check_interval,
            event_store=event_store,
            drift_detector=drift_detector,
            breaker=breaker,
            route_health=route_health,
            hedge_after=hedge_after,
            continuation=continuation,
            _given_normalised=given_normalised,
        )

    @classmethod
    def parse(cls, value: RunOptions | Mapping[str, Any] | None, *, where: str) -> RunOptions:
        """`value` (RunOptions, a dict of `l0.run` keyword arguments, or None) as RunOptions;
        a problem raises `l0.Error(INVALID_ARGUMENT)` that begins with `where`."""
        if value is None:
            return NO_OPTIONS
        if isinstance(value, RunOptions):
            return value
        if not isinstance(value, Mapping):
            raise _problem(
                f"{where} must be l0.RunOptions or a dict of l0.run options, got "
                f"{type(value).__name__}"
            )
        unknown = sorted(set(value) - set(OPTION_NAMES))
        if unknown:
            raise _problem(
                f"{where} has unknown l0.run options {unknown}; known options: "
                f"{', '.join(sorted(OPTION_NAMES))}"
            )
        try:
            return cls(**value)
        except Error as exc:
            raise Error(f"{where}: {exc.message}", code=exc.code) from exc

    def merge(self, other: RunOptions) -> RunOptions:
        """These options with the options given in `other` replacing theirs (None in `other`
        keeps what is here). Both are checked already, so nothing is checked again."""
        given = other.given
        if not given:
            return self
        if not self.given:
            return other
        merged = object.__new__(RunOptions)
        values = {**self.__dict__, **{name: other.__dict__[name] for name in given}}
        values.pop("_plan_shared", None)  # what make_plan kept for runs of `self` alone
        if "continue_from_last_good_token" in given:
            values["continuation"] = other.continuation
        values["_given_normalised"] = self._given_normalised | other._given_normalised
        merged.__dict__.update(values)
        return merged

    @property
    def given(self) -> frozenset[str]:
        """The names of the options that were given (passed, and not None)."""
        values = self.__dict__
        return self._given_normalised.union(
            [name for name in _KEPT_AS_GIVEN if values[name] is not None]
        )

    def as_kwargs(self) -> dict[str, Any]:
        """The given options as keyword arguments (`RunOptions(**o.as_kwargs()) == o`)."""
        given = self.given
        return {name: getattr(self, name) for name in OPTION_NAMES if name in given}


OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in fields(RunOptions) if option.init)
"""The option names, in order: what every entry point accepts."""
# The options stored as given (None when not given), and those normalised, whose given-ness
# is kept apart: for each combination of (fallbacks, guardrails, continuation, interval).
_NORMALISED = ("fallbacks", "guardrails", "continue_from_last_good_token", "check_interval")
_KEPT_AS_GIVEN = tuple(name for name in OPTION_NAMES if name not in _NORMALISED)
_GIVEN_NORMALISED = {
    flags: frozenset(name for name, flag in zip(_NORMALISED, flags, strict=True) if flag)
    for flags in itertools.product((False, True), repeat=len(_NORMALISED))
}
NO_OPTIONS = RunOptions()

__all__ = ["DEFAULT_CHECK_INTERVAL", "NO_OPTIONS", "OPTION_NAMES", "RunOptions", "StreamFactory"]
