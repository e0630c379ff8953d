"""A local OpenAI-compatible streaming server that misbehaves on purpose.

`FaultServer` serves `POST /v1/chat/completions` (and Azure's
`/v1/deployments/{deployment}/chat/completions`) on 127.0.0.1 (a free port) from a
background thread with its own asyncio loop, so it works the same from sync tests, asyncio
and trio. Each request takes the next step of the script registered for its model
(`server.script(model, [...])`) and the server records what it received, so tests can
assert how many attempts a client made and how far apart they were.

It is built on aiohttp's web server because faults need the connection itself: aiohttp
exposes the request's transport publicly, which is what resetting a connection before the
headers and cutting a chunked body mid-way require (ASGI servers hide the socket). Every
wait inside a response (stalls) also watches the server's stop event, so closing the server
never hangs on a stalled response.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from l0.errors import Error, ErrorCode
from l0.testing.book import (
    Book,
    RecordedRequest,
    ScriptEntry,
    check_step,
    is_prefill,
    outcome_of,
    prompt_tokens,
)
from l0.testing.script import (
    ErrorReply,
    PageReply,
    RawReply,
    Reply,
    ResetConnection,
    Step,
)
from l0.testing.wire import (
    MALFORMED_EVENT,
    Pause,
    RequestInfo,
    Send,
    completion_object,
    plan_reply,
)

if TYPE_CHECKING:
    from aiohttp import web

_HOST = "127.0.0.1"  # loopback only: a fault server is never reachable from elsewhere

PREFILL_REJECTION = ErrorReply(
    400,
    code="prefill_not_supported",
    param="messages",
    message=(
        "This model does not support assistant message prefill: the conversation must end "
        "with a user or tool message, not an assistant message."
    ),
)


class FaultServer:
    """An OpenAI-compatible chat completions server whose answers follow a script.

    Use it as a context manager (`with FaultServer() as server:` or `async with`) and point
    a client at `server.base_url`; `port=0` (the default) picks a free port. Models without
    a script get `default` when given, or a 404 `model_not_found`. Requests whose last
    message is from the assistant (a prefill) are rejected with a 400 unless the model's
    script has `accept_prefill=True` (or the server was built with it); a rejected request
    does not consume a script step.
    """

    def __init__(
        self,
        *,
        default: Step | None = None,
        accept_prefill: bool = False,
        port: int = 0,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise Error(
                f"port must be 0 (a free port) or a TCP port number, got {port!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self._default = None if default is None else check_step(default, "default")
        self._accept_prefill = accept_prefill
        self._port = port
        self._book = Book()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._bound_port: int | None = None

    # -- scripting and recordings (any thread) ----------------------------------------------

    def script(
        self,
        model: str,
        steps: Sequence[Step],
        *,
        then: Step | None = None,
        accept_prefill: bool | None = None,
    ) -> None:
        """Answer the next requests for `model` with `steps`, one per request, in order.

        Once they are used up, `then` answers every further request (when given); otherwise
        the server's `default`, otherwise a 404. Scripting a model again replaces its script.
        """
        if not isinstance(model, str) or not model:
            raise Error(
                f"script() needs the model name the client sends, got {model!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        checked = deque(check_step(step, f"script step {i}") for i, step in enumerate(steps))
        final = None if then is None else check_step(then, "then")
        prefill = self._accept_prefill if accept_prefill is None else accept_prefill
        with self._book.lock:
            self._book.scripts[model] = ScriptEntry(checked, final, prefill)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._book.lock:
            return list(self._book.requests)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        with self._book.lock:
            return [request for request in self._book.requests if request.model == model]

    def attempts(self, model: str) -> int:
        """How many requests named `model` the server received."""
        with self._book.lock:
            return self._book.attempts.get(model, 0)

    def gaps(self, model: str) -> list[float]:
        """Seconds between consecutive requests for `model`."""
        times = [request.received_at for request in self.requests_for(model)]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def disconnects(self, model: str) -> list[float]:
        """When (`time.monotonic()`) each client asking for `model` closed its connection
        before the reply was complete, in request order: what a client that stops reading
        early (an abort, a consumer that left) looks like from the server."""
        with self._book.lock:
            numbers = [r.number for r in self._book.requests if r.model == model]
            return [self._book.disconnects[n] for n in numbers if n in self._book.disconnects]

    def wait_for_disconnect(self, model: str, *, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until `count` clients of `model` disconnected early (see `disconnects`), or
        `timeout` seconds passed; True when they did. From async code run it in a thread:
        `await anyio.to_thread.run_sync(server.wait_for_disconnect, model)`."""
        book = self._book

        def enough() -> bool:
            models = (r.model for r in book.requests if r.number in book.disconnects)
            return sum(name == model for name in models) >= count

        with book.changed:
            return book.changed.wait_for(enough, timeout)

    def remaining(self, model: str) -> int:
        """Scripted steps not yet used for `model`."""
        with self._book.lock:
            script = self._book.scripts.get(model)
            return 0 if script is None else len(script.steps)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise Error(
                "the FaultServer is not running: use `with FaultServer() as server:` or call "
                "start() first",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return self._bound_port

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, e.g. `http://127.0.0.1:PORT/v1`."""
        return f"http://{_HOST}:{self.port}/v1"

    def start(self) -> FaultServer:
        if self._thread is not None:
            raise Error("this FaultServer was already started", code=ErrorCode.INVALID_ARGUMENT)
        _require_aiohttp()  # here, in the caller's thread, not as a failure inside the server's
        self._thread = threading.Thread(target=self._run, name="l0-fault-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error
        return self

    def close(self) -> None:
        """Stop serving; stalled responses are cut at once. Safe to call twice."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(stopping.set)
        thread.join()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> FaultServer:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.close)

    # -- the server thread ------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except Exception as exc:  # reported to start(); the thread must not die noisily
            self._startup_error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        from aiohttp import web

        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        # Azure OpenAI's path (AsyncAzureOpenAI(base_url=server.base_url, ...)): the body
        # names the model as OpenAI's does, so the same scripts answer it.
        app.router.add_post("/v1/deployments/{deployment}/chat/completions", self._handle)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, _HOST, self._port)
            await site.start()
            self._bound_port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`; False when the server is stopping meanwhile."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return True
        return False

    def _take(self, body: dict[str, Any], headers: dict[str, str]) -> RecordedRequest:
        """Record the request and pick the step that answers it."""
        model = body.get("model") if isinstance(body.get("model"), str) else None
        raw_messages = body.get("messages")
        messages = list(raw_messages) if isinstance(raw_messages, list) else []
        book = self._book
        with book.lock:
            attempt = book.attempts.get(model, 0) + 1
            book.attempts[model] = attempt
            script = book.scripts.get(model) if model is not None else None
            accept_prefill = self._accept_prefill if script is None else script.accept_prefill
            step: Step | None
            if is_prefill(messages) and not accept_prefill:
                step, outcome = PREFILL_REJECTION, "prefill_rejected"
            else:
                if script is not None and script.steps:
                    step = script.steps.popleft()
                elif script is not None and script.then is not None:
                    step = script.then
                else:
                    step = self._default
                outcome = outcome_of(step)
            record = RecordedRequest(
                number=len(book.requests) + 1,
                attempt=attempt,
                model=model,
                messages=messages,
                body=body,
                headers=headers,
                received_at=time.monotonic(),
                outcome=outcome,
                step=step,
            )
            book.requests.append(record)
        return record

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error_response(
                ErrorReply(400, message="The request body is not a JSON object.")
            )
        record = self._take(body, dict(request.headers))
        step = record.step
        if step is None:
            return _error_response(
                ErrorReply(404, message=f"No scripted reply for model {record.model!r}.")
            )
        if isinstance(step, ErrorReply):
            return _error_response(step)
        if isinstance(step, ResetConnection):
            _reset(request)
            return web.Response()  # never sent: the connection is gone
        if isinstance(step, RawReply):
            return await self._raw_reply(request, step)
        if isinstance(step, PageReply):
            return web.Response(
                body=step.data, status=step.status, headers={"Content-Type": step.content_type}
            )
        return await self._reply(request, step, record)

    async def _reply(
        self, request: web.Request, reply: Reply, record: RecordedRequest
    ) -> web.StreamResponse:
        from aiohttp import web

        stream_options = record.body.get("stream_options")
        info = RequestInfo(
            number=record.number,
            created=int(time.time()),
            model=record.model or "unknown",
            prompt_tokens=prompt_tokens(record.messages),
            include_usage=isinstance(stream_options, dict)
            and bool(stream_options.get("include_usage")),
        )
        streaming = record.body.get("stream") is True
        stall = reply.stall
        stalls_first = stall is not None and (stall.before_headers or not streaming)
        if stall is not None and stalls_first and not await self._pause(stall.seconds):
            _reset(request)
            return web.Response()
        if not streaming:
            return _whole_reply(request, reply, info)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        response.enable_chunked_encoding()
        try:
            await self._stream(request, response, reply, info)
        except ConnectionError:
            self._note_disconnect(record)  # a write found the connection gone
        except asyncio.CancelledError:
            # aiohttp cancels the handler (handler_cancellation) when the client goes away
            self._note_disconnect(record)
            raise
        return response

    def _note_disconnect(self, record: RecordedRequest) -> None:
        """The client of `record` left before its reply ended (unless the server is the
        one stopping)."""
        if self._stopping is not None and self._stopping.is_set():
            return
        with self._book.changed:
            self._book.disconnects[record.number] = time.monotonic()
            self._book.changed.notify_all()

    async def _stream(
        self, request: web.Request, response: web.StreamResponse, reply: Reply, info: RequestInfo
    ) -> None:
        """Send the reply's body, with its faults."""
        await response.prepare(request)
        for action in plan_reply(reply, info):
            if isinstance(action, Send):
                await response.write(action.data)
            elif isinstance(action, Pause):
                if not await self._pause(action.seconds):
                    _reset(request)
                    return
            else:
                _cut(request)
                return
        await response.write_eof()


    async def _raw_reply(self, request: web.Request, reply: RawReply) -> web.StreamResponse:
        from aiohttp import web

        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            for number, data in enumerate(reply.writes):
                if number and reply.gap and not await self._pause(reply.gap):
                    _reset(request)
                    return response
                if data:
                    await response.write(data)
            if reply.cut:
                _cut(request)
                return response
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        return response


def _require_aiohttp() -> None:
    try:
        import aiohttp  # noqa: F401
    except ImportError as exc:
        raise Error(
            'l0.testing.FaultServer needs aiohttp, which the testing extra brings: '
            'pip install "l0[testing]"',
            code=ErrorCode.INVALID_ARGUMENT,
        ) from exc


def _whole_reply(request: web.Request, reply: Reply, info: RequestInfo) -> web.Response:
    """A non-streaming answer; a drop resets the connection, a malformed one is cut JSON."""
    from aiohttp import web

    if reply.drop_after is not None:
        _reset(request)
        return web.Response()
    if reply.malformed_after is not None:
        return web.Response(body=MALFORMED_EVENT[len(b"data: ") :], content_type="application/json")
    return web.json_response(completion_object(reply, info))


def _error_response(step: ErrorReply) -> web.Response:
    from aiohttp import web

    return web.json_response(step.body(), status=step.status, headers=step.response_headers())


def _reset(request: web.Request) -> None:
    """Abort the connection with a TCP RST (linger 0), dropping anything unsent."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _cut(request: web.Request) -> None:
    """Close the connection after what was written so far: the body ends mid-way."""
    transport = request.transport
    if transport is not None:
        transport.close()


__all__ = ["PREFILL_REJECTION", "FaultServer", "RecordedRequest"]
