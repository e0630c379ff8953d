"""FaultServer over real HTTP: sync clients (urllib), and the openai SDK on asyncio and trio.

What each SDK raises for each fault, and what the adapters make of it, is tested in
tests/adapters; here the server's own behaviour: bytes on the wire, scripts, recordings,
prefill rejection and shutdown.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from openai import (
    APIConnectionError,
    AsyncOpenAI,
    BadRequestError,
    NotFoundError,
    RateLimitError,
)

from l0.errors import Error, ErrorCode
from l0.testing import (
    PREFILL_REJECTION,
    ErrorReply,
    FaultServer,
    Reply,
    ResetConnection,
    Stall,
    ToolCall,
)

USER: Any = [{"role": "user", "content": "Say hello to the world"}]

# On trio, the openai SDK (and httpx2 under it) leave inner async generators unexhausted when
# a stream reaches [DONE]; trio warns when they are garbage collected. The SDK's, not ours.
OPENAI_TRIO_LEAK = "ignore:Async generator '(openai|httpx|httpcore):ResourceWarning"


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def post(server: FaultServer, body: dict[str, Any]) -> http.client.HTTPResponse:
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Test": "yes"},
        method="POST",
    )
    response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=30)
    return response


def stream_body(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": USER, "stream": True, **extra}


def test_base_url_is_loopback_v1_on_a_free_port(server: FaultServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.port > 0


def test_a_streamed_reply_is_sse_with_done(server: FaultServer) -> None:
    server.script("sse", [Reply(["Hel", "lo"])])
    with post(server, stream_body("sse")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        raw = response.read()
    events = raw.split(b"\n\n")
    assert events[-1] == b"" and events[-2] == b"data: [DONE]"
    chunks = [json.loads(event[len(b"data: ") :]) for event in events[:-2]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Hello"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_error_reply_sends_status_body_and_retry_headers(server: FaultServer) -> None:
    server.script("limited", [ErrorReply(429, retry_after=3, retry_after_ms=2500)])
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(server, stream_body("limited"))
    error = caught.value
    assert error.code == 429
    assert error.headers["Retry-After"] == "3"
    assert error.headers["retry-after-ms"] == "2500"
    assert json.loads(error.read())["error"]["code"] == "rate_limit_exceeded"
    error.close()


def test_reset_connection_sends_no_response(server: FaultServer) -> None:
    server.script("reset", [ResetConnection()])
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        post(server, stream_body("reset"))
    assert server.requests_for("reset")[0].outcome == "reset"


def test_drop_after_ends_the_body_mid_way(server: FaultServer) -> None:
    server.script("drop", [Reply(["a", "b", "c"], drop_after=2)])
    with post(server, stream_body("drop")) as response, pytest.raises(http.client.IncompleteRead):
        response.read()


def test_non_streaming_request_gets_one_completion_object(server: FaultServer) -> None:
    server.script("whole", [Reply(["Hel", "lo"], tool_calls=[ToolCall("f", ["{", "}"])])])
    with post(server, {"model": "whole", "messages": USER}) as response:
        body = json.loads(response.read())
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Hello"
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_steps_are_consumed_one_per_request_then_then(server: FaultServer) -> None:
    server.script("seq", [ErrorReply(503), ErrorReply(500)], then=Reply(["ok"]))
    statuses = []
    for _ in range(4):
        try:
            with post(server, stream_body("seq")) as response:
                response.read()
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            error.close()
    assert statuses == [503, 500, 200, 200]
    assert server.remaining("seq") == 0
    assert [r.outcome for r in server.requests_for("seq")] == [
        "error 503",
        "error 500",
        "reply",
        "reply",
    ]


def test_unscripted_model_gets_404_and_is_recorded(server: FaultServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(server, stream_body("nobody-scripted-me"))
    assert caught.value.code == 404
    assert "nobody-scripted-me" in json.loads(caught.value.read())["error"]["message"]
    caught.value.close()
    assert server.requests_for("nobody-scripted-me")[0].outcome == "unscripted"


def test_default_answers_unscripted_models() -> None:
    with (
        FaultServer(default=Reply(["fallback"])) as server,
        post(server, stream_body("anything")) as response,
    ):
        assert b'"fallback"' in response.read()


def test_recordings_hold_model_messages_headers_attempts_and_times(server: FaultServer) -> None:
    server.script("rec", [Reply(["x"]), Reply(["y"])])
    before = time.monotonic()
    for _ in range(2):
        with post(server, stream_body("rec", temperature=0)) as response:
            response.read()
    first, second = server.requests_for("rec")
    assert (first.attempt, second.attempt) == (1, 2)
    assert second.number > first.number
    assert first.model == "rec"
    assert first.messages == USER
    assert first.body["temperature"] == 0
    assert first.headers["X-Test"] == "yes"
    assert before <= first.received_at <= second.received_at <= time.monotonic()
    assert server.attempts("rec") == 2
    assert server.gaps("rec") == [second.received_at - first.received_at]


def test_prefill_is_rejected_without_consuming_a_step(server: FaultServer) -> None:
    server.script("noprefill", [Reply(["fresh"])])
    prefill = [*USER, {"role": "assistant", "content": "Hello, wor"}]
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(server, {"model": "noprefill", "messages": prefill, "stream": True})
    assert caught.value.code == 400
    error = json.loads(caught.value.read())["error"]
    caught.value.close()
    assert error == PREFILL_REJECTION.body()["error"]
    assert error["code"] == "prefill_not_supported"
    assert server.remaining("noprefill") == 1
    with post(server, stream_body("noprefill")) as response:
        assert b'"fresh"' in response.read()
    assert [r.outcome for r in server.requests_for("noprefill")] == ["prefill_rejected", "reply"]


def test_prefill_is_served_when_the_model_accepts_it(server: FaultServer) -> None:
    server.script("prefill-ok", [Reply(["ld"])], accept_prefill=True)
    prefill = [*USER, {"role": "assistant", "content": "Hello, wor"}]
    with post(server, {"model": "prefill-ok", "messages": prefill, "stream": True}) as response:
        assert b'"ld"' in response.read()
    assert server.requests_for("prefill-ok")[0].messages[-1]["role"] == "assistant"


def test_closing_interrupts_a_stalled_response() -> None:
    server = FaultServer().start()
    server.script("stalled", [Reply(["a"], stall=Stall(600))])
    outcome: list[object] = []

    def client() -> None:
        try:
            with post(server, stream_body("stalled")) as response:
                outcome.append(response.read())
        except Exception as exc:  # the cut shows as some connection error
            outcome.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    while server.attempts("stalled") == 0:
        time.sleep(0.01)
    server.close()
    thread.join(timeout=60)  # a hang would wait for the 600 s stall
    assert not thread.is_alive()
    assert isinstance(outcome[0], Exception)
    server.close()  # closing twice is harmless


def test_not_started_server_has_no_url() -> None:
    with pytest.raises(Error) as caught:
        _ = FaultServer().base_url
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


def test_a_server_starts_once() -> None:
    with FaultServer() as server, pytest.raises(Error) as caught:
        server.start()
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "misuse",
    [
        lambda server: server.script("bad", ["not a step"]),
        lambda server: server.script("", [Reply("x")]),
        lambda server: server.script("bad", [], then="not a step"),
        lambda server: FaultServer(port=70000),
        lambda server: FaultServer(default="hello"),  # type: ignore[arg-type]
    ],
)
def test_misuse_is_an_invalid_argument_error(server: FaultServer, misuse: Any) -> None:
    with pytest.raises(Error) as caught:
        misuse(server)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


@pytest.mark.anyio
@pytest.mark.filterwarnings(OPENAI_TRIO_LEAK)
async def test_async_with_and_the_openai_sdk() -> None:
    async with FaultServer() as server:
        server.script(
            "sdk", [Reply(["Hel", "lo"]), ErrorReply(400, code="context_length_exceeded")]
        )
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            stream = await client.chat.completions.create(
                model="sdk",
                messages=USER,
                stream=True,
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == "Hello"
            with pytest.raises(BadRequestError) as caught:
                await client.chat.completions.create(
                    model="sdk",
                    messages=USER,
                    stream=True,
                )
            assert caught.value.code == "context_length_exceeded"
            with pytest.raises(NotFoundError):
                await client.chat.completions.create(
                    model="other",
                    messages=USER,
                    stream=True,
                )
        finally:
            await client.close()
    assert server.attempts("sdk") == 2


@pytest.mark.anyio
@pytest.mark.filterwarnings(OPENAI_TRIO_LEAK)
async def test_docs_example_rate_limit_drop_then_answer() -> None:
    """The opening example of docs/testing.md."""
    messages: Any = [{"role": "user", "content": "Say hello"}]
    with FaultServer() as server:
        server.script(
            "gpt-4o",
            [
                ErrorReply(429, retry_after=1),
                Reply(["Hel", "lo", " wor", "ld"], drop_after=2),
                Reply(["Hello", " world"]),
            ],
        )
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            with pytest.raises(RateLimitError) as caught:
                await client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
            assert caught.value.response.headers["retry-after"] == "1"

            stream = await client.chat.completions.create(
                model="gpt-4o", messages=messages, stream=True
            )
            seen = []
            with pytest.raises(APIConnectionError):
                async for chunk in stream:
                    seen.append(chunk.choices[0].delta.content or "")
            assert "".join(seen) == "Hello"

            stream = await client.chat.completions.create(
                model="gpt-4o", messages=messages, stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == "Hello world"
        finally:
            await client.close()
        assert server.attempts("gpt-4o") == 3
        assert len(server.gaps("gpt-4o")) == 2


@pytest.mark.parametrize("how", ["start", "with", "async with"])
def test_without_aiohttp_the_server_asks_for_the_testing_extra(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without aiohttp (the `testing` extra), starting a FaultServer raises an l0.Error that
    says `pip install "l0[testing]"`, in the caller's thread, and leaves no thread behind."""
    import anyio

    monkeypatch.setitem(sys.modules, "aiohttp", None)  # `import aiohttp` now fails
    server = FaultServer()
    with pytest.raises(Error) as caught:
        if how == "start":
            server.start()
        elif how == "with":
            with server:
                pass
        else:

            async def enter() -> None:
                async with server:
                    pass

            anyio.run(enter)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert 'pip install "l0[testing]"' in str(caught.value)
    assert isinstance(caught.value.__cause__, ImportError)
    assert server._thread is None  # refused before its thread was started


def test_a_client_leaving_mid_reply_is_reported_as_a_disconnect(server: FaultServer) -> None:
    """A client that closes its connection mid-body is recorded, with when it left; a reply
    read to its end is not."""
    server.script("leaver", [Reply(["a", "b", "c"], stall=Stall(30.0, after=1))])
    server.script("stayer", [Reply(["a", "b"])])
    post(server, {"model": "stayer", "stream": True, "messages": USER}).read()
    response = post(server, {"model": "leaver", "stream": True, "messages": USER})
    received = b""
    while b'"content": "a"' not in received:  # the first token arrived; the server stalls
        received += response.read1()
    left_at = time.monotonic()
    response.close()
    assert server.wait_for_disconnect("leaver", timeout=10.0)
    (seen_at,) = server.disconnects("leaver")
    assert seen_at >= left_at
    assert server.disconnects("stayer") == []
    assert not server.wait_for_disconnect("stayer", timeout=0.05)
