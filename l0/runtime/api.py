"""The entry points: `run` (a stream factory, with retries and fallbacks) and `wrap`
(a client, or a one-off stream)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, overload

from l0.adapters.registry import check_adapter_name
from l0.continuation import ContinuationConfig
from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule
from l0.observability import EventHandler
from l0.retry import Retry
from l0.runtime.options import DEFAULT_CHECK_INTERVAL, RunOptions, StreamFactory
from l0.runtime.plan import make_plan
from l0.runtime.stream import LazyStream, Stream
from l0.timeout import Timeout

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from l0.breaker import CircuitBreaker
    from l0.client import WrappedClient
    from l0.drift import DriftDetector
    from l0.eventsourcing.store import EventStore
    from l0.routes import RouteHealthStore


async def run(
    stream: StreamFactory,
    *,
    fallbacks: Sequence[StreamFactory] | None = None,
    guardrails: Sequence[GuardrailRule] | None = None,
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    adapter: Any = None,
    on_event: EventHandler | None = None,
    context: dict[str, Any] | None = None,
    continue_from_last_good_token: bool | ContinuationConfig = False,
    build_continuation_prompt: Callable[[str], str] | None = None,
    check_interval: int = DEFAULT_CHECK_INTERVAL,
    event_store: EventStore | None = None,
    drift_detector: DriftDetector | None = None,
    breaker: CircuitBreaker | None = None,
    route_health: RouteHealthStore | bool | None = None,
    hedge_after: float | None = None,
) -> Stream:
    """Run a stream factory with l0's reliability: retries, fallbacks, timeouts, guardrails,
    continuation. Returns a `Stream` (lazy: the first attempt starts when it is read).
    With `event_store`, the run's inputs are recorded there when it ends, for replay; with
    `drift_detector`, drift is checked as it streams and retried like a guardrail violation.
    With `breaker` (an `l0.CircuitBreaker` shared by many runs), the primary is skipped for
    the fallbacks while the breaker is open.

    With fallbacks, route health is kept across runs by default (`route_health=None`; True
    forces it on, False turns it off, or pass an `l0.routes.RouteHealthStore`): a route that
    keeps failing is skipped for the next ones until one probe finds it well. With
    `hedge_after` (milliseconds), a route that has not produced its first token by then gets
    the next route racing it; the first to produce a token is kept, the other closed."""
    if (
        fallbacks is None
        and guardrails is None
        and retry is None
        and timeout is None
        and adapter is None
        and on_event is None
        and context is None
        and build_continuation_prompt is None
        and event_store is None
        and drift_detector is None
        and breaker is None
        and route_health is None
        and hedge_after is None
        and continue_from_last_good_token is False
        and check_interval == DEFAULT_CHECK_INTERVAL
        and type(check_interval) is int
    ):
        # Every option at its default (the common case): the options are the same for every
        # such run, built and checked once (they are frozen).
        return Stream(make_plan(stream, _RUN_DEFAULTS, share=True))
    options = RunOptions(
        fallbacks=fallbacks,
        guardrails=guardrails,
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
    )
    check_adapter_name(options.adapter)
    return Stream(make_plan(stream, options))


l0 = run


class _OneShot:
    """A 'factory' for a stream that already exists: it can be opened once."""

    def __init__(self, stream: Any) -> None:
        self._stream: Any = stream

    def __call__(self) -> Any:
        stream, self._stream = self._stream, None
        if stream is None:
            raise Error(
                "A wrapped stream can be read only once; use l0.run(stream=lambda: ...) "
                "to let l0 re-create it",
                code=ErrorCode.INVALID_STREAM,
            )
        return stream


def _is_stream(value: Any) -> bool:
    return hasattr(value, "__aiter__") or hasattr(value, "__await__")


class RunKeywordsBesidesFallbacks(TypedDict, total=False):
    """The options of `l0.run` but `fallbacks`, as keyword arguments for type checkers
    (`l0.structured` takes streams as fallbacks too, so it types them itself)."""

    guardrails: Sequence[GuardrailRule] | None
    retry: Retry | None
    timeout: Timeout | None
    adapter: Any
    on_event: EventHandler | None
    context: dict[str, Any] | None
    continue_from_last_good_token: bool | ContinuationConfig
    build_continuation_prompt: Callable[[str], str] | None
    check_interval: int
    event_store: EventStore | None
    drift_detector: DriftDetector | None
    breaker: CircuitBreaker | None
    route_health: RouteHealthStore | bool | None
    hedge_after: float | None


class RunKeywords(RunKeywordsBesidesFallbacks, total=False):
    """The options of `l0.run`, `l0.wrap` and the other entry points as keyword arguments,
    for type checkers (`**options: Unpack[RunKeywords]`). `l0.RunOptions` is their one
    definition (a TypedDict cannot be derived from a dataclass for a type checker, and the
    `wrap` overloads need one); a test keeps these keys equal to its fields."""

    fallbacks: Sequence[StreamFactory] | None


@overload
def wrap(
    client_or_stream: AsyncIterable[Any] | Awaitable[Any], **options: Unpack[RunKeywords]
) -> LazyStream: ...
@overload
def wrap(client_or_stream: Any, **options: Unpack[RunKeywords]) -> WrappedClient: ...
def wrap(
    client_or_stream: Any,
    *,
    guardrails: Sequence[GuardrailRule] | None = None,
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    continue_from_last_good_token: bool | ContinuationConfig = False,
    adapter: Any = None,
    on_event: EventHandler | None = None,
    context: dict[str, Any] | None = None,
    build_continuation_prompt: Callable[[str], str] | None = None,
    check_interval: int = DEFAULT_CHECK_INTERVAL,
    event_store: EventStore | None = None,
    drift_detector: DriftDetector | None = None,
    route_health: RouteHealthStore | bool | None = None,
    fallbacks: Sequence[StreamFactory] | None = None,
    breaker: CircuitBreaker | None = None,
    hedge_after: float | None = None,
) -> LazyStream | WrappedClient:
    """Wrap a client (OpenAI / LiteLLM) for reliable streaming everywhere, or a single raw
    stream for one-off use (no await needed; no retries, since it cannot be re-created).
    It takes the options of `l0.run`; a wrapped client applies them to every streaming
    request (`fallbacks` being factories such as `other.chat.completions.factory(...)`)."""
    options = RunOptions(
        fallbacks=fallbacks,
        guardrails=guardrails,
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
    )
    check_adapter_name(options.adapter)
    if not _is_stream(client_or_stream):
        from l0.client import wrap_client

        return wrap_client(client_or_stream, options)
    if options.retry is not None or options.continue_from_last_good_token:
        raise Error(
            "Retries and continuation need a way to re-create the stream, which a stream "
            "passed to wrap() does not have; use l0.run(stream=lambda: ..., retry=...) or wrap "
            "the client instead",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    plan = make_plan(_OneShot(client_or_stream), options.merge(_ONE_ATTEMPT))
    return LazyStream(plan)


# What `run(stream)` builds when no option is given (the defaults of its signature).
_RUN_DEFAULTS = RunOptions(
    continue_from_last_good_token=False, check_interval=DEFAULT_CHECK_INTERVAL
)
_ONE_ATTEMPT = RunOptions(retry=Retry(attempts=0, max_retries=0))  # wrap(stream): no retries

__all__ = ["RunKeywords", "RunKeywordsBesidesFallbacks", "RunOptions", "l0", "run", "wrap"]
