"""The lean path's body reader (l0/client/body.py) against httpx2's own, on the same bytes.

`direct_body` reads a response body from the connection's h11 state, skipping httpx2's and
httpcore2's read layers (and h11's own work for plain whole chunks). Hypothesis writes HTTP
responses a server might send: chunked with any chunk sizes, sizes written as servers write
them (upper case, leading zeros, an extension), a content length, a body ended by closing
the connection; gzip, which must take httpx2's path; an end cut short by a close or a
reset, a broken chunk header or chunk end; any split into TCP writes. A raw socket server
plays each one twice over one keep-alive client: read once with `direct_body`, once with
`aiter_bytes()`. The bytes, the error (type, text and causes) and whether the next request
reuses the connection must be the same, on asyncio and trio.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import socket
import socketserver
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import openai
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0.client import lean
from l0.client.body import DirectBody, _ReadTimer, direct_body

BACKENDS = ["asyncio", "trio"]


@dataclass(frozen=True)
class Scripted:
    """One response as written to the socket: `writes` with `gap` seconds between them, then
    the connection kept (`end="keep"`), closed (`"fin"`) or reset (`"rst"`)."""

    writes: tuple[bytes, ...]
    gap: float = 0.0
    end: str = "keep"


class RawServer(socketserver.ThreadingTCPServer):
    """HTTP/1.1 over raw sockets: each request (any path) gets the next scripted response."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: deque[Scripted] = deque()
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: RawServer = self.server  # type: ignore[assignment]
        server.connections += 1
        sock: socket.socket = self.request
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(buffer) < length:
                buffer += sock.recv(65536)
            buffer = buffer[length:]
            reply = server.replies.popleft()
            for index, write in enumerate(reply.writes):
                if index and reply.gap:
                    time.sleep(reply.gap)
                sock.sendall(write)
            if reply.end == "rst":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if reply.end != "keep":
                sock.close()
                return


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# -- responses a server might send -----------------------------------------------------------


SIZE_FORMATS = [b"%x", b"%x", b"%x", b"%X", b"%04x", b"%x;ext=1", b"%x "]
CHUNK_ENDS = [b"\r\n"] * 8 + [b"XY"]


@st.composite
def responses(draw: st.DrawFn) -> tuple[Scripted, bool]:
    """A response, and whether it ends properly (so the connection can be used again)."""
    body = draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["chunked", "chunked", "length", "close"]))
    encoding = draw(st.sampled_from(["identity", "identity", "identity", "gzip"]))
    if encoding == "gzip":
        body = gzip.compress(body)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    if encoding == "gzip":
        head += b"content-encoding: gzip\r\n"
    starts = [0]  # where chunks start in the payload: TCP writes often split there
    if framing == "chunked":
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=5)))
        pieces = [body[a:b] for a, b in itertools.pairwise([0, *cuts, len(body)]) if body[a:b]]
        payload = b""
        broken = False
        for piece in pieces:
            starts.append(
                len(payload)
            )  # sizes written as servers write them; rarely a bad chunk end
            size = draw(st.sampled_from(SIZE_FORMATS)) % len(piece)
            end = draw(st.sampled_from(CHUNK_ENDS))
            broken = broken or end != b"\r\n"
            payload += size + b"\r\n" + piece + end
        # the end of the body, or a broken chunk header (h11 raises after the chunks before it)
        last = draw(st.sampled_from([b"0\r\n\r\n", b"0\r\n\r\n", b"zz\r\n\r\n"]))
        broken = broken or last.startswith(b"zz")
        payload += last
        head += b"transfer-encoding: chunked\r\n"
    elif framing == "length":
        payload = body
        broken = False
        head += b"content-length: %d\r\n" % len(body)
    else:
        payload = body
        broken = False
        head += b"connection: close\r\n"
    wire = head + b"\r\n" + payload
    cut = draw(st.sampled_from([None, None, "fin", "rst"]))
    if cut is not None and framing != "close":
        wire = wire[: len(head) + 2 + draw(st.integers(0, max(0, len(payload) - 1)))]
    offsets = st.one_of(st.integers(0, len(payload)), st.sampled_from(starts))
    splits = set(draw(st.sets(offsets, max_size=4)))
    if draw(st.booleans()):  # one write per chunk, as a streaming server writes them
        splits.update(starts)
    splits = sorted({min(len(head) + 2 + offset, len(wire)) for offset in splits})
    writes = tuple(wire[a:b] for a, b in itertools.pairwise([0, *splits, len(wire)]) if b > a)
    end = cut or ("fin" if framing == "close" else "keep")
    reusable = cut is None and framing != "close" and not broken
    return Scripted(writes, gap=0.002 if len(writes) > 1 else 0.0, end=end), reusable


def describe(error: BaseException | None) -> Any:
    if error is None:
        return None
    return (type(error).__name__, str(error), describe(error.__cause__))


async def read_body(client: httpx2.AsyncClient, url: str, direct: bool) -> dict[str, Any]:
    """One request; its body read with `direct_body` or `aiter_bytes()`."""
    got = b""
    error = None
    async with client.stream("POST", url, json={"x": 1}) as response:
        reader = direct_body(response) if direct else None
        if direct and response.headers.get("content-encoding") != "gzip":
            assert isinstance(reader, DirectBody)  # the shortcut is taken where it may be
        body: Any = reader if reader is not None else response.aiter_bytes()
        try:
            async for data in body:
                got += data
        except httpx2.HTTPError as exc:
            error = exc
        finally:
            if isinstance(body, DirectBody):
                await body.aclose()
    return {"body": got, "error": describe(error)}


async def both_readers(server: RawServer, reply: Scripted, reusable: bool) -> list[Any]:
    results = []
    for direct in (True, False):
        async with httpx2.AsyncClient() as client:
            server.replies.append(reply)
            before = server.connections
            first = await read_body(client, server.url, direct)
            if reusable:  # the connection goes back to the pool: the next request reuses it
                server.replies.append(
                    Scripted((b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",))
                )
                second = await read_body(client, server.url, direct)
                assert second == {"body": b"ok", "error": None}
            results.append((first, server.connections - before))
    return results


@settings(max_examples=80, deadline=None)
@given(response=responses(), backend=st.sampled_from(BACKENDS))
def test_the_direct_reader_reads_what_httpx2_reads(
    raw_server: RawServer, response: tuple[Scripted, bool], backend: str
) -> None:
    reply, reusable = response
    direct, standard = anyio.run(both_readers, raw_server, reply, reusable, backend=backend)
    assert direct == standard
    if reusable:
        assert direct[1] == 1  # two requests, one connection


# -- through the wrapped client ------------------------------------------------------------------

USER = [{"role": "user", "content": "Say hello"}]


def sse_events(*texts: str) -> list[bytes]:
    events = [
        b'data: {"choices": [{"index": 0, "delta": {"content": "%s"}}]}\n\n' % t.encode()
        for t in texts
    ]
    events.append(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
    events.append(b"data: [DONE]\n\n")
    return events


def sse(*texts: str) -> bytes:
    """The events as a chunked body, one HTTP chunk each."""
    chunks = [b"%x\r\n%s\r\n" % (len(e), e) for e in sse_events(*texts)]
    return b"".join(chunks) + b"0\r\n\r\n"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


@contextlib.contextmanager
def spying() -> Iterator[list[Any]]:
    """The readers the lean path made (None where it fell back to aiter_bytes)."""
    made: list[Any] = []
    original = lean.direct_body

    def spy(response: Any) -> Any:
        reader = original(response)
        made.append(reader)
        return reader

    lean.direct_body = spy
    try:
        yield made
    finally:
        lean.direct_body = original


async def stream_text(raw: openai.AsyncOpenAI, **options: Any) -> tuple[str, list[Any]]:
    client = l0.wrap(raw, retry=l0.Retry(attempts=0, max_retries=0), **options)
    with spying() as made:
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        try:
            return await stream.read(), made
        except l0.Error as exc:
            return f"error: {type(exc.__cause__).__name__}", made


@pytest.mark.anyio
async def test_keep_alive_through_the_wrapped_client(raw_server: RawServer) -> None:
    """Three streams in a row over one connection, each read straight from it."""
    async with openai.AsyncOpenAI(base_url=raw_server.url, api_key="test") as raw:
        before = raw_server.connections
        for _ in range(3):
            raw_server.replies.append(Scripted((HEAD, sse("Hel", "lo"))))
            text, made = await stream_text(raw)
            assert text == "Hello"
            assert [type(reader) for reader in made] == [DirectBody]
        assert raw_server.connections - before == 1


@pytest.mark.anyio
async def test_a_gzip_body_takes_httpx2s_path(raw_server: RawServer) -> None:
    body = gzip.compress(b"".join(sse_events("zip")))
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\n"
    raw_server.replies.append(Scripted((head + b"content-length: %d\r\n\r\n" % len(body) + body,)))
    async with openai.AsyncOpenAI(base_url=raw_server.url, api_key="test") as raw:
        text, made = await stream_text(raw)
    assert text == "zip"
    assert made == [None]


_A = b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n\n'
SLOW = (*[b"%x\r\n%s\r\n" % (len(_A), _A)] * 12, sse())  # twelve "a" chunks, then the end


@pytest.mark.anyio
async def test_the_read_timeout_bounds_each_read_not_the_body(raw_server: RawServer) -> None:
    """Reads 50 ms apart under a 300 ms read timeout: the body takes 600 ms and completes
    (the one timer per body sets itself again for each pending read)."""
    raw_server.replies.append(Scripted((HEAD, *SLOW), gap=0.05))
    async with openai.AsyncOpenAI(base_url=raw_server.url, api_key="test", timeout=0.3) as raw:
        text, made = await stream_text(raw)
    assert text == "a" * 12
    assert [type(reader) for reader in made] == [DirectBody]


@pytest.mark.anyio
@pytest.mark.parametrize("lean_path", [True, False])
async def test_a_read_that_waits_too_long_times_out_as_on_the_sdk_path(
    raw_server: RawServer, lean_path: bool
) -> None:
    raw_server.replies.append(Scripted((HEAD, SLOW[0], SLOW[1]), gap=2.0))
    options: dict[str, Any] = {} if lean_path else {"adapter": "openai"}
    started = time.monotonic()
    async with openai.AsyncOpenAI(base_url=raw_server.url, api_key="test", timeout=0.2) as raw:
        text, _ = await stream_text(raw, **options)
    assert text == "error: APITimeoutError"
    assert time.monotonic() - started < 1.5


async def _timed_out_read(also_cancelled: bool) -> None:
    """A read under a `_ReadTimer` that has waited past its deadline when the timer looks;
    `also_cancelled`: someone else cancels the reading task at the same moment."""
    timer = _ReadTimer.make(10.0)
    assert timer is not None
    never = asyncio.Event()
    reading = asyncio.ensure_future(timer.bounded(never.wait()))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the read waits
    timer.started -= 20.0  # ... and has waited longer than its 10 s
    timer._check()
    if also_cancelled:
        reading.cancel()
    await reading


def test_the_read_timer_turns_its_own_cancellation_into_a_timeout() -> None:
    with pytest.raises(TimeoutError):
        asyncio.run(_timed_out_read(also_cancelled=False))


def test_someone_elses_cancellation_goes_through_the_read_timer() -> None:
    """A task cancelled from outside while the timer fires stays cancelled (Task.uncancel
    counts both): the timer never turns a caller's cancellation into a timeout."""
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(_timed_out_read(also_cancelled=True))


def _mock_answer(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=b"data: x\n\n")


def test_the_reader_is_not_used_for_a_transport_of_the_users() -> None:
    async def main() -> Any:
        async with (
            httpx2.AsyncClient(transport=httpx2.MockTransport(_mock_answer)) as client,
            client.stream("GET", "http://test/") as response,
        ):
            return direct_body(response)

    assert anyio.run(main) is None


def test_the_reader_is_used_only_on_the_releases_it_was_checked_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A release of h11, httpcore2, httpx2 or anyio outside `CHECKED_RELEASES` may lay out
    its private fields alike and mean something else by them: httpx2's own reading then."""
    from l0.client import body

    assert body._checked_releases()
    for index, (name, _lowest, _beyond) in enumerate(body.CHECKED_RELEASES):
        ranges = list(body.CHECKED_RELEASES)
        ranges[index] = (name, (99, 0), (100, 0))
        monkeypatch.setattr(body, "CHECKED_RELEASES", tuple(ranges))
        body._stack.cache_clear()
        try:
            assert not body._checked_releases() and body._stack() is None
        finally:
            monkeypatch.undo()
            body._stack.cache_clear()
    assert body._stack() is not None
