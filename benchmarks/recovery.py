"""Recovery from provider faults, and the end-to-end cost of l0 over HTTP (issue 15).

A FaultServer (`l0.testing`) runs in a separate process; the real openai SDK talks to it
over 127.0.0.1. Two measurements:

- **Recovery**: for each fault class, the primary model keeps failing that way (a one-off
  blip fails once, then answers) and a fallback model is healthy. Measured: the wall time
  until the complete answer is in hand, and the requests sent (to the primary + to the
  fallback), for the first call and for the next call right after it. Three clients:
  l0's defaults (`l0.run` with the fallback; route health on, as by default with
  fallbacks), l0 with `hedge_after=500`, and the bare openai SDK (its own retries,
  `max_retries=2`, then a hand-written try-the-fallback). All use a 2 s inter-token
  (read) timeout, as in the issue's stall case; l0 keeps its default 5 s first-token
  timeout.
- **End to end**: 2,000 content chunks streamed by the server, read by the raw SDK
  (`async for chunk in stream`) and by l0 with everything on (timeouts, recommended
  guardrails, drift detection, continuation) through the wrapped client; medians of
  interleaved runs.

    python benchmarks/recovery.py [--reps N] [--e2e-reps N] [--write benchmarks/RESULTS.md]

With `--write`, the report replaces the section between the recovery markers of that file
(appended when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import openai

import l0
from l0.routes import InMemoryRouteHealth

FAULTS = (
    "503-retry-after-1",
    "429",
    "drop-mid-stream",
    "stall-mid-stream",
    "silent-start",
    "one-off-blip",
)
FAULT_LABELS = {
    "503-retry-after-1": "503 with `Retry-After: 1`",
    "429": "429",
    "drop-mid-stream": "dropping the connection mid-stream",
    "stall-mid-stream": "stalling mid-stream",
    "silent-start": "silent before the first token",
    "one-off-blip": "a one-off blip (one 503, then fine)",
}
CLIENTS = ("l0", "l0-hedge", "sdk")
CLIENT_LABELS = {"l0": "l0 defaults", "l0-hedge": "l0, hedge_after=500", "sdk": "openai SDK"}
TOKENS = ["Hello", ",", " this", " is", " the", " answer", "."]
ANSWER = "".join(TOKENS)
LONG = 2000
USER = [{"role": "user", "content": "Say hello"}]
START, END = "<!-- recovery:start -->", "<!-- recovery:end -->"

# The server process: scripts every model the run will ask for, prints its port, and serves
# until its stdin closes.
SERVER = r"""
import json, sys
from l0.testing import ErrorReply, FaultServer, Reply, Stall

config = json.loads(sys.argv[1])
tokens = config["tokens"]
healthy = Reply(tokens)
faults = {
    "503-retry-after-1": ([], ErrorReply(503, retry_after=1)),
    "429": ([], ErrorReply(429)),
    "drop-mid-stream": ([], Reply(tokens, drop_after=3)),
    "stall-mid-stream": ([], Reply(tokens, stall=Stall(120.0, after=3))),
    "silent-start": ([], Reply(tokens, stall=Stall(120.0, before_headers=True))),
    "one-off-blip": ([ErrorReply(503)], healthy),
}
server = FaultServer(default=healthy)
for model in config["models"]:
    steps, then = faults[model.split("/")[0]]
    server.script(model, steps, then=then)
server.script("long", [], then=Reply([f"w{i} " for i in range(config["long"])]))
with server:
    print(server.port, flush=True)
    sys.stdin.read()
"""


def model_name(fault: str, client: str, rep: int) -> str:
    return f"{fault}/{client}/{rep}"


class ServerProcess:
    """The FaultServer in a child process."""

    def __init__(self, models: list[str]) -> None:
        config = {"tokens": TOKENS, "models": models, "long": LONG}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline())
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Counted:
    """An openai client whose requests are counted per model (an httpx request hook)."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self.sent: Counter[str] = Counter()

        async def count(request: httpx.Request) -> None:
            self.sent[json.loads(request.content)["model"]] += 1

        self.http = httpx.AsyncClient(event_hooks={"request": [count]})
        self.client = openai.AsyncOpenAI(
            base_url=base_url, api_key="bench", http_client=self.http, **options
        )

    async def close(self) -> None:
        await self.client.close()
        await self.http.aclose()


# -- one call per client kind -----------------------------------------------------------------


async def l0_call(completions: Any, primary: str, store: Any, hedge: bool) -> str:
    result = await l0.run(
        stream=completions.factory(model=primary, messages=USER),
        fallbacks=[completions.factory(model="healthy", messages=USER)],
        timeout=l0.Timeout(inter_token=2000),
        route_health=store,
        hedge_after=500 if hedge else None,
    )
    return await result.read()


async def sdk_call(client: openai.AsyncOpenAI, primary: str) -> str:
    """What an application without l0 writes: the SDK's retries, then the fallback."""
    last: BaseException | None = None
    for model in (primary, "healthy"):
        try:
            stream = await client.chat.completions.create(model=model, messages=USER, stream=True)  # type: ignore[arg-type]
            parts = []
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
            return "".join(parts)
        except (openai.APIError, httpx.HTTPError) as error:
            last = error
    raise RuntimeError(f"no model answered: {last!r}")


async def recovery(base_url: str, reps: int) -> dict[str, dict[str, dict[str, float]]]:
    """fault -> client -> medians of first/next call time and requests."""
    timings: dict[str, dict[str, list[tuple[float, int, int, float, int, int]]]] = {
        fault: {client: [] for client in CLIENTS} for fault in FAULTS
    }
    for rep in range(reps):
        for fault in FAULTS:
            for kind in CLIENTS:
                primary = model_name(fault, kind, rep)
                if kind == "sdk":
                    counted = Counted(base_url, timeout=httpx.Timeout(5.0, read=2.0))

                    def call(counted: Counted = counted, primary: str = primary) -> Awaitable[str]:
                        return sdk_call(counted.client, primary)
                else:
                    counted = Counted(base_url)
                    completions = l0.wrap(counted.client).chat.completions
                    store = InMemoryRouteHealth()

                    def call(
                        completions: Any = completions,
                        primary: str = primary,
                        store: Any = store,
                        hedge: bool = kind == "l0-hedge",
                    ) -> Awaitable[str]:
                        return l0_call(completions, primary, store, hedge)

                row: list[float] = []
                for _ in ("first", "next"):
                    before = Counter(counted.sent)
                    start = time.perf_counter()
                    text = await call()
                    took = time.perf_counter() - start
                    assert text == ANSWER, (fault, kind, text)
                    row += [
                        took,
                        counted.sent[primary] - before[primary],
                        counted.sent["healthy"] - before["healthy"],
                    ]
                await counted.close()
                timings[fault][kind].append(tuple(row))  # type: ignore[arg-type]
                print(f"  {fault:>18} {kind:>8}: {row[0]:.2f} s, {row[1]:.0f}+{row[2]:.0f} req",
                      flush=True)  # fmt: skip
    return {
        fault: {
            kind: {
                name: statistics.median(r[i] for r in rows)
                for i, name in enumerate(
                    ("time", "primary", "fallback", "next_time", "next_primary", "next_fallback")
                )
            }
            for kind, rows in by_client.items()
        }
        for fault, by_client in timings.items()
    }


# -- end to end --------------------------------------------------------------------------------


async def end_to_end(base_url: str, reps: int) -> dict[str, float]:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    wrapped = l0.wrap(
        client,
        timeout=l0.Timeout(initial_token=5000, inter_token=10000),
        guardrails=l0.Guardrails.recommended(),
        drift_detector=l0.DriftDetector(),
        continue_from_last_good_token=True,
    )
    request: dict[str, Any] = {
        "model": "long",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    expected = "".join(f"w{i} " for i in range(LONG))

    async def raw() -> str:
        stream = await client.chat.completions.create(**request)
        parts = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    async def through_l0() -> str:
        result = await wrapped.chat.completions.create(**request)
        text: str = await result.read()
        return text

    samples: dict[str, list[float]] = {"raw": [], "l0": []}
    runs: dict[str, Callable[[], Awaitable[str]]] = {"raw": raw, "l0": through_l0}
    for index in range(reps + 2):  # two warm-up rounds
        order = ("raw", "l0") if index % 2 == 0 else ("l0", "raw")
        for name in order:
            start = time.perf_counter()
            text = await runs[name]()
            took = time.perf_counter() - start
            assert text == expected, name
            if index >= 2:
                samples[name].append(took)
    await client.close()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {"raw_ms": medians["raw"] * 1000, "l0_ms": medians["l0"] * 1000}


# -- the report ---------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    lines = [
        START,
        "## Recovery from provider faults (benchmarks/recovery.py)",
        "",
        "Generated by `make bench` (benchmarks/recovery.py); do not edit by hand.",
        "",
        f"- date: {report['date']}",
        f"- machine: {report['machine']}, {report['cpus']} CPUs (shared with other work "
        "while measured: times are indicative)",
        f"- Python {report['python']}, openai {openai.__version__}; FaultServer in a separate "
        f"process on 127.0.0.1; medians of {report['reps']} run(s)",
        "",
        "The primary model keeps failing as named (the blip fails once); the fallback model is",
        "healthy. Time until the complete answer; requests sent as primary + fallback. `next` is",
        "the call right after, with what the first one learned (route health for l0). All",
        "clients use a 2 s inter-token (read) timeout; l0's first-token timeout is its default",
        "5 s; the SDK retries by itself (`max_retries=2`), then the code tries the fallback.",
        "A stall or a silent start is one route failure per call (the call leaves the route at",
        "once), so route health skips such a route from the third call on (two failures in a",
        "row open it); 503, 429 and dropped streams open it within the first call.",
        "",
        "| the primary keeps… | client | time to the answer | requests "
        "| next call | next requests |",
        "|---|---|---|---|---|---|",
    ]
    for fault in FAULTS:
        for kind in CLIENTS:
            r = report["recovery"][fault][kind]
            lines.append(
                f"| {FAULT_LABELS[fault]} | {CLIENT_LABELS[kind]} | {r['time']:.2f} s | "
                f"{r['primary']:.0f} + {r['fallback']:.0f} | {r['next_time']:.2f} s | "
                f"{r['next_primary']:.0f} + {r['next_fallback']:.0f} |"
            )
    e2e = report["end_to_end"]
    lines += [
        "",
        f"End to end, {LONG:,} chunks over HTTP through the real openai SDK (medians of "
        f"{report['e2e_reps']} interleaved runs):",
        "",
        "| reading | time | x raw SDK |",
        "|---|---|---|",
        f"| raw SDK `async for` | {e2e['raw_ms']:.1f} ms | 1.00 |",
        "| l0, everything on (timeouts, recommended guardrails, drift, continuation) | "
        f"{e2e['l0_ms']:.1f} ms | {e2e['l0_ms'] / e2e['raw_ms']:.2f} |",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


async def measure(reps: int, e2e_reps: int) -> dict[str, Any]:
    models = [model_name(f, c, r) for f in FAULTS for c in CLIENTS for r in range(reps)]
    server = ServerProcess(models)
    try:
        print("recovery (time, primary+fallback requests of the first call):", flush=True)
        found = await recovery(server.base_url, reps)
        print("end to end:", flush=True)
        e2e = await end_to_end(server.base_url, e2e_reps)
        print(f"  raw {e2e['raw_ms']:.1f} ms, l0 everything {e2e['l0_ms']:.1f} ms", flush=True)
    finally:
        server.close()
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "reps": reps,
        "e2e_reps": e2e_reps,
        "recovery": found,
        "end_to_end": e2e,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1, help="runs per fault and client")
    parser.add_argument("--e2e-reps", type=int, default=15, help="end-to-end runs per reader")
    parser.add_argument("--write", help="put the report's section into this markdown file")
    parser.add_argument("--json", help="write the raw numbers here")
    args = parser.parse_args()
    report = asyncio.run(measure(args.reps, args.e2e_reps))
    section = markdown(report)
    print()
    print(section)
    if args.write:
        write_section(Path(args.write), section)
        print(f"wrote {args.write}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
