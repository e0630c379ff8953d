"""Event and State behaviour."""

from __future__ import annotations

import dataclasses
import re

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


REFERENCE_STATE = """
    content: str = ""
    checkpoint: str = ""
    token_count: int = 0
    model_retry_count: int = 0
    network_retry_count: int = 0
    fallback_index: int = 0
    violations: list[GuardrailViolation] = field(default_factory=list)
    drift_detected: bool = False
    completed: bool = False
    aborted: bool = False
    first_token_at: float | None = None
    last_token_at: float | None = None
    duration: float | None = None
    resumed: bool = False
    network_errors: list[Any] = field(default_factory=list)
    resume_point: str | None = None
    resume_from: int | None = None
    continuation_used: bool = False
    deduplication_applied: bool = False
    overlap_removed: str | None = None
"""  # the reference's `@dataclass class State`, field by field


def test_state_is_the_references_dataclass() -> None:
    """`@dataclass class State`: is_dataclass, fields() in the reference's order with its
    defaults (then l0's additions), asdict() and replace() work."""
    assert dataclasses.is_dataclass(l0.State) and dataclasses.is_dataclass(l0.State())
    declared = re.findall(r"^\s+(\w+): .*?= (.+)$", REFERENCE_STATE, re.MULTILINE)
    fields = dataclasses.fields(l0.State)
    assert [f.name for f in fields][: len(declared)] == [name for name, _ in declared]
    assert [f.name for f in fields][len(declared) :] == [
        "model", "finish_reason", "usage", "tool_calls",
    ]  # fmt: skip
    fresh = l0.State()
    for f in fields:  # every field starts at the declared default
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert getattr(fresh, f.name) == default, f.name
    state = l0.State(content="Hello", token_count=2, violations=[])
    state._set_checkpoint_length(4)
    plain = dataclasses.asdict(state)
    assert plain == state.to_dict()
    assert (plain["content"], plain["checkpoint"], plain["token_count"]) == ("Hello", "Hell", 2)
    changed = dataclasses.replace(state, token_count=3)
    assert changed.content == "Hello" and changed.token_count == 3 and state.token_count == 2


def test_asdict_turns_violations_into_dicts() -> None:
    """asdict() recurses into the violations (dataclasses themselves)."""
    violation = l0.GuardrailViolation(rule="r", message="m", severity="warning")
    plain = dataclasses.asdict(l0.State(violations=[violation]))
    assert plain["violations"] == [dataclasses.asdict(violation)]

