"""Partial JSON: every prefix of a document reads as a prefix of its value, values only grow
as the text streams in, and nothing half-written is shown unless asked for and flagged."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings, strategies as st
from json_strategies import json_documents, model_documents, same

from l0.jsonkit import JSON, PartialJSON, PartialJSONParser


def is_prefix(partial: Any, final: Any, *, strings_may_grow: bool = False) -> bool:
    """`partial` is what `final` looks like part-way: objects and arrays may lack their
    trailing members and their last member may itself be partial; other values are whole
    (strings may be cut short when `strings_may_grow`)."""
    if isinstance(final, dict):
        keys, final_keys = list(partial) if isinstance(partial, dict) else None, list(final)
        if keys is None or keys != final_keys[: len(keys)]:
            return False
        if not keys:
            return True
        whole = all(same(partial[key], final[key]) for key in keys[:-1])
        return whole and is_prefix(
            partial[keys[-1]], final[keys[-1]], strings_may_grow=strings_may_grow
        )
    if isinstance(final, list):
        if not isinstance(partial, list) or len(partial) > len(final):
            return False
        if not partial:
            return True
        whole = all(same(a, b) for a, b in zip(partial[:-1], final, strict=False))
        return whole and is_prefix(
            partial[-1], final[len(partial) - 1], strings_may_grow=strings_may_grow
        )
    if isinstance(final, str) and strings_may_grow:
        return isinstance(partial, str) and final.startswith(partial)
    return same(partial, final)


def _wrapped(document: Any, style: int) -> str:
    text = json.dumps(document, indent=2 if style % 2 else None, ensure_ascii=False)
    if style >= 2:
        text = f"Here it is:\n```json\n{text}\n```\nDone."
    return text


@settings(max_examples=100, deadline=None)
@given(document=json_documents | model_documents, style=st.integers(0, 3))
def test_every_prefix_reads_as_a_prefix_of_the_value(document: Any, style: int) -> None:
    text = _wrapped(document, style)
    for end in range(len(text) + 1):
        partial = JSON.parse_partial(text[:end])
        if partial is None:
            continue
        assert not partial.pending_string and not partial.repaired
        assert is_prefix(partial.value, document), (text[:end], partial.value)
        if partial.complete:
            assert same(partial.value, document)
    final = JSON.parse_partial(text)
    assert final is not None and final.complete and same(final.value, document)


@settings(max_examples=100, deadline=None)
@given(
    document=json_documents | model_documents,
    style=st.integers(0, 3),
    include_pending_string=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=60),
)
def test_streamed_values_only_grow(
    document: Any, style: int, include_pending_string: bool, cuts: list[int]
) -> None:
    text = _wrapped(document, style)
    bounds = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    parser = PartialJSONParser(include_pending_string=include_pending_string, growth=0)
    seen: list[PartialJSON] = []
    for start, end in itertools.pairwise(bounds):
        partial = parser.feed(text[start:end])
        if partial is not None:
            seen.append(partial)
    assert seen and seen[-1].complete and same(seen[-1].value, document)
    assert parser.text == text
    for earlier, later in itertools.pairwise(seen):
        assert not earlier.complete
        assert earlier.length <= later.length
        grows = earlier.pending_string
        assert is_prefix(earlier.value, later.value, strings_may_grow=grows)
        assert is_prefix(earlier.value, document, strings_may_grow=grows)
        assert include_pending_string or not earlier.pending_string


def test_a_number_is_shown_only_once_it_has_ended() -> None:
    parser = PartialJSONParser(growth=0)
    assert parser.feed('{"a": 12') == PartialJSON({}, complete=False, length=6)
    assert parser.feed("3") is None  # still no change: 123 may go on
    assert parser.feed(", ") == PartialJSON({"a": 123}, complete=False, length=11)


def test_a_pending_string_is_shown_only_when_asked_and_flagged() -> None:
    hidden = PartialJSONParser(growth=0)
    assert hidden.feed('{"a": "x", "b": "hel') == PartialJSON({"a": "x"}, False, length=16)
    shown = PartialJSONParser(include_pending_string=True, growth=0)
    partial = shown.feed('{"a": "x", "b": "hel')
    assert partial == PartialJSON({"a": "x", "b": "hel"}, False, pending_string=True, length=20)
    partial = shown.feed('lo"')
    assert partial == PartialJSON({"a": "x", "b": "hello"}, False, length=23)


def test_a_key_being_written_is_never_shown() -> None:
    parser = PartialJSONParser(include_pending_string=True, growth=0)
    assert parser.feed('{"a": 1, "lon') == PartialJSON({"a": 1}, False, length=9)


def test_text_before_and_after_the_document_is_ignored() -> None:
    parser = PartialJSONParser(growth=0)
    assert parser.feed("Sure! ```json\n") is None
    assert parser.feed('{"a": [1') == PartialJSON({"a": []}, False, length=21)
    partial = parser.feed("]}\n``` and [more] {text}")
    assert partial == PartialJSON({"a": [1]}, complete=True, length=24)
    assert parser.complete
    assert parser.feed(" even more") is None


def test_faulty_text_is_read_through_the_repairer_and_flagged() -> None:
    parser = PartialJSONParser(growth=0)
    partial = parser.feed("{'a': True, 'b': ")
    assert partial == PartialJSON({"a": True}, complete=False, repaired=True, length=17)
    partial = parser.feed("'x'}")
    assert partial == PartialJSON({"a": True, "b": "x"}, complete=True, repaired=True, length=21)


def test_nothing_readable_gives_none() -> None:
    assert JSON.parse_partial("no json yet") is None
    assert JSON.parse_partial("") is None
    parser = JSON.partial_parser()
    assert parser.latest is None and parser.snapshot() is None and parser.text == ""


def test_reads_are_throttled_but_a_snapshot_reads_now() -> None:
    parser = PartialJSONParser(growth=1.0)  # read again only once the text has doubled
    assert parser.feed('{"first": 1, ') == PartialJSON({"first": 1}, False, length=13)
    assert parser.feed('"b": 2, ') is None  # grew by 8 of the 13 needed
    assert parser.latest is not None and parser.latest.value == {"first": 1}
    assert parser.snapshot() == PartialJSON({"first": 1, "b": 2}, False, length=21)


def test_an_empty_feed_changes_nothing() -> None:
    parser = PartialJSONParser(growth=0)
    parser.feed('{"a": 1,')
    assert parser.feed("") is None
    assert parser.latest == PartialJSON({"a": 1}, False, length=8)
