"""Token counters: tiktoken only when its encoding is already on disk, never the network."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from l0.window import Window, estimate_tokens, tokens

tiktoken_load = pytest.importorskip("tiktoken.load")
tiktoken_registry = pytest.importorskip("tiktoken.registry")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt by tiktoken to fetch an encoding fails the test."""

    def refuse(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise AssertionError(f"tiktoken tried to download {blobpath}")
        with open(blobpath, "rb") as handle:
            return handle.read()

    monkeypatch.setattr(tiktoken_load, "read_file", refuse)
    monkeypatch.setattr(tokens, "_loaded", {})
    monkeypatch.setattr(tiktoken_registry, "ENCODINGS", {})  # as if nothing was loaded yet


def bundled_cache() -> Path | None:
    """litellm ships tiktoken's cl100k_base cache file; find it without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "litellm_core_utils" / "tokenizers"
        if folder.is_dir():
            return folder
    return None


@pytest.mark.usefixtures("no_network")
def test_without_a_cached_encoding_the_estimate_is_used_silently(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An encoding neither loaded nor cached gives no counter; windows fall back."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert tokens.tiktoken_counter("cl100k_base") is None
    assert tokens.tiktoken_counter("not_an_encoding") is None
    window = Window.create("some words to count", size=10, overlap=0)
    assert window.counter is estimate_tokens
    assert window.get_chunk(0).token_count == estimate_tokens("some words to count")


@pytest.mark.usefixtures("no_network")
def test_an_encoding_cached_on_disk_counts_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """With cl100k_base in tiktoken's cache directory, counts are exact and offline."""
    folder = bundled_cache()
    key_file = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
    if folder is None or not (folder / key_file).is_file():
        pytest.skip("no offline copy of cl100k_base on this machine")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", os.fspath(folder))
    counter = tokens.tiktoken_counter("cl100k_base")
    assert counter is not None
    assert counter("hello world") == 2
    window = Window.create("hello world " * 50, size=30, overlap=5)
    assert window.counter is counter
    assert all(chunk.token_count == counter(chunk.content) for chunk in window)
    assert Window.merge_chunks(window.get_all_chunks()) == "hello world " * 50
