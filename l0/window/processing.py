"""Processing every chunk of a window: run, time and collect one `ChunkResult` per chunk.

`fn(chunk)` says what to do with a chunk. It may return (or return an awaitable of):
- a `ChunkProcessConfig`: its stream runs through `l0.run(...)` and the text read from it
  is the chunk's content;
- a `str`: that is the chunk's content (for work that does not need a stream).

Chunks run at most `concurrency` at a time on `Parallel.run`, and a chunk's failure is its
own: it becomes an "error" result and never stops the other chunks. With context
restoration, a failed chunk is retried with more of the document around it.
`on_progress(done, total)` and a progress bar report each chunk as it settles.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import anyio

from l0.concurrency import Parallel, ParallelOptions
from l0.errors import Error, ErrorCode
from l0.progress import ProgressBar, ProgressCallback, check_progress, reporting
from l0.window.types import (
    ChunkProcessConfig,
    ChunkResult,
    ContextRestorationOptions,
    ContextRestorationStrategy,
    DocumentChunk,
    ProcessingStats,
    TokenCounter,
)

ChunkOutput = ChunkProcessConfig | str
ChunkFn = Callable[[DocumentChunk], ChunkOutput | Awaitable[ChunkOutput]]
ChunkRunner = Callable[[ChunkProcessConfig], Awaitable[str]]


async def run_with_l0(config: ChunkProcessConfig) -> str:
    """Run a chunk's config through `l0.run` and read the whole text."""
    # the runtime is heavy: import it only when chunks run
    from l0.runtime.plan import make_plan
    from l0.runtime.stream import Stream

    result = Stream(make_plan(config.stream, config.options))
    return await result.read()


class ChunkProcessor:
    """Processes the chunks of one document (see the module docstring)."""

    def __init__(
        self,
        document: str,
        chunks: Sequence[DocumentChunk],
        counter: TokenCounter,
        fn: ChunkFn,
        *,
        restoration: ContextRestorationOptions | None = None,
        runner: ChunkRunner | None = None,
    ) -> None:
        if not callable(fn):
            raise Error(
                f"process_all needs a callable fn(chunk), got {type(fn).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self.document = document
        self.chunks = chunks
        self.counter = counter
        self.fn = fn
        self.restoration = restoration if restoration and restoration.enabled else None
        self.runner = runner or run_with_l0

    async def run_all(
        self,
        concurrency: int,
        *,
        on_progress: ProgressCallback | None = None,
        progress: bool | ProgressBar = False,
    ) -> list[ChunkResult]:
        bar = check_progress(on_progress, progress, where="process_all()")
        tasks = [lambda chunk=chunk: self.process(chunk) for chunk in self.chunks]
        with reporting(on_progress, bar, description="chunks", total=len(tasks)) as report:
            options = ParallelOptions(concurrency=concurrency, on_progress=report)
            ran = await Parallel.run(tasks, options)
        return ran.unwrap()  # `process` never raises for a chunk's own failure

    async def process(self, chunk: DocumentChunk) -> ChunkResult:
        started = anyio.current_time()
        retries = self.restoration.max_attempts if self.restoration else 0
        attempt, error = 0, None
        while attempt <= retries:
            target = chunk if attempt == 0 else self.restore(chunk, attempt)
            try:
                content = await self.produce(target)
            except Exception as exc:
                error = exc
                attempt += 1
                continue
            return ChunkResult(chunk, "success", content, None, self._ms(started), attempt + 1)
        return ChunkResult(chunk, "error", None, error, self._ms(started), attempt)

    async def produce(self, chunk: DocumentChunk) -> str:
        output = self.fn(chunk)
        if inspect.isawaitable(output):
            output = await output
        if isinstance(output, ChunkProcessConfig):
            return await self.runner(output)
        if isinstance(output, str):
            return output
        raise Error(
            f"fn(chunk) must return a ChunkProcessConfig or a str (or an awaitable of one), "
            f"got {type(output).__name__}",
            code=ErrorCode.INVALID_ARGUMENT,
        )

    def restore(self, chunk: DocumentChunk, attempt: int) -> DocumentChunk:
        """`chunk` widened for retry `attempt` (see `ContextRestorationStrategy`)."""
        assert self.restoration is not None
        if self.restoration.strategy is ContextRestorationStrategy.FULL:
            low, high = 0, len(self.chunks) - 1
        else:
            low = max(0, chunk.index - attempt)
            high = min(len(self.chunks) - 1, chunk.index + attempt)
        start, end = self.chunks[low].start_pos, self.chunks[high].end_pos
        content = self.document[start:end]
        restored = replace(
            chunk,
            content=content,
            start_pos=start,
            end_pos=end,
            token_count=self.counter(content),
            char_count=end - start,
            metadata={
                **chunk.metadata,
                "context_restored": True,
                "restoration_attempt": attempt,
                "original_start_pos": chunk.start_pos,
                "original_end_pos": chunk.end_pos,
            },
        )
        if self.restoration.on_restore is not None:
            self.restoration.on_restore(chunk, restored)
        return restored

    @staticmethod
    def _ms(started: float) -> float:
        return (anyio.current_time() - started) * 1000.0


def processing_stats(results: Sequence[ChunkResult]) -> ProcessingStats:
    """Success rate (percent) and durations (ms) over `results`."""
    total = len(results)
    successful = sum(r.status == "success" for r in results)
    spent = sum(r.duration for r in results)
    return ProcessingStats(
        total=total,
        successful=successful,
        failed=total - successful,
        success_rate=successful / total * 100.0 if total else 0.0,
        avg_duration=spent / total if total else 0.0,
        total_duration=spent,
    )


def merge_results(results: Sequence[ChunkResult], separator: str = "\n\n") -> str:
    """The content of the successful results, in chunk order, joined by `separator`."""
    ordered = sorted((r for r in results if r.status == "success"), key=lambda r: r.chunk.index)
    return separator.join(r.content or "" for r in ordered)


__all__ = [
    "ChunkFn",
    "ChunkProcessor",
    "ChunkRunner",
    "merge_results",
    "processing_stats",
    "run_with_l0",
]
