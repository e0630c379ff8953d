"""The wrapped client's own behaviour: what it wraps, its options, the requests it makes.

Requests go to an acompletion-style async function written here, which records the keyword
arguments of every call and answers with scripted streams, so each request l0 sends can be
inspected. The real SDKs against a server are in tests/integration.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

import l0
from l0.client import ChatRequest, WrappedClient
from l0.client.request import prefill_messages, prompted_messages
from l0.runtime.stream import Stream
from l0.testing import Script, ScriptedStream
from l0.types import EventType

pytestmark = pytest.mark.anyio

USER = [{"role": "user", "content": "Say hello"}]
FAST = l0.Retry(base_delay=0.0, strategy=l0.BackoffStrategy.FIXED)


class Completion:
    """An acompletion-style function: plays one script per call and records the calls."""

    def __init__(self, *scripts: Script, refuse_prefill: bool = False) -> None:
        self.scripts = list(scripts)
        self.calls: list[dict[str, Any]] = []
        self.refuse_prefill = refuse_prefill

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if kwargs.get("stream") is not True:
            return {"whole": True, **kwargs}
        if self.refuse_prefill and kwargs["messages"][-1]["role"] == "assistant":
            raise Refused()
        script = self.scripts.pop(0) if len(self.scripts) > 1 else self.scripts[0]
        return ScriptedStream(script)


class Refused(Exception):
    """A 400 with the code a target sends when it refuses an assistant prefill."""

    status_code = 400
    body: dict[str, Any] = {"code": "prefill_not_supported", "message": "no prefill"}  # noqa: RUF012


async def text_of(stream: Stream) -> str:
    text = ""
    async for event in stream:
        if event.is_token:
            text += event.text or ""
        elif event.type is EventType.RESET:
            assert event.data is not None
            text = text[: event.data["kept"]]
    return text


# -- what can be wrapped ------------------------------------------------------------------


def test_wrap_returns_a_wrapped_client_for_an_async_openai_client() -> None:
    raw = openai.AsyncOpenAI(api_key="test", base_url="http://127.0.0.1:9/v1")
    client = l0.wrap(raw)
    assert isinstance(client, WrappedClient)
    assert client.unwrapped is raw
    assert client.api_key == "test"  # other attributes are the client's own
    assert client.chat.completions.with_raw_response is not None


def test_a_synchronous_openai_client_is_refused_clearly() -> None:
    with pytest.raises(l0.Error, match="AsyncOpenAI") as caught:
        l0.wrap(openai.OpenAI(api_key="test"))
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("thing", [42, "gpt-4o", object()])
def test_something_that_is_no_client_is_refused_clearly(thing: object) -> None:
    with pytest.raises(l0.Error, match=r"chat\.completions\.create") as caught:
        l0.wrap(thing)
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


def test_wrapping_a_wrapped_client_points_to_with_options() -> None:
    client = l0.wrap(Completion(Script.tokens("x")))
    with pytest.raises(l0.Error, match="with_options"):
        l0.wrap(client)


def test_bad_options_are_refused_when_wrapping_not_at_the_first_request() -> None:
    with pytest.raises(l0.Error, match=r"retry must be an l0\.Retry"):
        l0.wrap(Completion(Script.tokens("x")), retry=3)  # type: ignore[arg-type]


# -- options ------------------------------------------------------------------------------


def test_with_options_returns_a_new_client_with_merged_options() -> None:
    raw = openai.AsyncOpenAI(api_key="test")
    client = l0.wrap(raw, retry=FAST, context={"tenant": "acme"})
    strict = client.with_options(
        guardrails=l0.Guardrails.strict(), continue_from_last_good_token=True
    )
    assert strict is not client and strict.unwrapped is raw
    assert strict.options.retry is FAST and strict.options.context == {"tenant": "acme"}
    assert strict.options.continue_from_last_good_token is True
    assert len(strict.options.guardrails) == len(l0.Guardrails.strict())
    assert client.options.guardrails == () and client.options.continue_from_last_good_token is False
    assert strict.with_options(guardrails=[]).options.guardrails == ()


def test_with_options_checks_what_it_is_given() -> None:
    client = l0.wrap(openai.AsyncOpenAI(api_key="test"))
    with pytest.raises(l0.Error, match="check_interval"):
        client.with_options(check_interval=0)


def test_options_become_the_runs_arguments() -> None:
    options = l0.wrap(openai.AsyncOpenAI(api_key="test"), retry=FAST, check_interval=3).options
    arguments = options.as_kwargs()
    assert arguments["retry"] is FAST and arguments["check_interval"] == 3
    assert set(arguments) <= set(l0.run.__kwdefaults__ or {})


# -- the requests it makes ---------------------------------------------------------------


async def test_a_streaming_create_is_an_l0_stream_over_a_re_issued_request() -> None:
    completion = Completion(Script.tokens("Hel", fail_at=2, error=ConnectionResetError()),
                            Script.tokens("Hello"))  # fmt: skip
    client = l0.wrap(completion, retry=FAST)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    assert isinstance(stream, Stream)
    assert await text_of(stream) == "Hello"
    assert len(completion.calls) == 2
    assert completion.calls[0] == completion.calls[1] == {
        "model": "m",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_a_request_that_says_stream_options_keeps_them() -> None:
    completion = Completion(Script.tokens("ok"))
    client = l0.wrap(completion)
    stream = await client.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": False}
    )
    await stream.read()
    assert completion.calls[0]["stream_options"] == {"include_usage": False}


async def test_non_streaming_calls_pass_through_unchanged() -> None:
    completion = Completion(Script.tokens("x"))
    client = l0.wrap(completion)
    answer = await client.chat.completions.create(model="m", messages=USER)
    assert answer == {"whole": True, "model": "m", "messages": USER}


async def test_an_event_store_records_every_streaming_call() -> None:
    from l0.eventsourcing.store import InMemoryEventStore

    store = InMemoryEventStore()
    client = l0.wrap(Completion(Script.tokens("hi")), event_store=store)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    assert await stream.read() == "hi"
    assert stream.stream_id is not None
    assert await store.list_streams() == [stream.stream_id]


async def test_a_wrapped_function_can_be_called_like_acompletion() -> None:
    completion = Completion(Script.tokens("hi"))
    client = l0.wrap(completion)
    stream = await client("m", messages=USER, stream=True)
    assert await stream.read() == "hi"
    assert completion.calls[0]["model"] == "m"


async def test_a_wrapped_client_is_not_callable() -> None:
    client = l0.wrap(openai.AsyncOpenAI(api_key="test"))
    with pytest.raises(TypeError, match=r"chat\.completions\.create"):
        await client(model="m")


@pytest.mark.parametrize("argument", ["max_retries", "num_retries"])
async def test_sdk_retries_cannot_be_asked_for_on_a_wrapped_call(argument: str) -> None:
    client = l0.wrap(Completion(Script.tokens("x")))
    with pytest.raises(l0.Error, match="l0 owns retrying"):
        await client.chat.completions.create(model="m", messages=USER, stream=True, **{argument: 2})


def test_factory_makes_a_request_for_run_and_refuses_non_streaming() -> None:
    client = l0.wrap(Completion(Script.tokens("x")))
    request = client.chat.completions.factory(model="m", messages=USER)
    assert isinstance(request, ChatRequest) and request.kwargs["stream"] is True
    with pytest.raises(l0.Error, match="streaming"):
        client.chat.completions.factory(model="m", messages=USER, stream=False)


# -- continuation requests -----------------------------------------------------------------


def test_a_prefill_appends_the_checkpoint_as_an_assistant_message() -> None:
    assert prefill_messages(USER, "Hello") == [*USER, {"role": "assistant", "content": "Hello"}]


def test_a_prefill_extends_the_users_own_assistant_prefill() -> None:
    own = [*USER, {"role": "assistant", "content": "{"}]
    assert prefill_messages(own, '"a": 1') == [*USER, {"role": "assistant", "content": '{"a": 1'}]


def test_a_continuation_prompt_is_a_user_message_after_the_checkpoint() -> None:
    assert prompted_messages(USER, "Hello", "go on") == [
        *USER,
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "go on"},
    ]


async def test_continuation_sends_the_checkpoint_as_a_prefill() -> None:
    completion = Completion(
        Script.tokens("Hello wor", size=3, fail_at=2, error=ConnectionResetError()),
        Script(chunks=["lo wor", "ld"]),
    )
    client = l0.wrap(completion, retry=FAST, continue_from_last_good_token=True)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    assert await text_of(stream) == "Hello world"
    assert completion.calls[1]["messages"] == [*USER, {"role": "assistant", "content": "Hello "}]


async def test_a_refused_prefill_restarts_the_target_and_is_remembered() -> None:
    completion = Completion(
        Script.tokens("Hello", fail_at=3, error=ConnectionResetError()),
        Script.tokens("Hello"),
        refuse_prefill=True,
    )
    client = l0.wrap(completion, retry=FAST, continue_from_last_good_token=True)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    assert await text_of(stream) == "Hello"
    assert [call["messages"][-1]["role"] for call in completion.calls] == [
        "user",
        "assistant",
        "user",
    ]
    # another client over the same function, made by with_options, knows it too
    completion.scripts = [Script.tokens("Hi", fail_at=1, error=ConnectionResetError()),
                          Script.tokens("Hi")]  # fmt: skip
    again = client.with_options(context={"run": 2})
    stream = await again.chat.completions.create(model="m", messages=USER, stream=True)
    assert await text_of(stream) == "Hi"
    assert [call["messages"][-1]["role"] for call in completion.calls[3:]] == ["user", "user"]


async def test_a_restart_is_not_offered_to_should_retry_nor_counted_as_a_retry() -> None:
    asked: list[BaseException] = []

    def should_retry(error: BaseException, *_: object) -> bool:
        asked.append(error)
        return True

    completion = Completion(
        Script.tokens("Hello", fail_at=3, error=ConnectionResetError()),
        Script.tokens("Hello"),
        refuse_prefill=True,
    )
    retry = l0.Retry(base_delay=0.0, strategy=l0.BackoffStrategy.FIXED, should_retry=should_retry)
    client = l0.wrap(completion, retry=retry, continue_from_last_good_token=True)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    assert await text_of(stream) == "Hello"
    assert [type(error) for error in asked] == [ConnectionResetError]
    assert (stream.state.network_retry_count, stream.state.model_retry_count) == (1, 0)


@pytest.mark.parametrize("max_retries", [1, 0])
async def test_a_restart_is_made_even_when_the_retry_before_it_spent_the_budget(
    max_retries: int,
) -> None:
    """With max_retries=1 the drop's retry spends the budget, and the refused continuation
    still restarts; with 0 there is no continuation to refuse and the drop is the error."""
    completion = Completion(
        Script.tokens("Hello", fail_at=3, error=ConnectionResetError()),
        Script.tokens("Hello"),
        refuse_prefill=True,
    )
    retry = l0.Retry(max_retries=max_retries, base_delay=0.0, strategy=l0.BackoffStrategy.FIXED)
    client = l0.wrap(completion, retry=retry, continue_from_last_good_token=True)
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    if max_retries:
        assert await text_of(stream) == "Hello"
        assert len(completion.calls) == 3
    else:
        with pytest.raises(l0.Error) as caught:
            await stream.read()
        assert isinstance(caught.value.__cause__, ConnectionResetError)


async def test_build_continuation_prompt_must_return_text() -> None:
    completion = Completion(
        Script.tokens("Hello", fail_at=3, error=ConnectionResetError()), Script.tokens("lo")
    )
    client = l0.wrap(
        completion,
        retry=l0.Retry(attempts=0, max_retries=1, base_delay=0.0),
        continue_from_last_good_token=True,
        build_continuation_prompt=lambda checkpoint: 42,  # type: ignore[arg-type,return-value]
    )
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(l0.Error, match="must return a str"):
        await stream.read()
