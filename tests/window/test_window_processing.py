"""process_all (concurrency, errors, context restoration, the real l0.run), processing stats
and merging results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from l0.errors import Error, ErrorCode
from l0.window import (
    ChunkProcessConfig,
    ChunkResult,
    ContextRestorationOptions,
    ContextRestorationStrategy,
    DocumentChunk,
    Window,
    estimate_tokens,
)

pytestmark = pytest.mark.anyio

DOCUMENT = "\n\n".join(f"Section {i}: " + "lorem ipsum dolor sit amet " * 12 for i in range(9))


def make_window(**overrides: Any) -> Any:
    options: dict[str, Any] = {"size": 100, "overlap": 10, "token_counter": estimate_tokens}
    options.update(overrides)
    return Window.create(DOCUMENT, **options)


async def tokens(*parts: str) -> AsyncIterator[str]:
    for part in parts:
        await anyio.sleep(0)
        yield part


class FakeCompletions:
    """Stands in for `client.chat.completions`: streams a summary of the prompt."""

    async def create(self, *, model: str, messages: list[dict[str, str]], stream: bool) -> Any:
        assert stream and model == "gpt-4o"
        prompt = messages[0]["content"]
        return tokens("Summary of ", prompt.split(":")[1].strip().split()[0], ".")


class FakeClient:
    def __init__(self) -> None:
        self.chat = type("Chat", (), {"completions": FakeCompletions()})()


async def test_reference_example_process_all_with_the_real_runtime() -> None:
    """The reference's example, through l0.run: results, stats and merges."""
    client = FakeClient()
    document = DOCUMENT
    window = Window.create(document, size=100, overlap=10)

    results = await window.process_all(
        lambda chunk: ChunkProcessConfig(
            stream=lambda: client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": f"Summarize: {chunk.content}"}],
                stream=True,
            ),
        ),
        concurrency=3,  # Max 3 concurrent
    )

    assert [r.chunk.index for r in results] == list(range(window.total_chunks))
    for result in results:
        assert result.status == "success"
        assert result.content == f"Summary of {result.chunk.content.split()[0]}."

    stats = Window.get_stats(results)
    assert stats.success_rate == 100.0 and stats.total == window.total_chunks

    merged_text = Window.merge_results(results, separator="\n\n")
    assert merged_text == "\n\n".join(r.content or "" for r in results)
    merged_doc = Window.merge_chunks(window.get_all_chunks())
    assert merged_doc == document


class Runner:
    """A stand-in for l0.run: calls the stream factory, which returns the text (or raises),
    and measures how many chunks run at once."""

    def __init__(self, delay: float = 1) -> None:
        self.delay = delay
        self.active = 0
        self.peak = 0

    async def __call__(self, config: ChunkProcessConfig) -> str:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await anyio.sleep(self.delay)
            return str(await config.stream())
        finally:
            self.active -= 1


def summarize(chunk: DocumentChunk) -> ChunkProcessConfig:
    async def stream() -> str:
        if "Section 4" in chunk.content and "context_restored" not in chunk.metadata:
            raise ConnectionError("provider down")
        return f"[{chunk.index}]"

    return ChunkProcessConfig(stream=stream)


@pytest.mark.virtual_time
async def test_concurrency_limit_and_per_chunk_failures() -> None:
    """At most `concurrency` chunks run at once; a failing chunk does not stop the others."""
    window = make_window()
    runner = Runner()
    results = await window.process_all(summarize, concurrency=2, _runner=runner)
    assert runner.peak == 2
    failed = [r for r in results if r.status == "error"]
    assert failed and all("Section 4" in r.chunk.content for r in failed)
    assert all(isinstance(r.error, ConnectionError) and r.content is None for r in failed)
    ok = [r for r in results if r.status == "success"]
    assert [r.content for r in ok] == [f"[{r.chunk.index}]" for r in ok]
    assert all(r.duration == 1000.0 and r.attempts == 1 for r in results)

    stats = Window.get_stats(results)
    assert (stats.total, stats.successful, stats.failed) == (len(results), len(ok), len(failed))
    assert stats.success_rate == pytest.approx(len(ok) / len(results) * 100)
    assert stats.avg_duration == 1000.0 and stats.total_duration == 1000.0 * len(results)
    assert Window.merge_results(results, separator="|") == "|".join(r.content or "" for r in ok)


@pytest.mark.virtual_time
async def test_default_concurrency_is_five() -> None:
    """Without `concurrency`, five chunks run at once."""
    window = make_window(size=40, overlap=0)
    assert window.total_chunks > 5
    runner = Runner()
    await window.process_all(
        lambda chunk: ChunkProcessConfig(stream=lambda: tokens()), _runner=runner
    )
    assert runner.peak == 5


async def test_fn_may_return_text_or_an_awaitable() -> None:
    """A str (or an awaitable of one) is the chunk's content; no stream is run."""
    window = make_window()

    async def upper(chunk: DocumentChunk) -> str:
        await anyio.sleep(0)
        return chunk.content.upper()

    results = await window.process_all(upper)
    assert [r.content for r in results] == [c.content.upper() for c in window]
    results = await window.process_all(lambda chunk: str(chunk.char_count))
    assert [r.content for r in results] == [str(c.char_count) for c in window]


async def test_fn_returning_something_else_is_an_error_result() -> None:
    """A wrong return type gives every chunk an INVALID_ARGUMENT error result."""
    results = await make_window().process_all(lambda chunk: 42)  # type: ignore[arg-type, return-value]
    assert {r.status for r in results} == {"error"}
    error = results[0].error
    assert isinstance(error, Error) and error.code is ErrorCode.INVALID_ARGUMENT


async def test_adjacent_context_restoration_retries_with_neighbours() -> None:
    """A failed chunk is retried with its neighbours; on_restore sees both versions."""
    window = make_window()
    restored: list[tuple[int, DocumentChunk]] = []
    results = await window.process_all(
        summarize,
        context_restoration=ContextRestorationOptions(
            on_restore=lambda original, wider: restored.append((original.index, wider))
        ),
        _runner=Runner(delay=0),
    )
    assert {r.status for r in results} == {"success"}
    retried = [r for r in results if r.attempts == 2]
    assert retried and all("Section 4" in r.chunk.content for r in retried)
    for index, wider in restored:
        assert wider.index == index
        assert wider.content == window.get_context(index, before=1, after=1)
        assert wider.metadata["context_restored"] and wider.metadata["restoration_attempt"] == 1
        assert wider.metadata["original_start_pos"] == window.get_chunk(index).start_pos
    assert sorted(i for i, _ in restored) == sorted(r.chunk.index for r in retried)


async def test_full_context_restoration_and_giving_up() -> None:
    """FULL retries with the whole document; a chunk that keeps failing ends as an error."""
    window = make_window()
    seen: list[str] = []

    def always_fails(chunk: DocumentChunk) -> ChunkProcessConfig:
        seen.append(chunk.content)

        async def stream() -> str:
            raise TimeoutError("still failing")

        return ChunkProcessConfig(stream=stream)

    options = ContextRestorationOptions(strategy=ContextRestorationStrategy.FULL, max_attempts=2)
    [first, *_] = await window.process_all(
        always_fails, concurrency=1, context_restoration=options, _runner=Runner(delay=0)
    )
    assert (first.status, first.attempts) == ("error", 3)
    assert isinstance(first.error, TimeoutError)
    assert seen[:3] == [window.get_chunk(0).content, DOCUMENT, DOCUMENT]


async def test_disabled_context_restoration_does_not_retry() -> None:
    """enabled=False behaves like no restoration at all."""
    results = await make_window().process_all(
        summarize,
        context_restoration=ContextRestorationOptions(enabled=False),
        _runner=Runner(delay=0),
    )
    assert all(r.attempts == 1 for r in results) and any(r.status == "error" for r in results)


def test_processing_stats_of_nothing() -> None:
    """No results: zero rates and durations rather than a division by zero."""
    stats = Window.get_stats([])
    assert (stats.total, stats.success_rate, stats.avg_duration) == (0, 0.0, 0.0)


def test_merge_results_orders_by_chunk_and_skips_errors() -> None:
    """merge_results sorts by chunk index and leaves failed chunks out."""
    chunks = make_window().get_all_chunks()
    results = [
        ChunkResult(chunks[1], "success", "b"),
        ChunkResult(chunks[2], "error", None, ValueError()),
        ChunkResult(chunks[0], "success", "a"),
    ]
    assert Window.merge_results(results) == "a\n\nb"


async def test_invalid_process_all_arguments() -> None:
    """A non-callable fn or a bad concurrency is refused."""
    window = make_window()
    with pytest.raises(Error, match="callable"):
        await window.process_all("summarize")  # type: ignore[arg-type]
    with pytest.raises(Error, match="concurrency"):
        await window.process_all(lambda c: "x", concurrency=0)
    with pytest.raises(Error, match="max_attempts"):
        ContextRestorationOptions(max_attempts=-1)
