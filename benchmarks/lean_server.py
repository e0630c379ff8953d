"""The HTTP/1.1 server of benchmarks/lean.py, run in a process of its own.

    python benchmarks/lean_server.py PORT_FILE

It writes the port it listens on (127.0.0.1) to PORT_FILE and serves until its stdin is
closed. A request's `model` says what to stream: `fast-N` streams N OpenAI-shaped content
chunks as fast as it can (one HTTP chunk each); `paced-N-TRIAL-STREAM` streams them 50 per
second, each stream on its own schedule, and remembers when it wrote each one;
`times-TRIAL` answers (as JSON) the write times of that trial's paced streams, once.
Content is `workload.text_tokens(N)`; every stream ends with a finish chunk, a usage chunk
and `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import text_tokens

INTERVAL = 0.02  # 50 tokens per second


def _chunk(
    token: str | None, finish: str | None = None, *, usage: bool = False, role: bool = False
) -> bytes:
    """One SSE event shaped like OpenAI's, as an HTTP/1.1 chunk."""
    payload: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1733480000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_bench",
        "choices": []
        if usage
        else [
            {
                "index": 0,
                "delta": {} if token is None else {"content": token},
                **({"delta": {"role": "assistant", "content": ""}} if role else {}),
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2000, "total_tokens": 2012}
        if usage
        else None,
    }
    data = b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
_TAIL = _chunk(None, "stop") + _chunk(None, usage=True) + b"%x\r\n%s\r\n" % (
    len(b"data: [DONE]\n\n"),
    b"data: [DONE]\n\n",
) + b"0\r\n\r\n"


class _Paced:
    """Open paced streams: each gets its next chunk INTERVAL after the previous one, on its
    own schedule from when its request arrived (so the streams' chunks arrive spread out, as
    independent streams' do, not all at the same instant). A ticker every millisecond writes
    what is due, earliest first."""

    def __init__(self) -> None:
        self.due: list[tuple[float, int, asyncio.StreamWriter]] = []  # a heap
        self.chunks: dict[asyncio.StreamWriter, list[bytes]] = {}
        self.done: dict[asyncio.StreamWriter, asyncio.Event] = {}
        self.sent: dict[asyncio.StreamWriter, list[float]] = {}  # when each chunk was written
        self.count = 0

    def add(
        self, writer: asyncio.StreamWriter, chunks: list[bytes], now: float, sent: list[float]
    ) -> asyncio.Event:
        self.chunks[writer] = list(reversed(chunks))
        self.sent[writer] = sent
        done = self.done[writer] = asyncio.Event()
        self.count += 1
        heapq.heappush(self.due, (now + INTERVAL, self.count, writer))
        return done

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        due = self.due
        while True:
            await asyncio.sleep(0.001)
            now = loop.time()
            while due and due[0][0] <= now:
                at, order, writer = heapq.heappop(due)
                chunks = self.chunks[writer]
                writer.write(chunks.pop())
                self.sent[writer].append(time.monotonic())
                if chunks:
                    heapq.heappush(due, (at + INTERVAL, order, writer))
                else:
                    writer.write(_TAIL)
                    del self.chunks[writer]
                    del self.sent[writer]
                    self.done.pop(writer).set()


async def _serve(port_file: str) -> None:
    tokens: dict[int, list[bytes]] = {}
    paced = _Paced()
    sent: dict[str, dict[str, list[float]]] = {}  # trial -> stream -> send times

    def encoded(count: int) -> list[bytes]:
        if count not in tokens:
            tokens[count] = [_chunk(token) for token in text_tokens(count)]
        return tokens[count]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = json.loads(await reader.readexactly(length))
                mode, count, *stream = body["model"].split("-")
                if mode == "times":  # a paced trial's send times, as JSON, once
                    answer = json.dumps(sent.pop(count, {})).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        b"content-length: %d\r\n\r\n%s" % (len(answer), answer)
                    )
                    await writer.drain()
                    continue
                chunks = encoded(int(count))
                writer.write(_HEAD + _chunk("", role=True))
                if mode == "paced":
                    trial, name = stream
                    times = sent.setdefault(trial, {}).setdefault(name, [])
                    now = asyncio.get_running_loop().time()
                    await paced.add(writer, chunks, now, times).wait()
                else:
                    for chunk in chunks:
                        writer.write(chunk)
                        await writer.drain()
                    writer.write(_TAIL)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    ticker = asyncio.create_task(paced.tick())
    port = server.sockets[0].getsockname()[1]
    Path(port_file).write_text(str(port))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    ticker.cancel()
    os._exit(0)  # the client closed our stdin: it is done; open connections just go



if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1]))
