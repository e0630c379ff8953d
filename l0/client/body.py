"""A streamed response body read straight from its HTTP/1.1 connection (the lean path's reader).

On the lean path (lean.py) the SDK sends the request and httpx2/httpcore2 receive the
response head; then comes the hot part, the body: one read per chunk when a model streams at
its own pace. `response.aiter_bytes()` passes every read through five async generators and
opens a cancel scope per read for the client's read timeout (`anyio.fail_after`), which
together cost more CPU than everything l0 does with the chunk.

`direct_body(response)` reads the same connection one layer down. It asks the connection's
own `h11` state machine for the body's events and feeds it what the connection's socket
stream receives, as httpcore2 does, so the HTTP is still h11's: chunked transfer encoding,
a content length, the end of the message, a peer that breaks off. What changes:

- the client's read timeout (`timeout=` of the SDK, the request's `timeout` extension)
  still bounds each read, but on asyncio one loop timer per body does it (`_ReadTimer`): it
  is armed once and, when it fires, it either cancels the read that has waited too long or
  sets itself again for the read pending then. On trio a cancel scope per read, as
  httpcore2's trio backend does;
- all the `Data` events that one read completes come out together: the SSE decoder runs
  once for every chunk that arrived together;
- when h11 stands between two chunks of a chunked body with nothing buffered, the plain
  whole chunks at the front of a read (`SIZE CRLF payload CRLF`, the usual streaming write)
  are taken without it (`_whole_chunks`); anything else in the read (the last chunk, an
  extension, a bad line end, a cut chunk) goes to h11, which carries on as if it had read
  them, and decides and raises as it would have;
- errors are the ones httpx2 raises, built the same way: a failed read is
  `httpx2.ReadError` from `httpcore2.ReadError` from the socket stream's error, a timeout
  `httpx2.ReadTimeout`, a broken message `httpx2.RemoteProtocolError` from h11's;
- closing does not change: `response.aclose()` hands the connection back to the pool when
  h11 saw the whole message (keep-alive) and closes it otherwise (left early, an error).

It is used only where the response came exactly that way; anything else reads
`aiter_bytes()` as before: a transport or network backend of the user's, HTTP/2, a
compressed body (`content-encoding`, which httpx2 decodes), a `trace` extension or
httpcore2's debug logging (both want the events the shortcut skips), a body already read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

_READ_BYTES = 64 * 1024  # what httpcore2 asks of the socket per read (READ_NUM_BYTES)
# The private fields read here, checked once against the installed h11 (`_stack`).
_CHUNKED_READER_FIELDS = ("_bytes_in_chunk", "_bytes_to_discard", "_reading_trailer")
_H11_CONNECTION_FIELDS = ("_reader", "_receive_buffer", "_receive_buffer_closed")


# The releases whose private layout the shortcut was checked on (tests/client/test_lean_body.py
# plays the same bytes to both readers): (package, lowest version, first version not allowed).
# Outside them httpx2's own reading is used; widen a range after the tests pass on it.
CHECKED_RELEASES = (
    ("h11", (0, 16), (1, 0)),
    ("httpcore2", (2, 0), (3, 0)),
    ("httpx2", (2, 0), (3, 0)),
    ("anyio", (4, 0), (5, 0)),
)


def _checked_releases() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    for name, lowest, beyond in CHECKED_RELEASES:
        try:
            release = tuple(int(part) for part in re.findall(r"\d+", version(name))[:2])
        except PackageNotFoundError:
            return False
        if not lowest <= release < beyond:
            return False
    return True


@functools.cache
def _stack() -> dict[str, Any] | None:
    """The classes the shortcut recognises, from the installed httpx2/httpcore2 (None when
    they are missing, of a release it was not checked on, or laid out otherwise)."""
    if not _checked_releases():
        return None
    try:
        import h11
        import httpcore2
        import httpx2
        from httpcore2._async.connection_pool import PoolByteStream
        from httpcore2._async.http11 import AsyncHTTP11Connection, HTTP11ConnectionByteStream
        from httpcore2._backends.anyio import AnyIOStream
        from httpx2._client import BoundAsyncStream
        from httpx2._transports.default import AsyncResponseStream
    except ImportError:
        return None
    chunked_reader: Any = None  # (none in another h11: then h11 parses every chunk)
    with contextlib.suppress(ImportError):
        from h11._readers import ChunkedReader

        probe = h11.Connection(h11.CLIENT)
        if all(hasattr(ChunkedReader(), name) for name in _CHUNKED_READER_FIELDS) and all(
            hasattr(probe, name) for name in _H11_CONNECTION_FIELDS
        ):
            chunked_reader = ChunkedReader
    return {
        "h11": h11,
        "httpcore2": httpcore2,
        "httpx2": httpx2,
        "layers": (BoundAsyncStream, AsyncResponseStream, PoolByteStream),
        "byte_stream": HTTP11ConnectionByteStream,
        "connection": AsyncHTTP11Connection,
        "anyio_stream": AnyIOStream,
        "chunked_reader": chunked_reader,
    }


def direct_body(response: Any) -> DirectBody | None:
    """A reader of `response`'s body straight from its connection, or None when the
    response did not come over the stack it knows (see the module docstring)."""
    stack = _stack()
    if stack is None or not isinstance(response, stack["httpx2"].Response):
        return None
    if response.is_stream_consumed or response.is_closed:
        return None
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return None  # httpx2 decodes it (gzip, br, zstd...)
    request = response.request
    if request.extensions.get("trace") is not None:
        return None
    if logging.getLogger("httpcore2.http11").isEnabledFor(logging.DEBUG):
        return None
    try:
        return _reader_of(stack, response, request)
    except AttributeError:  # a release laid out otherwise: httpx2's own reading then
        return None


def _reader_of(stack: dict[str, Any], response: Any, request: Any) -> DirectBody | None:
    stream: Any = response.stream
    for layer, inner in zip(
        stack["layers"], ("_stream", "_httpcore_stream", "_stream"), strict=True
    ):
        if type(stream) is not layer:
            return None
        stream = getattr(stream, inner, None)
    if type(stream) is not stack["byte_stream"] or stream._closed:
        return None
    connection = stream._connection
    if type(connection) is not stack["connection"]:
        return None
    h11 = stack["h11"]
    state = connection._h11_state
    if state.their_state is not h11.SEND_BODY:
        return None
    network = connection._network_stream
    timeout = (request.extensions.get("timeout") or {}).get("read")
    socket_stream: Any = None
    if type(network) is stack["anyio_stream"]:
        socket_stream = _QueuedSocket.over(network._stream)
        receive = network._stream.receive if socket_stream is None else socket_stream.receive
        kind = "anyio"
    elif type(network).__name__ == "TrioStream" and type(network).__module__.startswith(
        "httpcore2._backends"
    ):
        receive = network._stream.receive_some
        kind = "trio"
    else:
        return None
    response.is_stream_consumed = True  # as aiter_bytes() marks it: nobody reads it twice
    return DirectBody(stack, state, receive, kind, timeout, request, socket_stream)


class DirectBody:
    """The body's bytes, one `await body.__anext__()` per read of the socket (with every
    whole piece of body that read completed); `StopAsyncIteration` at the message's end."""

    __slots__ = (
        "_ended",
        "_error",
        "_h11",
        "_hungry",
        "_kind",
        "_receive",
        "_request",
        "_socket",
        "_stack",
        "_state",
        "_timeout",
        "_timer",
    )

    def __init__(
        self,
        stack: dict[str, Any],
        state: Any,
        receive: Callable[[int], Awaitable[bytes]],
        kind: str,
        timeout: float | None,
        request: Any,
        socket_stream: _QueuedSocket | None = None,
    ) -> None:
        self._stack = stack
        self._socket = socket_stream
        self._h11 = stack["h11"]
        self._state = state  # the connection's h11.Connection
        self._receive = receive
        self._kind = kind
        self._timeout = timeout
        self._request = request
        self._timer = _ReadTimer.make(timeout) if kind == "anyio" and timeout is not None else None
        self._error: BaseException | None = None  # raised at the next read (data came first)
        self._ended = False
        self._hungry = False  # h11 needs more data: read before asking it again

    def __aiter__(self) -> DirectBody:
        return self

    async def __anext__(self) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._ended:
            raise StopAsyncIteration
        h11 = self._h11
        data_type = h11.Data
        need_data = h11.NEED_DATA
        state = self._state
        body: bytes | None = None
        # h11 said NEED_DATA when the last call returned: asking it again would say the same
        event: Any = need_data if self._hungry else None
        self._hungry = False
        while True:
            if event is None:
                try:
                    event = state.next_event()
                except h11.RemoteProtocolError as exc:
                    error = self._mapped("RemoteProtocolError", exc)
                    if body is None:
                        raise error from error.__cause__
                    self._error = error  # the body that came before it is read first
                    return body
            if type(event) is data_type:
                piece = bytes(event.data)
                body = piece if body is None else body + piece
            elif event is need_data:
                if body is not None:
                    self._hungry = True
                    return body  # everything this read completed; the next read waits
                data = await self._read()
                if data and self._between_chunks():
                    whole, data = _whole_chunks(data)
                    if whole:
                        body = whole
                        if not data:  # h11 is where it was, between two chunks
                            self._hungry = True
                            return body
                state.receive_data(data)
            elif type(event) is h11.EndOfMessage or event is h11.PAUSED:
                self._ended = True
                if body is None:
                    raise StopAsyncIteration
                return body
            # (any other event is skipped, as httpcore2 skips it)
            event = None

    def _between_chunks(self) -> bool:
        """Whether h11 reads a chunked body and stands between two chunks, with nothing
        buffered: then whole chunks can be taken off the front of what comes next without
        it (`_whole_chunks`), and h11 goes on from there as if it had read them."""
        state = self._state
        reader = state._reader
        return (
            type(reader) is self._stack["chunked_reader"]
            and reader._bytes_in_chunk == 0
            and not reader._bytes_to_discard
            and not reader._reading_trailer
            and not state._receive_buffer
            and not state._receive_buffer_closed
        )

    async def _read(self) -> bytes:
        """One read of the socket stream, under the client's read timeout."""
        seconds = self._timeout
        if self._kind == "trio":
            import trio

            try:
                with trio.fail_after(math.inf if seconds is None else seconds):
                    return await self._receive(_READ_BYTES)
            except trio.TooSlowError as exc:
                raise self._mapped("ReadTimeout", exc)  # noqa: B904 (its own cause, set there)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise self._mapped("ReadError", exc)  # noqa: B904
        import anyio

        try:
            timer = self._timer
            if timer is not None:
                return await timer.bounded(self._receive(_READ_BYTES))
            if seconds is None:
                return await self._receive(_READ_BYTES)
            with anyio.fail_after(seconds):  # anyio on trio, Python 3.10: a scope per read
                return await self._receive(_READ_BYTES)
        except anyio.EndOfStream:
            return b""
        except TimeoutError as exc:
            raise self._mapped("ReadTimeout", exc)  # noqa: B904 (its own cause, set there)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise self._mapped("ReadError", exc)  # noqa: B904

    def _mapped(self, name: str, exc: BaseException) -> BaseException:
        """httpx2's `name` error for `exc`, chained as httpcore2 and httpx2 chain it."""
        core: BaseException = getattr(self._stack["httpcore2"], name)(exc)
        core.__cause__ = exc
        outer: BaseException = getattr(self._stack["httpx2"], name)(
            str(core), request=self._request
        )
        outer.__cause__ = core
        return outer

    async def aclose(self) -> None:
        """Stop the read timer and hand the socket back as anyio keeps it (the connection
        itself is closed or released with the response)."""
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        if self._socket is not None:
            self._socket.release()
            self._socket = None


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _whole_chunks(data: bytes) -> tuple[bytes, bytes]:
    """The payload of the plain, whole chunks `data` starts with (`SIZE CRLF payload CRLF`),
    and the rest from the first that is not one: the last chunk (size 0), a chunk
    extension, a bad line end, a chunk cut by the read. h11 parses the rest, so it decides
    (and raises) exactly as it would have on all of `data`; this only saves it the work
    for the usual chunks, one h11 event and its checks each."""
    payloads = []
    start = 0
    end_of_data = len(data)
    while True:
        line_end = data.find(b"\r\n", start, start + 18)
        if line_end < 0 or _CHUNK_SIZE.fullmatch(data, start, line_end) is None:
            break
        size = int(data[start:line_end], 16)
        payload_end = line_end + 2 + size
        if size == 0 or payload_end + 2 > end_of_data:
            break
        if data[payload_end : payload_end + 2] != b"\r\n":
            break
        payloads.append(data[line_end + 2 : payload_end])
        start = payload_end + 2
    if not payloads:
        return b"", data
    return b"".join(payloads), data[start:]


class _QueuedSocket:
    """`receive()` of anyio's asyncio `SocketStream`, without its cost per read.

    anyio resumes the transport's reading before each read that waits and pauses it after
    (two `epoll_ctl` calls and a loop handle per read) and yields to the loop once more when
    data is there already. Here reading stays resumed while the body is read, and a read
    takes what the stream's protocol queued, or waits for its `read_event`, exactly as
    anyio's `receive()` does otherwise (the same end of stream and the same errors);
    `release()` pauses reading again, the state anyio keeps between its reads. Used only on
    the stream anyio builds for a plain TCP connection (`over` checks it); TLS streams read
    through `receive()`. (The price: while the body is read, the socket does not hold the
    server back when the consumer pauses; what comes meanwhile, at most the rest of one
    answer, waits in the queue.)"""

    __slots__ = ("_event", "_protocol", "_queue", "_resumed", "_stream", "_transport")

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._transport = stream._transport
        self._protocol = stream._protocol
        self._queue = stream._protocol.read_queue
        self._event = stream._protocol.read_event
        self._resumed = False

    @classmethod
    def over(cls, stream: Any) -> _QueuedSocket | None:
        """One over anyio's asyncio `SocketStream` (None for any other stream)."""
        kind = type(stream)
        if kind.__name__ != "SocketStream" or kind.__module__ != "anyio._backends._asyncio":
            return None
        protocol = getattr(stream, "_protocol", None)
        if not isinstance(getattr(protocol, "read_event", None), asyncio.Event):
            return None
        if not all(hasattr(protocol, name) for name in ("read_queue", "is_at_eof", "exception")):
            return None
        if not (hasattr(stream, "_transport") and hasattr(stream, "_closed")):
            return None
        return cls(stream)

    async def receive(self, max_bytes: int) -> bytes:
        import anyio

        queue = self._queue
        if not queue:
            protocol = self._protocol
            if not (self._event.is_set() or self._transport.is_closing() or protocol.is_at_eof):
                if not self._resumed:
                    self._resumed = True
                    self._transport.resume_reading()
                await self._event.wait()
            if not queue:
                if self._stream._closed:
                    raise anyio.ClosedResourceError
                if protocol.exception:
                    raise anyio.BrokenResourceError from protocol.exception
                raise anyio.EndOfStream
        chunk: bytes = queue.popleft()
        if not queue:
            self._event.clear()
        return chunk

    def release(self) -> None:
        if self._resumed:
            self._resumed = False
            self._transport.pause_reading()


class _ReadTimer:
    """The read timeout of one body on asyncio: one loop timer instead of a cancel scope per
    read. `bounded(read)` notes when the read began and which task waits; the timer, set for
    the first read, looks when it fires: a read that has waited `seconds` is cancelled (and
    the cancellation turned into `TimeoutError` with `Task.uncancel()`, as
    `asyncio.timeout()` does, so anyone else's cancellation still goes through); otherwise
    it sets itself for the pending read's deadline, or waits for the next read to set it."""

    __slots__ = ("_handle", "_loop", "_seconds", "fired", "started", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._loop = loop
        self._seconds = seconds
        self._handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None  # the task whose read waits, if one does
        self.started = 0.0
        self.fired = False

    @classmethod
    def make(cls, seconds: float) -> _ReadTimer | None:
        if sys.version_info < (3, 11):
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (anyio's backend on trio)
            return None
        return cls(loop, seconds)

    async def bounded(self, read: Awaitable[bytes]) -> bytes:
        task = asyncio.current_task()
        self.task = task
        self.started = now = self._loop.time()
        if self._handle is None:
            self._handle = self._loop.call_at(now + self._seconds, self._check)
        try:
            return await read
        except asyncio.CancelledError:
            if self.fired:
                self.fired = False
                assert task is not None
                if task.uncancel() == 0:  # only ours: the read timed out
                    raise TimeoutError from None
            raise
        finally:
            self.task = None

    def _check(self) -> None:
        self._handle = None
        task = self.task
        if task is None:
            return  # no read waits: the next one sets the timer
        due = self.started + self._seconds
        if self._loop.time() < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        self.fired = True
        task.cancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


__all__ = ["DirectBody", "direct_body"]
