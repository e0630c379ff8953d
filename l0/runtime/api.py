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
from l0.runtime.plan import DEFAULT_CHECK_INTERVAL, StreamFactory, make_plan
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
    check_adapter_name(adapter)
    plan = make_plan(
        stream=stream,
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
    return Stream(plan)


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


class WrapOptions(TypedDict, total=False):
    """The keyword options of `wrap` (see `wrap`)."""

    guardrails: Sequence[GuardrailRule] | None
    retry: Retry | None
    timeout: Timeout | None
    continue_from_last_good_token: bool | ContinuationConfig
    adapter: Any
    on_event: EventHandler | None
    context: dict[str, Any] | None
    build_continuation_prompt: Callable[[str], str] | None
    check_interval: int
    event_store: EventStore | None
    drift_detector: DriftDetector | None
    route_health: RouteHealthStore | bool | None


@overload
def wrap(
    client_or_stream: AsyncIterable[Any] | Awaitable[Any], **options: Unpack[WrapOptions]
) -> LazyStream: ...
@overload
def wrap(client_or_stream: Any, **options: Unpack[WrapOptions]) -> WrappedClient: ...
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
) -> LazyStream | WrappedClient:
    """Wrap a client (OpenAI / LiteLLM) for reliable streaming everywhere, or a single raw
    stream for one-off use (no await needed; no retries, since it cannot be re-created)."""
    if not _is_stream(client_or_stream):
        from l0.client import wrap_client

        return wrap_client(
            client_or_stream,
            guardrails=guardrails,
            retry=retry,
            timeout=timeout,
            continue_from_last_good_token=continue_from_last_good_token,
            adapter=adapter,
            on_event=on_event,
            context=context,
            build_continuation_prompt=build_continuation_prompt,
            check_interval=check_interval,
            # passed only when set, so a client wrapper without recording support still works
            **({"event_store": event_store} if event_store is not None else {}),
            **({"drift_detector": drift_detector} if drift_detector is not None else {}),
            **({"route_health": route_health} if route_health is not None else {}),
        )
    if retry is not None or continue_from_last_good_token:
        raise Error(
            "Retries and continuation need a way to re-create the stream, which a stream "
            "passed to wrap() does not have; use l0.run(stream=lambda: ..., retry=...) or wrap "
            "the client instead",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    check_adapter_name(adapter)
    plan = make_plan(
        stream=_OneShot(client_or_stream),
        guardrails=guardrails,
        retry=Retry(attempts=0, max_retries=0),
        timeout=timeout,
        adapter=adapter,
        on_event=on_event,
        context=context,
        check_interval=check_interval,
        event_store=event_store,
        drift_detector=drift_detector,
    )
    return LazyStream(plan)


__all__ = ["l0", "run", "wrap"]
