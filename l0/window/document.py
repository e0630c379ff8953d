"""`DocumentWindow`: a document cut into chunks, with a cursor to walk them.

The chunks are computed once, when the window is made. Navigation moves a cursor that
starts on chunk 0: `next()`/`prev()` return the new current chunk, or None without moving
when already at the last/first chunk; `jump(i)` accepts Python-style negative indexes and
raises `l0.Error` (INVALID_ARGUMENT) for an index out of range. An empty document has no
chunks: `current()` is then None.
"""

from __future__ import annotations

from collections.abc import Iterator

from l0.errors import Error, ErrorCode
from l0.progress import ProgressBar, ProgressCallback
from l0.window.chunking import chunk_document
from l0.window.processing import ChunkFn, ChunkProcessor, ChunkRunner
from l0.window.tokens import default_counter
from l0.window.types import (
    ChunkResult,
    ContextRestorationOptions,
    DocumentChunk,
    TokenCounter,
    WindowConfig,
    WindowStats,
)


class DocumentWindow:
    """A document cut into overlapping chunks (see `WindowConfig` and `l0.window.chunking`)."""

    def __init__(self, document: str, config: WindowConfig | None = None) -> None:
        if not isinstance(document, str):
            raise Error(
                f"a window needs the document as a str, got {type(document).__name__}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        self.document = document
        self.config = config or WindowConfig()
        self.counter: TokenCounter = self.config.token_counter or default_counter()
        self._chunks = chunk_document(
            document,
            size=self.config.size,
            overlap=self.config.overlap,
            strategy=self.config.strategy,
            counter=self.counter,
        )
        self._cursor = 0

    # -- the chunks ---------------------------------------------------------------------------

    @property
    def total_chunks(self) -> int:
        return len(self._chunks)

    @property
    def current_index(self) -> int:
        return self._cursor

    def __len__(self) -> int:
        return len(self._chunks)

    def __iter__(self) -> Iterator[DocumentChunk]:
        return iter(self._chunks)

    def get_all_chunks(self) -> list[DocumentChunk]:
        return list(self._chunks)

    def get_chunk(self, index: int) -> DocumentChunk:
        """Chunk `index` (negative counts from the end); l0.Error when out of range."""
        return self._chunks[self._position(index)]

    # -- navigation ---------------------------------------------------------------------------

    def current(self) -> DocumentChunk | None:
        return self._chunks[self._cursor] if self._chunks else None

    def has_next(self) -> bool:
        return self._cursor + 1 < len(self._chunks)

    def has_prev(self) -> bool:
        return self._cursor > 0

    def next(self) -> DocumentChunk | None:
        """Move to the next chunk and return it; None (not moving) at the last chunk."""
        if not self.has_next():
            return None
        self._cursor += 1
        return self._chunks[self._cursor]

    def prev(self) -> DocumentChunk | None:
        """Move to the previous chunk and return it; None (not moving) at the first chunk."""
        if not self.has_prev():
            return None
        self._cursor -= 1
        return self._chunks[self._cursor]

    def jump(self, index: int) -> DocumentChunk:
        """Move to chunk `index` (negative counts from the end) and return it."""
        self._cursor = self._position(index)
        return self._chunks[self._cursor]

    def reset(self) -> DocumentChunk | None:
        """Move back to the first chunk."""
        self._cursor = 0
        return self.current()

    def _position(self, index: int) -> int:
        count = len(self._chunks)
        if isinstance(index, bool) or not isinstance(index, int) or not -count <= index < count:
            raise Error(
                f"chunk index {index!r} is out of range: the window has {count} chunks "
                f"(valid: 0..{count - 1}, or negative from the end)",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        return index % count

    # -- search, context, stats ---------------------------------------------------------------

    def find_chunks(self, query: str, *, case_sensitive: bool = False) -> list[DocumentChunk]:
        """The chunks whose text contains `query` (a match across a chunk boundary is found
        in the chunk that holds it whole, if the overlap allows)."""
        if not isinstance(query, str) or not query:
            raise Error("find_chunks needs a non-empty query", code=ErrorCode.INVALID_ARGUMENT)
        if case_sensitive:
            return [c for c in self._chunks if query in c.content]
        folded = query.casefold()
        return [c for c in self._chunks if folded in c.content.casefold()]

    def get_context(self, index: int, *, before: int = 1, after: int = 1) -> str:
        """The document text from `before` chunks before chunk `index` to `after` chunks
        after it (fewer at the ends), overlaps included once."""
        if before < 0 or after < 0:
            raise Error(
                f"before and after must be >= 0, got before={before}, after={after}",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        position = self._position(index)
        first = self._chunks[max(0, position - before)]
        last = self._chunks[min(len(self._chunks) - 1, position + after)]
        return self.document[first.start_pos : last.end_pos]

    def get_stats(self) -> WindowStats:
        count = len(self._chunks)
        return WindowStats(
            total_chunks=count,
            total_chars=len(self.document),
            total_tokens=self.counter(self.document),
            avg_chunk_size=sum(c.char_count for c in self._chunks) / count if count else 0.0,
            avg_chunk_tokens=sum(c.token_count for c in self._chunks) / count if count else 0.0,
            overlap_size=self.config.overlap,
            strategy=self.config.strategy,
        )

    # -- processing ---------------------------------------------------------------------------

    async def process_all(
        self,
        fn: ChunkFn,
        *,
        concurrency: int = 5,
        context_restoration: ContextRestorationOptions | None = None,
        on_progress: ProgressCallback | None = None,
        progress: bool | ProgressBar = False,
        _runner: ChunkRunner | None = None,
    ) -> list[ChunkResult]:
        """Process every chunk, at most `concurrency` at once; one result per chunk, in order.

        `fn(chunk)` returns a `ChunkProcessConfig` (run through `l0.run`) or the chunk's
        text, or an awaitable of either. A failing chunk gives an "error" result and does not
        stop the others. `on_progress(done, total)` is called as each chunk settles (what it
        raises stops the processing and is raised); `progress=True` (or an
        `l0.progress.ProgressBar`) draws a bar. `_runner` replaces `l0.run` (for tests).
        """
        processor = ChunkProcessor(
            self.document,
            self._chunks,
            self.counter,
            fn,
            restoration=context_restoration,
            runner=_runner,
        )
        return await processor.run_all(concurrency, on_progress=on_progress, progress=progress)

    def __repr__(self) -> str:
        return (
            f"DocumentWindow(chars={len(self.document)}, chunks={len(self._chunks)}, "
            f"strategy={self.config.strategy.value!r}, size={self.config.size}, "
            f"overlap={self.config.overlap})"
        )


__all__ = ["DocumentWindow"]
