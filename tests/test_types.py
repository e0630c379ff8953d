"""Event and State behaviour."""

from __future__ import annotations

from hypothesis import given, strategies as st

import l0
from l0.event_bus import uuid7


def test_event_type_checks() -> None:
    """Each is_* property matches exactly its event type."""
    properties = {
        l0.EventType.TOKEN: "is_token",
        l0.EventType.MESSAGE: "is_message",
        l0.EventType.DATA: "is_data",
        l0.EventType.PROGRESS: "is_progress",
        l0.EventType.TOOL_CALL: "is_tool_call",
        l0.EventType.ERROR: "is_error",
        l0.EventType.COMPLETE: "is_complete",
        l0.EventType.RESET: "is_reset",
    }
    for kind, name in properties.items():
        event = l0.Event(type=kind)
        assert [p for p in properties.values() if getattr(event, p)] == [name]


@given(st.lists(st.text(max_size=5), max_size=30), st.integers(0, 200))
def test_state_content_is_built_from_parts(parts: list[str], offset: int) -> None:
    """Appending parts, reading content, text_since and truncate agree with plain strings."""
    state = l0.State()
    for part in parts:
        state._parts.append(part)
    whole = "".join(parts)
    assert state.content_length == len(whole)
    assert state.text_since(offset) == whole[offset:]
    assert state.content == whole
    state._parts.append("tail")
    assert state.text_since(offset) == (whole + "tail")[offset:]
    assert state.truncate(offset) == (whole + "tail")[offset:]
    assert state.content == (whole + "tail")[:offset]


def test_checkpoint_is_a_prefix_of_content() -> None:
    """The checkpoint is stored as a length and read as a prefix."""
    state = l0.State(content="Hello world")
    state._set_checkpoint_length(5)
    assert state.checkpoint == "Hello"
    state.content = "Hi"
    assert state.checkpoint == ""


def test_state_equality_and_repr() -> None:
    """States compare by value and print their essentials."""
    assert l0.State(content="a", token_count=1) == l0.State(content="a", token_count=1)
    assert l0.State(content="a") != l0.State(content="b")
    assert "token_count=1" in repr(l0.State(token_count=1))


def test_uuid7_is_time_ordered_and_versioned() -> None:
    """Stream ids are RFC 9562 UUIDv7: version 7, variant 10, increasing over time."""
    import uuid

    ids = [uuid7() for _ in range(50)]
    for text in ids:
        value = uuid.UUID(text)
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
    assert ids[0][:8] <= ids[-1][:8]
