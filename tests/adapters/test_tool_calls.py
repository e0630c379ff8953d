"""ToolCallAccumulator: fragments in, whole calls out, each exactly once."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from l0.adapters.tool_calls import ToolCallAccumulator


def test_fragments_of_one_call_are_joined_exactly() -> None:
    calls = ToolCallAccumulator()
    calls.add(index=0, id="call_1", name="get_weather", arguments="")
    for piece in ['{"loc', 'ation"', ': "Par', 'is"}']:
        calls.add(index=0, arguments=piece)
    assert calls.take() == [
        {
            "id": "call_1",
            "name": "get_weather",
            "arguments": '{"location": "Paris"}',
            "index": 0,
            "arguments_valid": True,
        }
    ]


def test_take_hands_each_call_over_once() -> None:
    calls = ToolCallAccumulator()
    calls.add(index=0, id="a", name="f", arguments="{}")
    assert calls.pending
    assert len(calls.take()) == 1
    assert not calls.pending
    assert calls.take() == []


def test_invalid_json_is_delivered_whole_and_flagged() -> None:
    calls = ToolCallAccumulator()
    calls.add(index=0, id="a", name="f", arguments='{"unterminated": ')
    (call,) = calls.take()
    assert call["arguments"] == '{"unterminated": '
    assert call["arguments_valid"] is False


def test_first_id_and_name_win_when_providers_repeat_them() -> None:
    calls = ToolCallAccumulator()
    calls.add(index=0, id="a", name="f", arguments="{")
    calls.add(index=0, id="a", name="f", arguments="}")
    (call,) = calls.take()
    assert (call["id"], call["name"], call["arguments"]) == ("a", "f", "{}")


def test_fragments_without_index_follow_the_id_or_the_last_call() -> None:
    calls = ToolCallAccumulator()
    calls.add(id="a", name="f", arguments="{")
    calls.add(id="b", name="g", arguments="[")
    calls.add(id="a", arguments="}")
    calls.add(arguments="]")  # no id either: continues the most recent call ("a")
    first, second = calls.take()
    assert (first["id"], first["arguments"]) == ("a", "{}]")
    assert (second["id"], second["arguments"]) == ("b", "[")


def test_sdk_objects_and_dicts_are_read_alike() -> None:
    calls = ToolCallAccumulator()
    function = SimpleNamespace(name="f", arguments='{"a"')
    calls.add_fragment(SimpleNamespace(index=0, id="x", type="function", function=function))
    calls.add_fragment({"index": 0, "function": {"arguments": ": 1}"}})
    (call,) = calls.take()
    assert (call["id"], call["name"], call["arguments"]) == ("x", "f", '{"a": 1}')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def split_calls(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, str]]]:
    """Some calls' arguments and an interleaved order of their fragments."""
    arguments = [json.dumps(draw(json_values)) for _ in range(draw(st.integers(1, 4)))]
    queues: list[list[str]] = []
    for text in arguments:
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=6)))
        bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
        queues.append([text[a:b] for a, b in itertools.pairwise(bounds) if a < b])
    order: list[tuple[int, str]] = []
    while any(queues):
        index = draw(st.sampled_from([i for i, q in enumerate(queues) if q]))
        order.append((index, queues[index].pop(0)))
    return arguments, order


@settings(max_examples=200)
@given(split_calls())
def test_any_interleaved_split_reassembles_every_call_exactly_once(
    case: tuple[list[str], list[tuple[int, str]]],
) -> None:
    arguments, order = case
    calls = ToolCallAccumulator()
    for index in range(len(arguments)):
        calls.add(index=index, id=f"call_{index}", name=f"tool_{index}")
    for index, piece in order:
        calls.add(index=index, arguments=piece)
    taken = calls.take()
    assert [call["arguments"] for call in taken] == arguments
    assert [call["id"] for call in taken] == [f"call_{i}" for i in range(len(arguments))]
    assert all(call["arguments_valid"] for call in taken)
    assert calls.take() == []
