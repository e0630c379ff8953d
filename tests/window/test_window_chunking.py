"""Window creation, chunk invariants (property-tested), navigation, search, context, stats."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from l0.errors import Error, ErrorCode
from l0.window import (
    ChunkingStrategy,
    DocumentChunk,
    DocumentWindow,
    Window,
    WindowConfig,
    estimate_tokens,
)
from l0.window.chunking import estimate_meter

STRATEGIES = ["token", "char", "paragraph", "sentence"]
PARAGRAPH = (
    "The keyword appears here once. Windows cut long documents into chunks! "
    "Each chunk overlaps the next? Yes, by a few tokens."
)


def make_document(paragraphs: int = 40) -> str:
    return "\n\n".join(f"Paragraph {i}. {PARAGRAPH}" for i in range(paragraphs))


# Pieces rather than characters, so blank lines, sentence ends and words are common.
documents = st.lists(
    st.sampled_from([*"ab cd.!?\n\t\u00e9\u4e2d", "\n\n", ". ", "word "]), max_size=150
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    document=documents,
    strategy=st.sampled_from(STRATEGIES),
    size=st.integers(1, 60),
    data=st.data(),
)
def test_chunks_tile_the_document_in_order_and_merge_back_exactly(
    document: str, strategy: str, size: int, data: st.DataObject
) -> None:
    """For any document, strategy, size and overlap: exact slices, in order, no gaps,
    within size and overlap, and merge_chunks gives the document back."""
    overlap = data.draw(st.integers(0, size - 1))
    window = Window.create(
        document, size=size, overlap=overlap, strategy=strategy, token_counter=estimate_tokens
    )
    chunks = window.get_all_chunks()
    assert Window.merge_chunks(chunks) == document
    assert (chunks == []) == (document == "")
    measure = estimate_meter(document) if strategy != "char" else (lambda lo, hi: hi - lo)
    for index, chunk in enumerate(chunks):
        assert chunk.content == document[chunk.start_pos : chunk.end_pos]
        assert chunk.char_count == len(chunk.content) > 0
        assert chunk.token_count == estimate_tokens(chunk.content)
        assert measure(chunk.start_pos, chunk.end_pos) <= size
        assert (chunk.index, chunk.total_chunks) == (index, len(chunks))
        assert (chunk.is_first, chunk.is_last) == (index == 0, index == len(chunks) - 1)
    if chunks:
        assert chunks[0].start_pos == 0 and chunks[-1].end_pos == len(document)
    for before, after in itertools.pairwise(chunks):
        assert before.start_pos < after.start_pos <= before.end_pos < after.end_pos
        assert measure(after.start_pos, before.end_pos) <= overlap


@settings(max_examples=50, deadline=None)
@given(document=documents, strategy=st.sampled_from(STRATEGIES), size=st.integers(2, 30))
def test_any_token_counter_still_tiles_the_document(
    document: str, strategy: str, size: int
) -> None:
    """With a custom counter (here: words) chunks still cover the document exactly."""
    window = Window.create(
        document,
        size=size,
        overlap=size // 2,
        strategy=strategy,
        token_counter=lambda text: len(text.split()),
    )
    chunks = window.get_all_chunks()
    assert Window.merge_chunks(chunks) == document
    assert all(c.content == document[c.start_pos : c.end_pos] for c in chunks)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60), data=st.data())
def test_the_estimate_meter_measures_any_slice_like_estimate_tokens(
    text: str, data: st.DataObject
) -> None:
    """estimate_meter(text)(lo, hi) == estimate_tokens(text[lo:hi])."""
    lo = data.draw(st.integers(0, len(text)))
    hi = data.draw(st.integers(lo, len(text)))
    assert estimate_meter(text)(lo, hi) == estimate_tokens(text[lo:hi])


def test_estimate_tokens() -> None:
    """Four ASCII characters per token, rounded up; one token per non-ASCII character."""
    assert [estimate_tokens(t) for t in ["", "a", "abcd", "abcde", "中文", "héllo"]] == [
        0,
        1,
        1,
        2,
        2,
        2,
    ]


def test_reference_example_create_navigate_search_context_stats() -> None:
    """The reference's Window.create example, call for call."""
    long_document = make_document()
    window = Window.create(
        long_document,
        size=200,  # tokens per chunk (the reference's 2000, scaled to this document)
        overlap=20,
        strategy="paragraph",
        token_counter=estimate_tokens,
    )
    assert isinstance(window, DocumentWindow) and window.total_chunks > 6

    chunk = window.current()
    assert chunk is not None and chunk.index == 0 and chunk.is_first
    assert window.next() is window.get_chunk(1)
    assert window.prev() is window.get_chunk(0)
    assert window.jump(5).index == 5 and window.current_index == 5

    matches = window.find_chunks("keyword")
    assert matches == window.get_all_chunks()
    assert window.find_chunks("paragraph 7.") == [c for c in window if "Paragraph 7." in c.content]

    chunk_index = 3
    context = window.get_context(chunk_index, before=1, after=1)
    assert context == Window.merge_chunks(window.get_all_chunks()[2:5])

    stats = window.get_stats()
    assert stats.total_chunks == len(window.get_all_chunks())
    assert stats.total_tokens == estimate_tokens(long_document)
    assert stats.total_chars == len(long_document)
    assert stats.strategy is ChunkingStrategy.PARAGRAPH and stats.overlap_size == 20


def test_paragraph_chunks_end_after_blank_lines() -> None:
    """With paragraph strategy every chunk but the last ends right after a blank line."""
    document = make_document(12)
    window = Window.create(document, size=100, overlap=10, strategy="paragraph")
    for chunk in window.get_all_chunks()[:-1]:
        assert chunk.content.endswith("\n\n")


def test_sentence_chunks_end_after_sentences() -> None:
    """With sentence strategy chunks end after a sentence's final punctuation and space."""
    document = " ".join(f"Sentence number {i} ends here." for i in range(60))
    window = Window.create(document, size=40, overlap=8, strategy="sentence")
    assert window.total_chunks > 3
    for chunk in window.get_all_chunks()[:-1]:
        assert chunk.content.endswith("here. ")
    assert window.get_chunk(1).start_pos < window.get_chunk(0).end_pos  # whole sentences overlap


def test_reference_presets() -> None:
    """small/medium/large sizes and overlaps; paragraph and sentence strategies."""
    document = make_document(5)
    expected = {
        Window.small: (1000, 100, ChunkingStrategy.TOKEN),
        Window.medium: (2000, 200, ChunkingStrategy.TOKEN),
        Window.large: (4000, 400, ChunkingStrategy.TOKEN),
        Window.paragraph: (2000, 200, ChunkingStrategy.PARAGRAPH),
        Window.sentence: (2000, 200, ChunkingStrategy.SENTENCE),
    }
    for preset, (size, overlap, strategy) in expected.items():
        config = preset(document).config
        assert (config.size, config.overlap, config.strategy) == (size, overlap, strategy)
    default = Window.create(document).config
    assert (default.size, default.overlap, default.strategy) == (2000, 200, "token")


def test_navigation_bounds() -> None:
    """next/prev return None at the ends without moving; jump accepts negative indexes."""
    window = Window.create("one two three four five six", size=2, overlap=0, strategy="token")
    assert window.prev() is None and window.current_index == 0
    last = window.jump(-1)
    assert last.is_last and window.current_index == window.total_chunks - 1
    assert window.next() is None and window.current() is last
    assert not window.has_next() and window.has_prev()
    assert window.reset() is window.get_chunk(0)
    with pytest.raises(Error, match="out of range") as caught:
        window.jump(window.total_chunks)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


def test_an_empty_document_has_no_chunks() -> None:
    """No text, no chunks: current() is None and the stats are zeros."""
    window = Window.create("")
    assert window.current() is None and window.next() is None and len(window) == 0
    assert window.get_stats().total_chunks == 0 and window.get_stats().avg_chunk_size == 0.0
    assert Window.merge_chunks([]) == ""


def test_char_strategy_counts_characters() -> None:
    """size and overlap are characters for the char strategy."""
    window = Window.create("abcdefghij", size=4, overlap=1, strategy="char")
    assert [c.content for c in window] == ["abcd", "defg", "ghij"]
    assert window.get_context(1, before=0, after=0) == "defg"


def test_merge_chunks_ignores_order_duplicates_and_contained_chunks() -> None:
    """Chunks are merged by position, not by list order."""
    window = Window.create("abcdefghij", size=4, overlap=2, strategy="char")
    chunks = window.get_all_chunks()
    assert Window.merge_chunks(list(reversed(chunks)) + chunks[:1]) == "abcdefghij"


def test_find_chunks_case_sensitivity() -> None:
    """find_chunks ignores case unless asked."""
    window = Window.create("Alpha beta. Gamma delta.", size=3, overlap=0, strategy="token")
    assert [c.index for c in window.find_chunks("GAMMA")] == [
        c.index for c in window if "Gamma" in c.content
    ]
    assert window.find_chunks("GAMMA", case_sensitive=True) == []
    with pytest.raises(Error):
        window.find_chunks("")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, "size"),
        ({"size": 10, "overlap": 10}, "smaller than size"),
        ({"overlap": -1}, "overlap"),
        ({"strategy": "words"}, "ChunkingStrategy"),
    ],
)
def test_invalid_configuration_is_rejected(kwargs: dict[str, object], message: str) -> None:
    """Bad sizes, overlaps and strategies are l0.Error INVALID_ARGUMENT."""
    with pytest.raises(Error, match=message) as caught:
        Window.create("text", **kwargs)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


def test_document_must_be_text() -> None:
    """A window over something that is not a str is refused."""
    with pytest.raises(Error, match="str"):
        DocumentWindow(b"bytes")  # type: ignore[arg-type]
    assert DocumentWindow("x", WindowConfig(size=5, overlap=0)).total_chunks == 1


def test_chunk_metadata_is_per_chunk_and_kept() -> None:
    """metadata starts empty, is not shared, and user edits stay on the chunk."""
    window = Window.create("a b c d e f", size=2, overlap=0, strategy="token")
    window.get_chunk(0).metadata["seen"] = True
    assert window.get_chunk(0).metadata == {"seen": True} and window.get_chunk(1).metadata == {}
    assert isinstance(window.get_chunk(0), DocumentChunk)


def test_document_chunk_has_the_reference_fields_in_order() -> None:
    """DocumentChunk is a dataclass with exactly the reference's fields."""
    import dataclasses

    assert [f.name for f in dataclasses.fields(DocumentChunk)] == [
        "index",
        "content",
        "start_pos",
        "end_pos",
        "token_count",
        "char_count",
        "is_first",
        "is_last",
        "total_chunks",
        "metadata",
    ]
