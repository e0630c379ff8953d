"""The lean stream path against the SDK path: the same bytes give the same run.

A wrapped `AsyncOpenAI` reads stream bodies itself (l0/client/lean.py) unless an adapter is
given (`adapter="openai"` keeps the SDK's chunk objects). Hypothesis writes SSE bodies a
server might send (text with unicode split across chunks and across TCP writes, tool calls
with interleaved indices, usage-only chunks, empty choices, refusals, comments,
keep-alives, CR line ends, malformed lines, error events, an early close) and a
`FaultServer` plays each one to both paths: the events, the final state and the errors
must be identical, on asyncio and trio. The decoding alone is checked in test_sse_decoder.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

import anyio
import openai
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.client.lean import LeanChatStream
from l0.testing import ErrorReply, FaultServer, PageReply, RawReply, Reply, ResetConnection

USER = [{"role": "user", "content": "Say hello"}]
RETRY = l0.Retry(attempts=1, max_retries=1, base_delay=0.0, strategy=l0.BackoffStrategy.FIXED)
BACKENDS = ["asyncio", "trio"]

# -- bodies a server might send ---------------------------------------------------------------

texts = st.lists(
    st.sampled_from(["a", "b", " ", ".", "\n", "é", "ß", "中", "🙂", "👩‍💻", "\u0301"]), max_size=6
).map("".join)


@st.composite
def choices(draw: st.DrawFn) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if draw(st.booleans()):
        delta["content"] = draw(st.one_of(st.none(), texts))
    if draw(st.integers(0, 5)) == 0:
        delta["refusal"] = draw(texts)
    if draw(st.integers(0, 2)) == 0:
        fragments = []
        for _ in range(draw(st.integers(1, 3))):
            fragment: dict[str, Any] = {"index": draw(st.sampled_from([0, 1, 2, None]))}
            if fragment["index"] is None:
                del fragment["index"]
            if draw(st.booleans()):
                fragment["id"] = draw(st.sampled_from(["call_a", "call_b"]))
                fragment["type"] = "function"
            function: dict[str, Any] = {}
            if draw(st.booleans()):
                function["name"] = draw(st.sampled_from(["get_weather", "search"]))
            function["arguments"] = draw(st.sampled_from(['{"q', '": "x', "é", '"}', "", "1"]))
            fragment["function"] = function
            fragments.append(fragment)
        delta["tool_calls"] = fragments
    choice: dict[str, Any] = {"index": draw(st.sampled_from([0, 0, 0, 1])), "delta": delta}
    choice["finish_reason"] = draw(
        st.one_of(st.none(), st.none(), st.sampled_from(["stop", "length", "tool_calls"]))
    )
    choice["logprobs"] = draw(st.one_of(st.none(), logprobs()))
    return choice


@st.composite
def logprobs(draw: st.DrawFn) -> dict[str, Any]:
    """`choices[].logprobs` as OpenAI sends it when the request set `logprobs=True`."""

    def entry(top: bool) -> dict[str, Any]:
        token = draw(st.sampled_from(["a", " b", "é", "🙂"]))
        item: dict[str, Any] = {
            "token": token,
            "logprob": draw(st.sampled_from([0, -1, -0.25, -9.5e-05])),
            "bytes": list(token.encode()),
        }
        if top:
            item["top_logprobs"] = [entry(False) for _ in range(draw(st.integers(0, 2)))]
        return item

    content = None
    if draw(st.booleans()):
        content = [entry(True) for _ in range(draw(st.integers(0, 2)))]
    return {"content": content, "refusal": None}


@st.composite
def chunk_events(draw: st.DrawFn) -> bytes:
    chunk: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk"}
    if draw(st.booleans()):
        chunk["model"] = draw(st.sampled_from(["gpt-x", "gpt-y", ""]))
    chunk["choices"] = draw(st.one_of(st.just([]), st.lists(choices(), min_size=1, max_size=2)))
    if draw(st.integers(0, 3)) == 0:
        chunk["usage"] = draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {"prompt_tokens": st.integers(0, 9), "completion_tokens": st.integers(0, 9)},
                    optional={"total_tokens": st.integers(0, 9), "extra": st.booleans()},
                ),
            )
        )
    end = draw(st.sampled_from(["\n\n", "\r\n\r\n", "\r\r", "\n\n\n"]))
    return f"data: {json.dumps(chunk, ensure_ascii=False)}{end}".encode()


oddities = st.sampled_from(
    [
        b": keep-alive\n\n",
        b"\n",
        b"\r\n",
        b'data: {"choices": [{"index": 0, "delta": {"con\n\n',  # malformed JSON
        b'data: {"error": {"message": "The server is overloaded", "type": "server_error"}}\n\n',
        b'event: error\ndata: {"error": {"message": "boom", "code": "x"}}\n\n',
        b'data: {"error": {"message": 5}}\n\n',
        b'data: {"error": "plain"}\n\n',
        b'data: {"error": null, "choices": []}\n\n',
        b'event: thread.message\ndata: {"a": 1}\n\n',
        b'data: {"choices":\ndata: []}\n\n',
        b"data: [1, 2]\n\n",
        b'data: "text"\n\n',
        b"data: \xff\n\n",
        # (NaN only where the SDK path does not serialise it: pydantic warns on a NaN count)
        b'data: {"x": NaN, "choices": []}\n\n',
        b"retry: 100\n\n",
        b"id: 7\n",
        b"data: [DONE]\n\n",
    ]
)

finish = (
    b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n\n'
)


@st.composite
def bodies(draw: st.DrawFn) -> RawReply:
    parts = draw(st.lists(st.one_of(chunk_events(), chunk_events(), oddities), max_size=10))
    ending = draw(st.sampled_from(["finish+done", "finish+done", "done", "finish", "none"]))
    if "finish" in ending:
        parts.append(finish)
    if "done" in ending:
        parts.append(b"data: [DONE]\n\n")
    body = b"".join(parts)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=4)))
    bounds = [0, *cuts, len(body)]
    writes = [body[start:end] for start, end in itertools.pairwise(bounds)]
    return RawReply(writes, gap=0.001 if len(writes) > 1 else 0.0, cut=draw(st.booleans()))


# -- playing a body to both paths ----------------------------------------------------------------


def describe_error(error: BaseException | None) -> Any:
    if error is None:
        return None
    described: dict[str, Any] = {"type": type(error).__name__, "text": str(error)}
    for name in ("code", "body", "status_code"):
        value = getattr(error, name, None)
        if value is not None:
            described[name] = str(value)
    cause = error.__cause__
    if cause is not None:
        described["cause"] = describe_error(cause)
    return described


def describe_data(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: describe_data(value)
            for key, value in data.items()
            if key not in ("timestamp", "ts", "duration", "elapsed")
        }
    if isinstance(data, list):
        return [describe_data(item) for item in data]
    if isinstance(data, BaseException):
        return describe_error(data)
    return data


def describe_state(state: l0.State) -> dict[str, Any]:
    return {
        "content": state.content,
        "checkpoint": state.checkpoint,
        "token_count": state.token_count,
        "completed": state.completed,
        "aborted": state.aborted,
        "finish_reason": state.finish_reason,
        "model": state.model,
        "model_retry_count": state.model_retry_count,
        "network_retry_count": state.network_retry_count,
        "fallback_index": state.fallback_index,
        "tool_calls": describe_data(state.tool_calls),
        "usage": None if state.usage is None else list(state.usage.items()),
        "violations": [repr(violation) for violation in state.violations],
        "network_errors": describe_data(list(state.network_errors)),
    }


async def play(client: l0.WrappedClient, model: str) -> dict[str, Any]:
    stream = await client.chat.completions.create(model=model, messages=USER, stream=True)
    events = []
    raised = None
    try:
        async for event in stream:
            events.append(
                (
                    event.type,
                    event.text,
                    describe_data(event.data),
                    None if event.usage is None else list(event.usage.items()),  # in order
                    describe_error(event.error),
                )
            )
    except Exception as exc:
        raised = describe_error(exc)
    return {"events": events, "raised": raised, "state": describe_state(stream.state)}


async def both_paths(server: FaultServer, model: str, steps: list[Any]) -> tuple[Any, Any]:
    server.script(f"{model}-lean", steps)
    server.script(f"{model}-sdk", steps)
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        lean = l0.wrap(raw, retry=RETRY)
        sdk = lean.with_options(adapter="openai")
        return await play(lean, f"{model}-lean"), await play(sdk, f"{model}-sdk")


_examples = itertools.count()
# First answers that fail, or are no event stream at all (a portal's HTML page, a JSON body).
FAILED_REQUESTS = [
    ErrorReply(503),
    ErrorReply(400),
    ResetConnection(),
    PageReply(),
    PageReply('{"id": "x", "choices": []}', content_type="application/json"),
]


@settings(max_examples=60)
@given(
    first=st.one_of(bodies(), st.sampled_from(FAILED_REQUESTS)),
    second=bodies(),
    backend=st.sampled_from(BACKENDS),
)
def test_the_lean_path_runs_exactly_as_the_sdk_path(
    server: FaultServer, first: Any, second: RawReply, backend: str
) -> None:
    model = f"diff-{next(_examples)}"
    lean, sdk = anyio.run(both_paths, server, model, [first, second], backend=backend)
    assert lean == sdk


# -- the path switch, and closing --------------------------------------------------------------

SLOW_CHUNK = b'data: {"choices": [{"delta": {"content": "a"}}]}\n\n'


class Recording:
    """A wrapped request as a stream factory that keeps what each attempt opened."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.opened: list[Any] = []

    def __call__(self) -> Any:
        return self.l0_open(continuation=None, build_continuation_prompt=None)

    async def l0_open(self, **kwargs: Any) -> Any:
        stream = await self.request.l0_open(**kwargs)
        self.opened.append(stream)
        return stream


@pytest.mark.anyio
async def test_a_wrapped_openai_client_reads_the_body_itself(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("lean")
    server.script(model, [Reply(["Hel", "lo"])] * 2)
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        client = l0.wrap(raw)
        lean = Recording(client.chat.completions.factory(model=model, messages=USER))
        assert await (await l0.run(stream=lean)).read() == "Hello"
        sdk = Recording(
            client.with_options(adapter="openai").chat.completions.factory(
                model=model, messages=USER
            )
        )
        assert await (await l0.run(stream=sdk, adapter="openai")).read() == "Hello"
    assert isinstance(lean.opened[0], LeanChatStream)
    assert isinstance(sdk.opened[0], openai.AsyncStream)
    assert lean.opened[0].http_response.is_closed


@pytest.mark.anyio
async def test_a_registered_adapter_keeps_the_sdk_path(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    class Marking:
        name = "marking"

        def detect(self, stream: Any) -> bool:
            return isinstance(stream, openai.AsyncStream)

        async def wrap(self, stream: Any) -> Any:
            async with contextlib.aclosing(l0.OpenAIAdapter().wrap(stream)) as events:
                async for event in events:
                    if event.is_token:
                        event = l0.Event(type=event.type, text=(event.text or "").upper())
                    yield event

    model = new_model("registered")
    server.script(model, [Reply(["Hel", "lo"])])
    l0.Adapters.register(Marking())
    try:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
            stream = await l0.wrap(raw).chat.completions.create(
                model=model, messages=USER, stream=True
            )
            assert await stream.read() == "HELLO"
    finally:
        l0.Adapters.unregister("marking")


@pytest.mark.anyio
async def test_leaving_early_closes_the_response(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("early")
    server.script(model, [RawReply([SLOW_CHUNK] * 3, gap=5)])
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        request = Recording(l0.wrap(raw).chat.completions.factory(model=model, messages=USER))
        with anyio.fail_after(4):
            async with await l0.run(stream=request) as stream:
                async for event in stream:
                    assert event.text == "a"
                    break
    assert request.opened[0].http_response.is_closed


@pytest.mark.anyio
async def test_abort_closes_the_response_at_once(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("abort")
    server.script(model, [RawReply([SLOW_CHUNK] * 3, gap=5)])
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        request = Recording(l0.wrap(raw).chat.completions.factory(model=model, messages=USER))
        stream = await l0.run(stream=request)

        async def abort_soon() -> None:
            await anyio.sleep(0.05)
            stream.abort()  # while the read waits for a chunk the server holds back

        with anyio.fail_after(4):
            async with anyio.create_task_group() as tasks:
                with pytest.raises(l0.Error) as caught:
                    async for event in stream:
                        assert event.text == "a"
                        tasks.start_soon(abort_soon)
        assert caught.value.code is l0.ErrorCode.STREAM_ABORTED
        assert stream.state.aborted
    assert request.opened[0].http_response.is_closed


@pytest.mark.anyio
async def test_an_inter_token_timeout_closes_the_response(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("silent")
    server.script(model, [RawReply([SLOW_CHUNK] * 3, gap=5)])
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        client = l0.wrap(
            raw, timeout=l0.Timeout(inter_token=100), retry=l0.Retry(attempts=0, max_retries=0)
        )
        request = Recording(client.chat.completions.factory(model=model, messages=USER))
        stream = await l0.run(stream=request, **client.options.as_kwargs())
        with anyio.fail_after(4), pytest.raises(l0.Error) as caught:
            async for event in stream:
                assert event.text == "a" or event.is_error
    assert caught.value.code is l0.ErrorCode.INTER_TOKEN_TIMEOUT
    assert request.opened[0].http_response.is_closed


@pytest.mark.anyio
async def test_an_azure_client_takes_the_lean_path_with_its_own_request(
    server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """The SDK still builds the request: Azure's api-key header and api-version query."""
    model = new_model("azure")
    server.script(model, [Reply(["Bon", "jour"])])
    async with openai.AsyncAzureOpenAI(
        base_url=server.base_url, api_key="azure-key", api_version="2024-10-21"
    ) as raw:
        request = Recording(l0.wrap(raw).chat.completions.factory(model=model, messages=USER))
        assert await (await l0.run(stream=request)).read() == "Bonjour"
    assert isinstance(request.opened[0], LeanChatStream)
    assert "api-version=2024-10-21" in str(request.opened[0].http_response.url)
    (recorded,) = server.requests_for(model)
    assert recorded.headers.get("api-key") == "azure-key"


async def adapter_events(server: FaultServer, model: str, body: RawReply) -> tuple[Any, Any]:
    """What each path's reader yields for `body`, before the runtime (which keeps only the
    finish reason, model and usage of COMPLETE): the lean stream's events, and
    `OpenAIAdapter.wrap` over the SDK's stream."""
    server.script(model, [body, body])
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        client = l0.wrap(raw)
        lean_stream = await client.chat.completions.factory(model=model, messages=USER)()
        sdk_stream = await client.with_options(adapter="openai").chat.completions.factory(
            model=model, messages=USER
        )()
        described = []
        for events in (aiter(lean_stream), l0.OpenAIAdapter().wrap(sdk_stream)):
            async with contextlib.aclosing(events):
                described.append(
                    [
                        (e.type, e.text, describe_data(e.data), e.usage, describe_error(e.error))
                        async for e in events
                    ]
                )
        return described[0], described[1]


@settings(max_examples=30)
@given(body=bodies(), backend=st.sampled_from(BACKENDS))
def test_the_lean_reader_yields_what_the_sdk_adapter_yields(
    server: FaultServer, body: RawReply, backend: str
) -> None:
    """Including what the runtime does not pass on: the refusal and the logprobs on COMPLETE."""
    model = f"reader-{next(_examples)}"
    lean, sdk = anyio.run(adapter_events, server, model, body, backend=backend)
    assert lean == sdk


def test_logprobs_are_read_alike(server: FaultServer) -> None:
    """A request that asked for logprobs gets the tokens' logprobs on the reader's COMPLETE,
    the same on both paths (the SDK makes floats of the numbers; so does the lean path)."""
    entry = {"token": "Hi", "logprob": -1, "bytes": [72, 105], "top_logprobs": []}
    choice = {"index": 0, "delta": {"content": "Hi"}, "logprobs": {"content": [entry]}}
    chunk = f"data: {json.dumps({'choices': [choice]})}\n\n".encode()
    body = RawReply([chunk, finish, b"data: [DONE]\n\n"])
    lean, sdk = anyio.run(adapter_events, server, f"logprobs-{next(_examples)}", body)
    assert lean == sdk
    complete = lean[-1]
    assert complete[0] is l0.EventType.COMPLETE
    assert complete[2]["logprobs"] == [{"token": "Hi", "logprob": -1.0, "bytes": [72, 105]}]


@pytest.mark.anyio
async def test_the_lean_path_builds_no_chunk_objects(
    server: FaultServer, new_model: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes it lean: the SDK never turns a chunk into a model object (the probe counts
    the SDK path's conversions, so it would see them)."""
    model = new_model("objects")
    server.script(model, [Reply(["Hel", "lo"])] * 2)
    convert = openai.AsyncOpenAI._process_response_data
    converted: list[Any] = []

    def counting(self: Any, **kwargs: Any) -> Any:
        converted.append(kwargs["data"])
        return convert(self, **kwargs)

    monkeypatch.setattr(openai.AsyncOpenAI, "_process_response_data", counting)
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        client = l0.wrap(raw)
        for wrapped, expected in ((client, 0), (client.with_options(adapter="openai"), 5)):
            stream = await wrapped.chat.completions.create(
                model=model, messages=USER, stream=True
            )
            assert await stream.read() == "Hello"
            assert len(converted) == expected  # role, 2 tokens, finish, usage
            converted.clear()


@pytest.mark.anyio
@pytest.mark.parametrize("adapter", [None, "openai"], ids=["lean", "sdk"])
async def test_the_runs_complete_passes_on_the_refusal_and_the_logprobs(
    server: FaultServer, new_model: Callable[[str], str], adapter: str | None
) -> None:
    """What the provider's COMPLETE carried beyond the finish reason and model reaches the
    consumer's COMPLETE event, on both paths of the wrapped client."""
    entry = {"token": "Hi", "logprob": -1, "bytes": [72, 105], "top_logprobs": []}
    choice = {"index": 0, "delta": {"content": "Hi", "refusal": "No."}}
    choice["logprobs"] = {"content": [entry]}
    chunk = f"data: {json.dumps({'choices': [choice]})}\n\n".encode()
    model = new_model("complete-extras")
    server.script(model, [RawReply([chunk, finish, b"data: [DONE]\n\n"])])
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test") as raw:
        client = l0.wrap(raw) if adapter is None else l0.wrap(raw, adapter=adapter)
        stream = await client.chat.completions.create(model=model, messages=USER, stream=True)
        events = [event async for event in stream]
    complete = events[-1]
    assert complete.type is l0.EventType.COMPLETE and complete.data is not None
    assert complete.data["refusal"] == "No."
    assert complete.data["logprobs"] == [{"token": "Hi", "logprob": -1.0, "bytes": [72, 105]}]
    assert complete.data["finish_reason"] == "stop"
