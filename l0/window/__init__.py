"""Document windows: process documents longer than a context window, chunk by chunk.

    window = Window.create(document, size=2000, overlap=200, strategy="paragraph")
    results = await window.process_all(lambda chunk: ChunkProcessConfig(stream=...))
    summary = Window.merge_results(results)

`size` and `overlap` count tokens (characters for the "char" strategy); token counts are
estimates unless tiktoken can count exactly (see `l0.window.tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence

from l0.window import chunking, processing
from l0.window.document import DocumentWindow
from l0.window.tokens import estimate_tokens, tiktoken_counter
from l0.window.types import (
    ChunkingStrategy,
    ChunkProcessConfig,
    ChunkResult,
    ContextRestorationOptions,
    ContextRestorationStrategy,
    DocumentChunk,
    ProcessingStats,
    StrategyName,
    TokenCounter,
    WindowConfig,
    WindowStats,
)


class Window:
    """Make windows (`create` and the presets) and combine what their chunks produced."""

    @staticmethod
    def create(
        document: str,
        *,
        size: int = 2000,
        overlap: int = 200,
        strategy: ChunkingStrategy | StrategyName = ChunkingStrategy.TOKEN,
        token_counter: TokenCounter | None = None,
    ) -> DocumentWindow:
        """A window over `document`: chunks of at most `size` tokens sharing up to `overlap`."""
        config = WindowConfig(
            size=size,
            overlap=overlap,
            strategy=strategy,  # type: ignore[arg-type]  # a str is converted and checked
            token_counter=token_counter,
        )
        return DocumentWindow(document, config)

    @staticmethod
    def small(document: str, *, token_counter: TokenCounter | None = None) -> DocumentWindow:
        """1000 tokens, 100 overlap."""
        return Window.create(document, size=1000, overlap=100, token_counter=token_counter)

    @staticmethod
    def medium(document: str, *, token_counter: TokenCounter | None = None) -> DocumentWindow:
        """2000 tokens, 200 overlap (the default)."""
        return Window.create(document, size=2000, overlap=200, token_counter=token_counter)

    @staticmethod
    def large(document: str, *, token_counter: TokenCounter | None = None) -> DocumentWindow:
        """4000 tokens, 400 overlap."""
        return Window.create(document, size=4000, overlap=400, token_counter=token_counter)

    @staticmethod
    def paragraph(document: str, *, token_counter: TokenCounter | None = None) -> DocumentWindow:
        """Paragraph-based chunking: 2000 tokens, 200 overlap, cut after blank lines."""
        return Window.create(
            document, size=2000, overlap=200, strategy="paragraph", token_counter=token_counter
        )

    @staticmethod
    def sentence(document: str, *, token_counter: TokenCounter | None = None) -> DocumentWindow:
        """Sentence-based chunking: 2000 tokens, 200 overlap, cut after sentences."""
        return Window.create(
            document, size=2000, overlap=200, strategy="sentence", token_counter=token_counter
        )

    @staticmethod
    def get_stats(results: Sequence[ChunkResult]) -> ProcessingStats:
        """Success rate (percent) and durations (ms) of `process_all` results."""
        return processing.processing_stats(results)

    @staticmethod
    def merge_results(results: Sequence[ChunkResult], separator: str = "\n\n") -> str:
        """The successful results' content in chunk order, joined by `separator`."""
        return processing.merge_results(results, separator)

    @staticmethod
    def merge_chunks(chunks: Sequence[DocumentChunk]) -> str:
        """The document text the chunks cover, each overlap kept once (by position)."""
        return chunking.merge_chunks(chunks)


__all__ = [
    "ChunkProcessConfig",
    "ChunkResult",
    "ChunkingStrategy",
    "ContextRestorationOptions",
    "ContextRestorationStrategy",
    "DocumentChunk",
    "DocumentWindow",
    "ProcessingStats",
    "Window",
    "WindowConfig",
    "WindowStats",
    "estimate_tokens",
    "tiktoken_counter",
]
