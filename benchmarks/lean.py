"""CPU per streamed chunk through the real `openai` SDK: bare, l0's SDK path, l0's lean path.

A small HTTP/1.1 server in ANOTHER process (benchmarks/lean_server.py, started here) streams
OpenAI-shaped chat completion chunks, so the client process's CPU time is the client's
alone. The client measures, for one stream of `--chunks` chunks at a time (interleaved,
after a warm-up, median of `--reps`):

- `bare SDK`: `async for chunk in await client.chat.completions.create(stream=True)`;
- `l0 SDK path`: `l0.wrap(client, adapter="openai", ...)`, everything on (timeouts,
  `Guardrails.recommended()`, a drift detector, continuation), the SDK's chunk objects;
- `l0 lean path`: `l0.wrap(client, ...)` with the same options, l0 reading the body itself;
- `l0 lean, core`: the lean path with no options.

`time.process_time()` of the client process divided by the chunks gives CPU per chunk, and
its inverse chunks per second per core. Every run's text is checked.

Then the concurrency row: streams that each send 50 chunks per second (the server writes
each open stream's next chunk 20 ms after its previous one, every stream on its own
schedule), N at a time in the one-threaded client. The streams start over the first half of
a stream's life, and only tokens written while all N are open count. A token's latency is
the time from the server's write to the consumer's event (both processes read the
machine's monotonic clock; the server reports its write times after the trial). N doubles
(then bisects) until the p99 latency exceeds 20 ms; the last N that kept it
is what one core sustains. Each N gets a second trial when the first misses (the better
one counts): on a shared machine a neighbour's burst of CPU delays a trial for reasons that
are not the client's. The target: the lean path sustains five times the bare SDK's streams.

`--floor N` measures instead what a paced chunk costs at each layer under the lean path, N
streams at once: a bare asyncio `Protocol` reading the same HTTP response, an anyio socket,
httpx2's `aiter_raw()`, the SDK's request with httpx2's `aiter_bytes()`, then the lean path
with no options and with everything on.

    python benchmarks/lean.py [--quick] [--rows cpu,sustained] [--scenarios bare,lean]
                              [--floor N] [--json OUT] [--write-results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import text_tokens, write_section

INTERVAL = 0.02  # 50 tokens per second
LATENCY_LIMIT = 0.020
USER = [{"role": "user", "content": "Tell me about reliable streams."}]

# -- the client ----------------------------------------------------------------------------------


def everything() -> dict[str, Any]:
    import l0

    return {
        "timeout": l0.Timeout(initial_token=5000, inter_token=10000),
        "guardrails": l0.Guardrails.recommended(),
        "drift_detector": l0.DriftDetector(),
        "continue_from_last_good_token": True,
    }


def clients(base_url: str) -> dict[str, Callable[[str], Awaitable[list[str]]]]:
    """Each scenario: model name in, the streamed tokens out (one per arrival)."""
    import openai

    import l0

    raw = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    sdk_path = l0.wrap(raw, adapter="openai", **everything())
    lean_path = l0.wrap(raw, **everything())
    lean_core = l0.wrap(raw)

    async def bare(model: str) -> list[str]:
        parts = []
        stream = await raw.chat.completions.create(
            model=model, messages=USER, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return parts

    def through(client: Any) -> Callable[[str], Awaitable[list[str]]]:
        async def run(model: str) -> list[str]:
            parts = []
            stream = await client.chat.completions.create(model=model, messages=USER, stream=True)
            async for event in stream:
                if event.is_token:
                    parts.append(event.text)
            return parts

        return run

    return {
        "bare SDK": bare,
        "l0 SDK path, everything": through(sdk_path),
        "l0 lean path, everything": through(lean_path),
        "l0 lean path, core": through(lean_core),
    }


async def cpu_per_chunk(
    base_url: str, chunks: int, reps: int, names: list[str] | None = None
) -> dict[str, dict[str, float]]:
    runs = chosen(clients(base_url), names)
    expected = text_tokens(chunks)
    model = f"fast-{chunks}"
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up: connections, imports, caches
        assert await run(model) == [t for t in expected if t]
    for _ in range(reps):
        for name, run in runs.items():
            gc.collect()
            started = time.process_time()
            got = await run(model)
            samples[name].append((time.process_time() - started) / chunks)
            if got != [t for t in expected if t]:
                raise AssertionError(f"{name}: wrong text")
    table = {}
    for name, values in samples.items():
        per_chunk = statistics.median(values)
        table[name] = {"cpu_us_per_chunk": per_chunk * 1e6, "chunks_per_second": 1 / per_chunk}
    return table


_trials = itertools.count()


async def paced_trial(
    run: Callable[..., Awaitable[Any]], streams: int, tokens: int, base_url: str
) -> dict[str, float]:
    """`streams` paced streams at once: p99 of a token's latency (from the moment the server
    wrote it to the moment the consumer got it, on the machine's monotonic clock, which
    both processes share), and CPU per chunk."""
    import httpx2

    trial = str(next(_trials))
    arrivals: dict[str, list[float]] = {}

    spread = tokens * INTERVAL / 2  # streams start over the first half of a stream's life

    async def one(index: int) -> None:
        await asyncio.sleep(spread * index / streams)
        name = str(index)
        arrivals[name] = await run(f"paced-{tokens}-{trial}-{name}", clock=time.monotonic)

    gc.collect()
    started = time.process_time()
    await asyncio.gather(*(one(index) for index in range(streams)))
    cpu = time.process_time() - started
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{base_url}/chat/completions", json={"model": f"times-{trial}"})
    sent = answer.json()
    # Only the tokens written while all the streams were open count: N at once, and starting
    # a stream (the SDK's request building) spread out as it is when streams come and go.
    full_from = max(times[0] for times in sent.values())
    full_until = min(times[-1] for times in sent.values())
    if full_from > full_until:  # the client could not even start them all in time
        full_from, full_until = -math.inf, math.inf
    latency = sorted(
        got - written
        for name, times in arrivals.items()
        for got, written in zip(times, sent[name], strict=True)
        if full_from <= written <= full_until
    )
    return {
        "p99_ms": latency[int(len(latency) * 0.99)] * 1000,
        "median_ms": latency[len(latency) // 2] * 1000,
        "cpu_us_per_chunk": cpu / (streams * tokens) * 1e6,
    }


async def best_trial(
    run: Callable[..., Awaitable[Any]], streams: int, tokens: int, base_url: str
) -> dict[str, float]:
    """The better of two trials: on a shared machine, a neighbour's burst of CPU can make one
    trial late for reasons that are not the client's."""
    first = await paced_trial(run, streams, tokens, base_url)
    if first["p99_ms"] <= LATENCY_LIMIT * 1000:
        return first
    second = await paced_trial(run, streams, tokens, base_url)
    return min(first, second, key=lambda trial: trial["p99_ms"])


def timed_clients(base_url: str) -> dict[str, Callable[..., Awaitable[list[float]]]]:
    """The scenarios again, returning each token's arrival time instead of its text."""
    import openai

    import l0

    raw = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    sdk_path = l0.wrap(raw, adapter="openai", **everything())
    lean_path = l0.wrap(raw, **everything())

    async def bare(model: str, clock: Callable[[], float]) -> list[float]:
        arrivals = []
        stream = await raw.chat.completions.create(
            model=model, messages=USER, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(clock())
        return arrivals

    def through(client: Any) -> Callable[..., Awaitable[list[float]]]:
        async def run(model: str, clock: Callable[[], float]) -> list[float]:
            arrivals = []
            stream = await client.chat.completions.create(model=model, messages=USER, stream=True)
            async for event in stream:
                if event.is_token:
                    arrivals.append(clock())
            return arrivals

        return run

    return {
        "bare SDK": bare,
        "l0 SDK path, everything": through(sdk_path),
        "l0 lean path, everything": through(lean_path),
    }


def chosen(scenarios: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """The scenarios whose name contains one of `names` (all of them without a filter)."""
    if not names:
        return scenarios
    return {key: value for key, value in scenarios.items() if any(n in key for n in names)}


async def sustained(
    base_url: str, tokens: int, start: int, limit: int, names: list[str] | None = None
) -> dict[str, Any]:
    """Per scenario: the most paced streams whose p99 token latency stays within 20 ms."""
    result: dict[str, Any] = {}
    for name, run in chosen(timed_clients(base_url), names).items():
        await paced_trial(run, 4, 10, base_url)  # warm-up
        good, bad = 0, None
        trials: dict[int, dict[str, float]] = {}
        streams = start
        while streams <= limit:
            trial = trials[streams] = await best_trial(run, streams, tokens, base_url)
            if trial["p99_ms"] > LATENCY_LIMIT * 1000:
                bad = streams
                break
            good = streams
            streams *= 2
        while bad is not None and bad - good > max(4, good // 8):
            streams = (good + bad) // 2
            trial = trials[streams] = await best_trial(run, streams, tokens, base_url)
            if trial["p99_ms"] > LATENCY_LIMIT * 1000:
                bad = streams
            else:
                good = streams
        result[name] = {
            "streams": good,
            "capped": bad is None,
            "trials": {str(n): t for n, t in sorted(trials.items())},
        }
    return result


async def measure(
    base_url: str, quick: bool, reps: int, rows: list[str], names: list[str] | None
) -> dict[str, Any]:
    chunks = 200 if quick else 2000
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "chunks": chunks,
    }
    if "cpu" in rows:
        report["cpu"] = await cpu_per_chunk(base_url, chunks, 1 if quick else reps, names)
    if "sustained" in rows:
        report["sustained"] = await sustained(
            base_url, 20 if quick else 200, 4 if quick else 25, 8 if quick else 3200, names
        )
    report["load_average_after"] = os.getloadavg()
    return report


def with_server(action: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    port_file = Path(f"/tmp/l0-lean-bench-{os.getpid()}.port")
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("lean_server.py")), str(port_file)],
        stdin=subprocess.PIPE,
    )
    try:
        while not port_file.exists() or not port_file.read_text():
            if server.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.02)
        base_url = f"http://127.0.0.1:{port_file.read_text()}/v1"
        return asyncio.run(action(base_url))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
        port_file.unlink(missing_ok=True)


LEAN = "l0 lean path, everything"
STREAMS_TARGET = 5.0  # the lean path sustains five times the bare SDK's streams


def streams_ratio(report: dict[str, Any]) -> float | None:
    """Streams the lean path sustains over the bare SDK's (None when not both measured)."""
    rows = report.get("sustained", {})
    if "bare SDK" not in rows or LEAN not in rows or not rows["bare SDK"]["streams"]:
        return None
    return float(rows[LEAN]["streams"] / rows["bare SDK"]["streams"])


def _cpu_at(row: dict[str, Any]) -> float:
    """CPU per chunk at the most streams a scenario sustained."""
    return float(row["trials"][str(row["streams"])]["cpu_us_per_chunk"])


def table(report: dict[str, Any]) -> str:
    lines = [
        f"server in another process, load average {report['load_average'][0]:.1f} "
        f"(after: {report.get('load_average_after', report['load_average'])[0]:.1f}) "
        f"on {report['cpus']} CPUs"
    ]
    cpu = report.get("cpu")
    if cpu:
        bare = cpu["bare SDK"]["cpu_us_per_chunk"] if "bare SDK" in cpu else None
        lines.append(f"{report['chunks']} chunks per stream, read flat out:")
        lines.append(f"{'':<28}{'CPU/chunk':>12}{'chunks/s/core':>15}{'x bare SDK':>12}")
        for name, row in cpu.items():
            ratio = f"{row['cpu_us_per_chunk'] / bare:>12.2f}" if bare else ""
            lines.append(
                f"{name:<28}{row['cpu_us_per_chunk']:>9.1f} us{row['chunks_per_second']:>15,.0f}"
                f"{ratio}"
            )
    if report.get("sustained"):
        lines.append("")
        lines.append("50-token/s streams one core sustains (p99 token latency <= 20 ms), and the")
        lines.append("streams its CPU per chunk there would allow on a whole core (1 / CPU / 50):")
        for name, row in report["sustained"].items():
            more = "+" if row["capped"] else ""
            at = row["trials"].get(str(row["streams"]))
            cost = ""
            if at:
                bound = 1e6 / at["cpu_us_per_chunk"] / (1 / INTERVAL)
                cost = f", {at['cpu_us_per_chunk']:.1f} us CPU/chunk there: {bound:.0f} streams"
            lines.append(f"{name:<28}{row['streams']:>6}{more} streams{cost}")
        ratio = streams_ratio(report)
        if ratio is not None:
            rows = report["sustained"]
            cpu_ratio = _cpu_at(rows["bare SDK"]) / _cpu_at(rows[LEAN])
            lines.append(
                f"lean path, everything on, over the bare SDK: {ratio:.2f}x the streams "
                f"(by CPU per chunk where each stopped: {cpu_ratio:.2f}x)"
            )
    if report.get("floor"):
        lines.append("")
        lines.append(floor_table(report["floor"]))
    return "\n".join(lines)


def write_results(path: Path, report: dict[str, Any]) -> None:
    """Replace (or add) this benchmark's own section of RESULTS.md."""
    cpu = report["cpu"]
    bare = cpu["bare SDK"]["cpu_us_per_chunk"]
    lean = cpu[LEAN]["cpu_us_per_chunk"]
    rows = [
        f"| lean path, everything on, <= 1/5 of the bare SDK's CPU per chunk | "
        f"{lean / bare:.2f}x | {'yes' if lean <= bare / 5 else '**no**'} |"
    ]
    ratio = streams_ratio(report)
    if ratio is not None:
        rows.append(
            f"| lean path, everything on, sustains >= {STREAMS_TARGET:.0f}x the bare SDK's "
            f"50-token/s streams per core | {ratio:.2f}x | "
            f"{'yes' if ratio >= STREAMS_TARGET else '**no**'} |"
        )
    body = "\n".join(
        [
            "## The lean stream path (the real openai SDK over HTTP)",
            "",
            f"Generated by `make bench` (benchmarks/lean.py) on {report['date']}, "
            f"{report['cpus']} CPUs, load average {report['load_average'][0]:.1f} (a shared "
            "machine: absolute numbers are noisy; the ratios are measured in the same run).",
            "",
            "| target | measured | met |",
            "|---|---|---|",
            *rows,
            "",
            "```",
            table(report),
            "```",
        ]
    )
    write_section(str(path), "lean", body)


# -- the floor: what a paced chunk costs at each layer -------------------------------------------

_CONTENT = b'"delta": {"content": '  # in each content chunk the server writes, once


def floor_clients(base_url: str) -> dict[str, Callable[..., Awaitable[list[float]]]]:
    """Readers of the same paced response, from a bare socket up to the lean path; each
    returns an arrival time per content chunk (counted in the bytes for the raw readers)."""
    import anyio
    import httpx2
    import openai

    import l0

    host, port = base_url.split("//")[1].split("/")[0].split(":")
    raw = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    http = httpx2.AsyncClient()

    def request(model: str) -> bytes:
        body = json.dumps({"model": model, "messages": USER, "stream": True}).encode()
        return (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json"
            b"\r\ncontent-length: %d\r\n\r\n%s" % (host.encode(), len(body), body)
        )

    def arrived(arrivals: list[float], data: bytes, clock: Callable[[], float]) -> None:
        count = data.count(_CONTENT)
        if count:
            arrivals.extend([clock()] * count)

    async def protocol(model: str, clock: Callable[[], float]) -> list[float]:
        loop = asyncio.get_running_loop()
        arrivals: list[float] = []
        done = loop.create_future()

        class Reader(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                arrived(arrivals, data, clock)
                if data.endswith(b"0\r\n\r\n") and not done.done():
                    done.set_result(None)

        transport, _ = await loop.create_connection(Reader, host, int(port))
        transport.write(request(model))
        await done
        transport.close()
        return arrivals

    async def anyio_socket(model: str, clock: Callable[[], float]) -> list[float]:
        arrivals: list[float] = []
        async with await anyio.connect_tcp(host, int(port)) as sock:
            await sock.send(request(model))
            while True:
                data = await sock.receive()
                arrived(arrivals, data, clock)
                if data.endswith(b"0\r\n\r\n"):
                    return arrivals

    async def httpx2_raw(model: str, clock: Callable[[], float]) -> list[float]:
        arrivals: list[float] = []
        payload = {"model": model, "messages": USER, "stream": True}
        async with http.stream("POST", f"{base_url}/chat/completions", json=payload) as answer:
            async for data in answer.aiter_raw():
                arrived(arrivals, data, clock)
        return arrivals

    async def sdk_bytes(model: str, clock: Callable[[], float]) -> list[float]:
        arrivals: list[float] = []
        create = raw.chat.completions.with_streaming_response.create
        async with create(model=model, messages=USER, stream=True) as answer:
            async for data in answer.http_response.aiter_bytes():
                arrived(arrivals, data, clock)
        return arrivals

    timed = timed_clients(base_url)
    core = l0.wrap(raw)

    async def lean_core(model: str, clock: Callable[[], float]) -> list[float]:
        arrivals = []
        stream = await core.chat.completions.create(model=model, messages=USER, stream=True)
        async for event in stream:
            if event.is_token:
                arrivals.append(clock())
        return arrivals

    return {
        "asyncio Protocol": protocol,
        "anyio socket": anyio_socket,
        "httpx2 aiter_raw()": httpx2_raw,
        "SDK request, aiter_bytes()": sdk_bytes,
        "l0 lean path, core": lean_core,
        LEAN: timed[LEAN],
        "bare SDK": timed["bare SDK"],
    }


async def floor(base_url: str, streams: int, reps: int) -> dict[str, Any]:
    """CPU per paced chunk of each reader at `streams` streams (interleaved; the median)."""
    runs = floor_clients(base_url)
    for run in runs.values():
        await paced_trial(run, 4, 10, base_url)  # warm-up
    trials: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            trials[name].append(await paced_trial(run, streams, 200, base_url))
    return {
        "streams": streams,
        "rows": {
            name: {
                "cpu_us_per_chunk": statistics.median(t["cpu_us_per_chunk"] for t in got),
                "p99_ms": statistics.median(t["p99_ms"] for t in got),
            }
            for name, got in trials.items()
        },
    }


def floor_table(result: dict[str, Any]) -> str:
    lines = [
        f"CPU per paced chunk at each layer, {result['streams']} streams at 50 chunks/s "
        "(median of the trials):",
        f"{'':<28}{'CPU/chunk':>12}{'p99 latency':>14}",
    ]
    for name, row in result["rows"].items():
        lines.append(f"{name:<28}{row['cpu_us_per_chunk']:>9.1f} us{row['p99_ms']:>11.1f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes: prove it works")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument(
        "--rows",
        default="cpu,sustained",
        help="which rows to measure: cpu (flat out), sustained (the concurrency row)",
    )
    parser.add_argument(
        "--scenarios", help="only the scenarios whose name contains one of these (comma-separated)"
    )
    parser.add_argument(
        "--floor",
        type=int,
        metavar="N",
        help="instead: CPU per paced chunk at each layer under the lean path, N streams",
    )
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--write-results", help="update this RESULTS.md's lean section")
    args = parser.parse_args()
    rows = args.rows.split(",")
    names = args.scenarios.split(",") if args.scenarios else None
    if args.write_results and (names or rows != ["cpu", "sustained"] or args.floor):
        parser.error("--write-results needs the full benchmark (no --rows, --scenarios, --floor)")

    async def action(url: str) -> dict[str, Any]:
        if args.floor:
            report = {
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "floor": await floor(url, args.floor, 1 if args.quick else 3),
            }
            report["load_average_after"] = os.getloadavg()
            return report
        return await measure(url, args.quick, args.reps, rows, names)

    report = with_server(action)
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.write_results:
        write_results(Path(args.write_results), report)


if __name__ == "__main__":
    main()
