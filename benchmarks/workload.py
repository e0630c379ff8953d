"""Throughput and latency of whichever `l0` this interpreter imports.

Run it with this repository's environment (`make bench`) or with the peer library's
(`make bench-peer` runs both, alternately, and compares). Every measurement uses zero-delay
mock streams, warms up first, interleaves the scenarios, reports the median of many runs,
and checks that every run produced exactly the expected text.

    python benchmarks/workload.py [--quick] [--vocabularies] [--json OUT] [--reps N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import l0

IS_PEER = any(d.metadata["Name"] == "ai2070-l0" for d in importlib.metadata.distributions())
LIBRARY = "ai2070-l0" if IS_PEER else "l0"


def as_chunk(text: str) -> Any:
    """The one difference between the libraries' inputs: the peer drops plain strings, so it
    gets `l0.Event` tokens; this package gets the strings themselves."""
    if IS_PEER:
        return l0.Event(type=l0.EventType.TOKEN, text=text)
    return text


def text_tokens(count: int) -> list[str]:
    """Prose-like tokens of about four characters (the usual size of an LLM token): words
    drawn from a small vocabulary by a seeded generator, some split in two as tokenizers do."""
    rng = random.Random(count)
    words = [
        "the",
        "a",
        "model",
        "stream",
        "token",
        "answer",
        "reliable",
        "network",
        "retry",
        "fallback",
        "checkpoint",
        "guard",
        "rail",
        "output",
        "text",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "it",
        "for",
        "on",
        "with",
        "as",
        "was",
        "by",
        "this",
        "be",
        "are",
        "from",
        "at",
        "or",
        "an",
        "which",
        "their",
        "will",
        "would",
        "there",
        "been",
        "has",
        "more",
        "about",
        "what",
        "when",
        "other",
        "some",
    ]
    tokens: list[str] = []
    while len(tokens) < count:
        word = " " + rng.choice(words)
        if len(word) > 6:
            tokens += [word[:4], word[4:]]
        else:
            tokens.append(word)
        if rng.random() < 0.08:
            tokens.append(".")
    return tokens[:count]


# The most common English words (no near-misses of the guardrail phrases among them).
_COMMON_ENGLISH = (
    "the be to of and a in that have it for not on with he as you do at this but his by from "
    "they we say her she or an will my one all would there their what so up out if about who "
    "get which go me when make can like time no just him know take people into year your good "
    "some could them see other than then now look only come its over think also back after "
    "use two how our work first well way even new want because any these give day most us "
    "is was are been has had were said did made found long down water part place world number "
    "great little old same large small right still every between own under never last while "
    "might next sound below saw something thought both few those always show often together "
    "group began mother city country answer school father story young example family system "
    "question problem service market program government company result research data model"
)
COMMON_ENGLISH = tuple(_COMMON_ENGLISH.split())

# Near misses of the pattern guardrails' phrases: a phrase with a letter more before it
# ("hi hope this helps" for "i hope this helps"; the pre-filter once let these through to
# the patterns, now its word-boundary lookbehinds reject them), then some with a letter more
# after it, which only the word boundary at their end keeps out.
NEAR_MISSES = (
    " hi hope this helps",
    " redelve into it",
    " alias an ai",
    " canvas a language model",
    " enemy training data",
    " refeel free to ask",
    " has an aim",
    " was an aide",
    " my knowledge cutoffs",
    " i'm just an aide",
)


def prose_tokens(
    count: int,
    *,
    words: Sequence[str],
    sentence_words: float,
    comma_words: float = 0.0,
    paragraph_words: float = 0.0,
    extras: Sequence[str] = (),
    extras_words: float = 0.0,
    seed: int = 0,
) -> list[str]:
    """Prose tokens: `words` drawn by a seeded generator, a period about every
    `sentence_words` words (the next word capitalised), commas, paragraph breaks and
    `extras` phrases about every so many words; words over five letters split in two as
    tokenizers do."""
    rng = random.Random(seed * 1_000_003 + count)
    tokens: list[str] = []
    capital = True
    while len(tokens) < count:
        if extras and rng.random() < 1 / extras_words:
            phrase = rng.choice(extras)
            tokens += [" " + part for part in phrase.split()]
            continue
        word = rng.choice(words)
        if capital:
            word = word[:1].upper() + word[1:]
            capital = False
        word = " " + word
        if len(word) > 6:
            tokens += [word[:4], word[4:]]
        else:
            tokens.append(word)
        if rng.random() < 1 / sentence_words:
            tokens.append(".")
            capital = True
            if paragraph_words and rng.random() < sentence_words / paragraph_words:
                tokens.append("\n\n")
        elif comma_words and rng.random() < 1 / comma_words:
            tokens.append(",")
    return tokens[:count]


PUNCTUATION = ("?", "!", ";", ":", " (", ")", ' "', '"', " -", "'s", " 42", " 3.14")


def punctuated_tokens(count: int) -> list[str]:
    """Common English with short sentences and punctuation of every kind (quotes,
    parentheses, numbers, questions) about every other word."""
    tokens = prose_tokens(
        count, words=COMMON_ENGLISH, sentence_words=6, comma_words=4, paragraph_words=40, seed=2
    )
    rng = random.Random(count)
    out: list[str] = []
    for token in tokens:
        if token.startswith(" ") and rng.random() < 0.25:  # between words, not inside one
            out.append(rng.choice(PUNCTUATION))
        out.append(token)
    return out[:count]


# Kinds of text: each makes `count` tokens of it.
VOCABULARIES: dict[str, Callable[[int], list[str]]] = {
    "bench": lambda count: text_tokens(count),
    "english": lambda count: prose_tokens(
        count, words=COMMON_ENGLISH, sentence_words=17, comma_words=12, paragraph_words=120
    ),
    "punctuated": punctuated_tokens,
    "near_misses": lambda count: prose_tokens(
        count,
        words=COMMON_ENGLISH,
        sentence_words=17,
        comma_words=12,
        extras=NEAR_MISSES,
        extras_words=12,
        seed=3,
    ),
}
VOCABULARY_SCENARIOS = ("raw", "core_read", "recommended", "drift", "everything")


def json_tokens(count: int) -> list[str]:
    """A JSON document (an array of small objects) split into about `count` tokens."""
    tokens = ["["]
    index = 0
    while len(tokens) + 4 < count:
        if index:
            tokens.append(", ")
        tokens += [f'{{"id": {index}, ', f'"name": "item{index}"', "}"]
        index += 1
    tokens.append("]")
    json.loads("".join(tokens))  # the JSON scenario must stream valid JSON
    return tokens


def factory(chunks: list[Any]) -> Callable[[], AsyncIterator[Any]]:
    async def stream() -> AsyncIterator[Any]:
        for chunk in chunks:
            yield chunk

    return stream


async def raw(tokens: list[str]) -> str:
    parts = []
    async for chunk in factory(tokens)():
        parts.append(chunk)
    return "".join(parts)


def options(name: str) -> dict[str, Any]:
    """Keyword arguments to l0.run for each feature set (the same for both libraries)."""
    if name in ("core_read", "core_iter"):
        return {}
    timeout = {"timeout": l0.Timeout(initial_token=5000, inter_token=10000)}
    if name == "timeouts":
        return timeout
    if name in ("json_text", "json_json"):
        return {"guardrails": [l0.Guardrails.json()]}
    if name == "recommended":
        return {"guardrails": l0.Guardrails.recommended()}
    if name == "drift":
        return {"drift_detector": l0.DriftDetector()}
    if name == "continuation":
        return {"continue_from_last_good_token": True}
    if name == "everything":
        return {
            **timeout,
            "guardrails": l0.Guardrails.recommended(),
            "drift_detector": l0.DriftDetector(),
            "continue_from_last_good_token": True,
        }
    raise ValueError(name)


async def through_l0(chunks: list[Any], name: str, *, iterate: bool) -> str:
    result = await l0.run(stream=factory(chunks), **options(name))
    if not iterate:
        return await result.read()
    parts = []
    token = l0.EventType.TOKEN
    async for event in result:
        if event.type == token:
            parts.append(event.text)
    return "".join(parts)


VOCABULARY_LABEL = "CPU time, times a raw async for over the same tokens, 2000 tokens"

SCENARIOS = (
    "raw",
    "core_read",
    "core_iter",
    "timeouts",
    "json_text",
    "json_json",
    "recommended",
    "drift",
    "continuation",
    "everything",
)


def scenario(name: str, size: int) -> tuple[Callable[[], Awaitable[str]], str]:
    tokens = json_tokens(size) if name == "json_json" else text_tokens(size)
    expected = "".join(tokens)
    if name == "raw":
        return (lambda: raw(tokens)), expected
    chunks = [as_chunk(t) for t in tokens]
    iterate = name == "core_iter"
    return (lambda: through_l0(chunks, name, iterate=iterate)), expected


async def timed(
    run: Callable[[], Awaitable[str]],
    expected: str,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    started = clock()
    text = await run()
    elapsed = clock() - started
    if text != expected:
        raise AssertionError(f"wrong output: {len(text)} chars, expected {len(expected)}")
    return elapsed


async def throughput(sizes: list[int], reps: int) -> dict[str, dict[str, float]]:
    """Median seconds per run for every scenario and size (interleaved, after warm-up)."""
    table: dict[str, dict[str, float]] = {}
    for size in sizes:
        runs = {name: scenario(name, size) for name in SCENARIOS}
        samples: dict[str, list[float]] = {name: [] for name in SCENARIOS}
        for run, expected in runs.values():  # warm-up
            await timed(run, expected)
        for _ in range(reps):
            for name, (run, expected) in runs.items():
                gc.collect()
                samples[name].append(await timed(run, expected))
        table[str(size)] = {name: statistics.median(values) for name, values in samples.items()}
    return table


async def vocabularies(size: int, reps: int) -> dict[str, dict[str, float]]:
    """Median CPU seconds per run of some scenarios on each kind of text (interleaved).

    CPU time of the process, not wall time: on a loaded machine a run of a few milliseconds
    is often preempted for as long again, which wall time would count as l0's."""
    runs: dict[tuple[str, str], tuple[Callable[[], Awaitable[str]], str]] = {}
    for vocabulary, make in VOCABULARIES.items():
        tokens = make(size)
        expected = "".join(tokens)
        chunks = [as_chunk(t) for t in tokens]
        for name in VOCABULARY_SCENARIOS:
            if name == "raw":
                runs[vocabulary, name] = (lambda tokens=tokens: raw(tokens)), expected
            else:
                runs[vocabulary, name] = (
                    lambda chunks=chunks, name=name: through_l0(chunks, name, iterate=False)
                ), expected
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    for run, expected in runs.values():  # warm-up
        await timed(run, expected)
    for _ in range(reps):
        for key, (run, expected) in runs.items():
            gc.collect()
            samples[key].append(await timed(run, expected, time.process_time))
    table: dict[str, dict[str, float]] = {vocabulary: {} for vocabulary in VOCABULARIES}
    for (vocabulary, name), values in samples.items():
        table[vocabulary][name] = statistics.median(values)
    return table


async def setup_latency(samples: int) -> dict[str, float]:
    """A one-token stream, start to finish: median and p99 in microseconds."""
    chunks = [as_chunk("x")]
    for _ in range(50):
        await through_l0(chunks, "core_read", iterate=False)
    values = []
    for _ in range(samples):
        started = time.perf_counter()
        await through_l0(chunks, "core_read", iterate=False)
        values.append((time.perf_counter() - started) * 1e6)
    values.sort()
    return {
        "median_us": statistics.median(values),
        "p99_us": values[min(len(values) - 1, int(len(values) * 0.99))],
    }


async def concurrent(streams: int, tokens: int, reps: int) -> dict[str, float]:
    """`streams` concurrent runs of `tokens` tokens with every feature on: tokens per second."""
    chunks = [as_chunk(t) for t in text_tokens(tokens)]
    expected = "".join(text_tokens(tokens))

    async def one() -> None:
        text = await through_l0(chunks, "everything", iterate=False)
        if text != expected:
            raise AssertionError("wrong output under concurrency")

    async def batch() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(streams)))
        return time.perf_counter() - started

    await batch()
    elapsed = statistics.median([await batch() for _ in range(reps)])
    return {"seconds": elapsed, "tokens_per_second": streams * tokens / elapsed}


def import_time(reps: int) -> dict[str, Any]:
    """Median wall time of `import l0` in a fresh interpreter, minus an empty interpreter.

    Measured with bytecode caches, as a user's installed package has them: an editable
    install under PYTHONDONTWRITEBYTECODE would otherwise recompile every module on every
    import, while a pip-installed peer ships its .pyc files. A first untimed import writes
    the caches (to the usual, git-ignored __pycache__ directories)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        return time.perf_counter() - started

    code = (
        "import sys, l0; bad = [m for m in ('openai', 'litellm') if m in sys.modules]; "
        "sys.exit(f'provider packages loaded: {bad}' if bad else 0)"
    )
    run(code)
    run(COLD_START)
    empty = statistics.median([run("pass") for _ in range(reps)])
    with_l0 = statistics.median([run(code) for _ in range(reps)])
    with_asyncio = statistics.median([run("import asyncio") for _ in range(reps)])
    cold = statistics.median([run(COLD_START) for _ in range(reps)])
    return {
        "ms": max(0.0, (with_l0 - empty) * 1000),
        "cold_start_ms": max(0.0, (cold - with_asyncio) * 1000),
        "provider_packages_loaded": False,
    }


# A program's first stream, from a fresh interpreter: what a short-lived script or a cold
# serverless function pays for l0 (import, every lazy load, the first run), beyond asyncio.
# `l0.Event` tokens: both libraries read them.
COLD_START = """
import asyncio, l0
async def stream():
    yield l0.Event(type=l0.EventType.TOKEN, text="x")
async def main():
    result = await l0.run(stream=stream)
    assert await result.read() == "x"
asyncio.run(main())
"""


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "library": LIBRARY,
        "version": getattr(l0, "__version__", "?"),
    }


async def workload(
    quick: bool, reps: int, *, only_vocabularies: bool = False
) -> dict[str, Any]:
    sizes = [200] if quick else [2000, 20000]
    report: dict[str, Any] = {"machine": machine()}
    if only_vocabularies:
        report["vocabularies"] = await vocabularies(200 if quick else 2000, 1 if quick else reps)
        return report
    report["throughput"] = await throughput(sizes, 1 if quick else reps)
    report["vocabularies"] = await vocabularies(200 if quick else 2000, 1 if quick else reps)
    report["setup_latency"] = await setup_latency(20 if quick else 2000)
    report["concurrent"] = await concurrent(
        20 if quick else 200, 20 if quick else 200, 1 if quick else 5
    )
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["import"] = import_time(2 if quick else 15)
    return report


def table(report: dict[str, Any]) -> str:
    lines = [f"{report['machine']['library']} {report['machine']['version']}"]
    sizes = list(report.get("throughput", ()))
    if sizes:
        lines.append(
            "scenario       " + "".join(f"{size + ' tok':>14}{'x raw':>8}" for size in sizes)
        )
    for name in SCENARIOS if sizes else ():
        row = f"{name:<15}"
        for size in sizes:
            values = report["throughput"][size]
            row += f"{values[name] * 1000:>11.2f} ms{values[name] / values['raw']:>8.1f}"
        lines.append(row)
    if "vocabularies" in report:
        lines.append("")
        lines.append(
            "vocabulary     " + "".join(f"{name:>13}" for name in VOCABULARY_SCENARIOS[1:])
        )
        lines.append(f"({VOCABULARY_LABEL})")
        for vocabulary, values in report["vocabularies"].items():
            row = f"{vocabulary:<15}"
            for name in VOCABULARY_SCENARIOS[1:]:
                row += f"{values[name] / values['raw']:>12.1f}x"
            lines.append(row)
        lines.append("")
    if "setup_latency" not in report:  # --vocabularies
        return "\n".join(lines)
    latency = report["setup_latency"]
    lines.append(
        f"setup latency  median {latency['median_us']:.0f} us, p99 {latency['p99_us']:.0f} us"
    )
    lines.append(f"concurrent     {report['concurrent']['tokens_per_second']:,.0f} tokens/s")
    lines.append(f"peak RSS       {report['peak_rss_mb']:.1f} MB")
    lines.append(f"import l0      {report['import']['ms']:.1f} ms")
    lines.append(f"cold start     {report['import']['cold_start_ms']:.1f} ms")
    return "\n".join(lines)


_SECTION = re.compile(r"<!-- section (\S+) -->\n.*?<!-- end section \1 -->\n?", re.DOTALL)


def sections(text: str) -> list[str]:
    """The sections of a RESULTS.md that a benchmark keeps up to date on its own."""
    return [match.group(0).rstrip("\n") for match in _SECTION.finditer(text)]


def write_section(path: str, name: str, body: str) -> None:
    """Put `body` in RESULTS.md as the section `name`, replacing its previous version (the
    rest of the file is left as it is; `make bench-peer` keeps these sections too)."""
    section = f"<!-- section {name} -->\n{body.rstrip()}\n<!-- end section {name} -->"
    try:
        with open(path, encoding="utf-8") as existing:
            text = existing.read()
    except FileNotFoundError:
        text = ""
    pattern = re.compile(
        rf"<!-- section {re.escape(name)} -->\n.*?<!-- end section {re.escape(name)} -->",
        re.DOTALL,
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def vocabulary_section(report: dict[str, Any]) -> str:
    machine = report["machine"]
    rows = []
    for vocabulary, values in report["vocabularies"].items():
        ratio = values["everything"] / values["raw"]
        met = "yes" if ratio <= 15 else "**no**"
        rows.append(f"| everything <= 15x raw, {vocabulary} | {ratio:.2f}x | {met} |")
    lines = [
        "## Per-token cost by kind of text",
        "",
        f"Generated by `make bench` (benchmarks/workload.py) on {machine['date']}, "
        f"{machine['cpus']} CPUs, load average {os.getloadavg()[0]:.1f}. CPU time of the "
        "process (on a shared machine wall time would count the time other processes ran); "
        "ratios to a raw `async for` over the same tokens, measured in the same run. "
        "Vocabularies: `bench`, the benchmark's own words; `english`, common English words "
        "with a period every ~17 words; `punctuated`, short sentences with quotes, "
        "parentheses, numbers and questions; `near_misses`, English where every ~12 words "
        "a phrase nearly matches a pattern guardrail (a letter more before or after it: "
        "\"hi hope this helps\", \"has an aim\").",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *rows,
        "",
        "```",
        "\n".join(
            line
            for line in table(report).splitlines()
            if line.startswith(("vocabulary", "(", *VOCABULARIES))
        ),
        "```",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes: prove it works")
    parser.add_argument(
        "--vocabularies", action="store_true", help="only the per-vocabulary table (quick A/B)"
    )
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--write-results", help="update this RESULTS.md's vocabulary section")
    args = parser.parse_args()
    report = asyncio.run(workload(args.quick, args.reps, only_vocabularies=args.vocabularies))
    print(table(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    if args.write_results:
        write_section(args.write_results, "vocabularies", vocabulary_section(report))


if __name__ == "__main__":
    main()
