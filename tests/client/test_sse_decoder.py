"""The lean path's decoding against the SDK's: SSE events from bytes split anywhere, and chunk
JSON parsed by jiter as `json.loads` parses it (value or very exception)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings, strategies as st
from openai._streaming import SSEDecoder as SDKDecoder

from l0.client.lean import _parse
from l0.client.sse import SSEDecoder

sse_pieces = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b'{"a": 1}',
        b"\n",
        b"\r",
        b"\r\n",
        b": comment",
        b"event: ",
        b"event: error",
        b"id: 7",
        b"id: a\0b",
        b"retry: 10",
        b"retry: x",
        b"other: 1",
        b"[DONE]",
        "é🙂".encode(),
        b"\xff",
    ]
)


def sdk_events(writes: list[bytes]) -> tuple[list[tuple[str | None, str]], str | None]:
    found: list[tuple[str | None, str]] = []
    try:
        for sse in SDKDecoder().iter_bytes(iter(writes)):
            found.append((sse.event, sse.data))
    except ValueError as exc:
        return found, f"{type(exc).__name__}: {exc}"
    return found, None


def our_events(writes: list[bytes]) -> tuple[list[tuple[str | None, str]], str | None]:
    found: list[tuple[str | None, str]] = []
    decoder = SSEDecoder()
    for write in [*writes, None]:
        found.extend(decoder.feed(write) if write is not None else decoder.finish())
        if decoder.error is not None:
            return found, f"{type(decoder.error).__name__}: {decoder.error}"
    return found, None


@st.composite
def split_bytes(draw: st.DrawFn, pieces: st.SearchStrategy[bytes] = sse_pieces) -> list[bytes]:
    body = b"".join(draw(st.lists(pieces, max_size=30)))
    cuts = sorted(draw(st.sets(st.integers(0, len(body)), max_size=8)))
    bounds = [0, *cuts, len(body)]
    return [body[start:end] for start, end in itertools.pairwise(bounds)]


@settings(max_examples=400)
@given(writes=split_bytes())
def test_the_sse_decoder_reads_any_bytes_as_the_sdk_does(writes: list[bytes]) -> None:
    assert our_events(writes) == sdk_events(writes)


def test_a_character_split_between_reads_is_decoded_whole() -> None:
    body = 'data: {"x": "🙂"}\n\n'.encode()
    cut = body.index("🙂".encode()) + 2
    assert our_events([body[:cut], body[cut:]]) == ([(None, '{"x": "🙂"}')], None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(
    text=st.one_of(
        json_values.map(lambda value: json.dumps(value, ensure_ascii=False)),
        json_values.map(json.dumps).map(lambda text: text[: len(text) // 2]),
        st.text(max_size=12),
    )
)
def test_chunk_json_is_parsed_as_json_loads_parses_it(text: str) -> None:
    """jiter's value, or json.loads's very exception (type and message)."""
    try:
        expected: Any = ("value", repr(json.loads(text)))
    except ValueError as exc:
        expected = ("error", type(exc), str(exc))
    try:
        got: Any = ("value", repr(_parse(text)))
    except ValueError as exc:
        got = ("error", type(exc), str(exc))
    assert got == expected
