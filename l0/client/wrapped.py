"""`WrappedClient`: an OpenAI-style client (or a LiteLLM-style `acompletion`) behind l0.

    client = l0.wrap(AsyncOpenAI())
    response = await client.chat.completions.create(model=..., messages=..., stream=True)
    async for event in response: ...           # an l0.Stream: retries, timeouts, continuation

`chat.completions.create(..., stream=True)` returns an `l0.Stream` whose attempts each
re-issue the request (`ChatRequest`). Without `stream=True` the call goes straight to the
SDK, unchanged. Every other attribute is the wrapped client's own.

l0 owns retrying, so the calls it makes must not retry underneath it: for an OpenAI client
they go through `client.with_options(max_retries=0)` (a copy sharing its connection pool; the
client you passed is not changed), for LiteLLM with `num_retries=0`. A streaming request that
does not say `stream_options` gets `{"include_usage": True}`, so the usage reaches
`state.usage` and the COMPLETE event.

`_Target` is what differs between the two kinds of wrapped object; everything else is shared.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from l0.adapters import Adapters
from l0.adapters.registry import check_adapter_name
from l0.client.request import ChatRequest, PrefillMemory
from l0.continuation import ContinuationConfig
from l0.errors import Error, ErrorCode
from l0.guardrails.types import GuardrailRule
from l0.monitoring.redact import remember_sdk_key, remember_secret
from l0.observability import EventHandler
from l0.retry import Retry
from l0.routes.keys import route_key
from l0.runtime.options import RunOptions, StreamFactory
from l0.runtime.plan import make_plan
from l0.runtime.stream import Stream
from l0.timeout import Timeout

if TYPE_CHECKING:
    from l0.breaker import CircuitBreaker
    from l0.drift import DriftDetector
    from l0.eventsourcing.store import EventStore
    from l0.routes import RouteHealthStore


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _package(obj: Any) -> str:
    """The top-level package that defines `obj` (a function, a partial of one, a client)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        module = getattr(obj, "__module__", None) or ""
    else:
        module = type(obj).__module__
    return module.split(".")[0]


class _Target:
    """The wrapped object: how l0 calls it, and how a call passes straight through."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        remember_sdk_key(raw)  # its API key is scrubbed from every sink
        self.prefill = PrefillMemory()  # shared by every client with_options makes from it
        self._quiet_client: Any = None
        package = _package(raw)
        completions = getattr(getattr(raw, "chat", None), "completions", None)
        create: Any = getattr(completions, "create", None)
        self.is_client = callable(create)
        self.litellm = not self.is_client and package == "litellm"
        # An openai SDK client can take the lean stream path (l0/client/lean.py).
        self.openai = (
            self.is_client
            and package == "openai"
            and hasattr(completions, "with_streaming_response")
        )
        self._lean_call: Callable[..., Awaitable[Any]] | None = None
        if self.is_client:
            if package == "openai" and not type(raw).__name__.startswith("Async"):
                raise _invalid(
                    f"l0 streams asynchronously: wrap an async client (AsyncOpenAI, "
                    f"AsyncAzureOpenAI), not {type(raw).__name__}"
                )
            self.passthrough: Callable[..., Awaitable[Any]] = create
        elif callable(raw) and not isinstance(raw, type):
            if self.litellm and not inspect.iscoroutinefunction(raw):
                raise _invalid(
                    "l0 streams asynchronously: wrap litellm.acompletion, not a synchronous "
                    "completion function"
                )
            self.passthrough = raw
        else:
            raise _invalid(
                f"l0.wrap() takes an async client with chat.completions.create (AsyncOpenAI), "
                f"an acompletion-style async function (litellm.acompletion), or a stream; got "
                f"{type(raw).__name__}"
            )

    def route(self, request: dict[str, Any]) -> str | None:
        """The route key of a request: its model at the client's base URL (l0.routes)."""
        model = request.get("model")
        if not isinstance(model, str):
            return None
        base_url = request.get("api_base") or request.get("base_url")
        if base_url is None and self.is_client:
            base_url = getattr(self.raw, "base_url", None)
        return route_key(model, base_url)

    def streaming_call(self, *, lean: bool = False) -> Callable[..., Awaitable[Any]]:
        """The SDK call l0 makes for each attempt: one that never retries by itself. With
        `lean`, an `openai` client's call reads the body itself (`LeanChatStream`)."""
        if self.litellm:
            return functools.partial(self.passthrough, num_retries=0)
        if not self.is_client:
            return self.passthrough
        client = self._quiet_client_()
        if lean and self.openai:
            if self._lean_call is None:
                from l0.client.lean import lean_call  # jiter loads with the first openai call

                self._lean_call = lean_call(client.chat.completions)
            return self._lean_call
        create: Callable[..., Awaitable[Any]] = client.chat.completions.create
        return create

    def _quiet_client_(self) -> Any:
        client = self._quiet_client
        if client is None:
            client = self.raw
            with_options = getattr(client, "with_options", None)
            if callable(with_options) and getattr(client, "max_retries", 0) != 0:
                client = with_options(max_retries=0)
            self._quiet_client = client
        return client


_RETRY_ARGUMENTS = ("max_retries", "num_retries")


class WrappedCompletions:
    """`client.chat.completions` of a wrapped client."""

    def __init__(self, owner: WrappedClient) -> None:
        self._owner = owner

    @overload
    async def create(self, *, stream: Literal[True], **kwargs: Any) -> Stream: ...

    @overload
    async def create(self, *, stream: Literal[False] = ..., **kwargs: Any) -> Any: ...

    async def create(self, **kwargs: Any) -> Any:
        """With `stream=True`: an `l0.Stream` of the request, with l0's reliability.
        Otherwise: the SDK's own answer, as if the client were not wrapped."""
        owner = self._owner
        if kwargs.get("stream") is not True:
            return await owner._target.passthrough(**kwargs)
        # What `l0.run` does, without importing the entry points (l0.runtime.api imports
        # this package for `wrap`): the client sits below them in the layers.
        return Stream(make_plan(self.factory(**kwargs), owner.options))

    def factory(self, **kwargs: Any) -> ChatRequest:
        """The request as a stream factory for `l0.run` (as `stream=` or in `fallbacks=`):
        each attempt re-issues it, continuations resume it, and the SDK does not retry."""
        if kwargs.get("stream", True) is not True:
            raise _invalid("factory() makes streaming requests: leave out stream or pass True")
        for name in _RETRY_ARGUMENTS:
            if kwargs.get(name):
                raise _invalid(
                    f"{name}={kwargs[name]!r}: l0 owns retrying for wrapped calls (the SDK "
                    "would retry underneath it); configure it with l0.wrap(..., retry=l0.Retry())"
                )
        remember_secret(kwargs.get("api_key"))  # a litellm call's own key: scrubbed everywhere
        request = {**kwargs, "stream": True}
        request.setdefault("stream_options", {"include_usage": True})
        target = self._owner._target
        # The lean path reads the body as l0 events; it stands in for the built-in OpenAI
        # adapter only, so an adapter of the user's (given or registered) keeps the SDK path.
        lean = self._owner.options.adapter is None and not Adapters.registered()
        return ChatRequest(
            target.streaming_call(lean=lean), request, target.prefill, target.route(request)
        )

    def __getattr__(self, name: str) -> Any:
        target = self._owner._target
        if not target.is_client:
            raise AttributeError(f"a wrapped acompletion function has no completions.{name}")
        return getattr(target.raw.chat.completions, name)


class WrappedChat:
    """`client.chat` of a wrapped client."""

    def __init__(self, owner: WrappedClient) -> None:
        self._owner = owner
        self.completions = WrappedCompletions(owner)

    def __getattr__(self, name: str) -> Any:
        target = self._owner._target
        if not target.is_client:
            raise AttributeError(f"a wrapped acompletion function has no chat.{name}")
        return getattr(target.raw.chat, name)


class WrappedClient:
    """An OpenAI/LiteLLM client with l0's reliability on every streaming call.

    Returned by `l0.wrap(client)`. It mirrors the client: `chat.completions.create(...)`
    (with `stream=True`, an `l0.Stream`), every other attribute the client's own. A wrapped
    `litellm.acompletion` has the same `chat.completions.create` and can also be called like
    `acompletion` itself.
    """

    def __init__(self, target: _Target, options: RunOptions) -> None:
        self._target = target
        self.options = options
        self.chat = WrappedChat(self)

    @property
    def unwrapped(self) -> Any:
        """The client (or function) that was wrapped, unchanged."""
        return self._target.raw

    def with_options(
        self,
        *,
        guardrails: Sequence[GuardrailRule] | None = None,
        retry: Retry | None = None,
        timeout: Timeout | None = None,
        continue_from_last_good_token: ContinuationConfig | bool | None = None,
        adapter: Any = None,
        on_event: EventHandler | None = None,
        context: dict[str, Any] | None = None,
        build_continuation_prompt: Callable[[str], str] | None = None,
        check_interval: int | None = None,
        event_store: EventStore | None = None,
        drift_detector: DriftDetector | None = None,
        route_health: RouteHealthStore | bool | None = None,
        fallbacks: Sequence[StreamFactory] | None = None,
        breaker: CircuitBreaker | None = None,
        hedge_after: float | None = None,
    ) -> WrappedClient:
        """A new wrapped client over the same client with these options changed (None
        keeps an option as it is; `guardrails=[]` drops the guardrails)."""
        changes = RunOptions(
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
        check_adapter_name(changes.adapter)
        return WrappedClient(self._target, self.options.merge(changes))

    async def __call__(self, model: str | None = None, **kwargs: Any) -> Any:
        """`acompletion(model=..., messages=..., stream=True)` for a wrapped function."""
        if self._target.is_client:
            raise TypeError(
                "a wrapped client is not callable; use client.chat.completions.create(...)"
            )
        if model is not None:
            kwargs["model"] = model
        return await self.chat.completions.create(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target.raw, name)

    def __repr__(self) -> str:
        return f"WrappedClient({self._target.raw!r})"


def wrap_client(client: Any, options: RunOptions) -> WrappedClient:
    """What `l0.wrap(client, ...)` returns for a client or an acompletion-style function."""
    if isinstance(client, WrappedClient):
        raise _invalid(
            "this client is wrapped already; use client.with_options(...) to change its options"
        )
    return WrappedClient(_Target(client), options)


__all__ = ["WrappedChat", "WrappedClient", "WrappedCompletions", "wrap_client"]
