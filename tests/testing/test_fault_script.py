"""The fault script values and the pure wire layout they produce (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from l0.errors import Error, ErrorCode
from l0.testing import ErrorReply, Reply, Stall, ToolCall
from l0.testing.wire import (
    DONE_EVENT,
    MALFORMED_EVENT,
    Action,
    Cut,
    Pause,
    RequestInfo,
    Send,
    completion_object,
    plan_reply,
)

INFO = RequestInfo(number=7, created=1_700_000_000, model="gpt-test", prompt_tokens=3)
WITH_USAGE = RequestInfo(
    number=7, created=1_700_000_000, model="gpt-test", prompt_tokens=3, include_usage=True
)


def payloads(actions: list[Action]) -> list[Any]:
    """The JSON of each sent event ("[DONE]" and broken JSON kept as strings)."""
    out: list[Any] = []
    for action in actions:
        if not isinstance(action, Send):
            out.append(action)
            continue
        assert action.data.startswith(b"data: ") and action.data.endswith(b"\n\n")
        body = action.data[len(b"data: ") : -2].decode()
        try:
            out.append(json.loads(body))
        except ValueError:
            out.append(body)
    return out


def deltas(actions: list[Action]) -> list[dict[str, Any]]:
    return [
        p["choices"][0]["delta"] for p in payloads(actions) if isinstance(p, dict) and p["choices"]
    ]


def test_reply_streams_role_tokens_finish_and_done_like_openai() -> None:
    actions = plan_reply(Reply(["Hel", "lo"]), INFO)
    events = payloads(actions)
    assert [e["choices"][0]["delta"] for e in events[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "Hel"},
        {"content": "lo"},
        {},
    ]
    assert [e["choices"][0]["finish_reason"] for e in events[:-1]] == [None, None, None, "stop"]
    assert events[-1] == "[DONE]"
    first = events[0]
    assert first["object"] == "chat.completion.chunk"
    assert first["id"] == "chatcmpl-l0test7"
    assert first["model"] == "gpt-test"
    assert first["created"] == 1_700_000_000
    assert "usage" not in first


def test_usage_chunk_comes_last_when_requested_with_default_counts() -> None:
    events = payloads(plan_reply(Reply(["a", "b"]), WITH_USAGE))
    assert all(e["usage"] is None for e in events[:-2])
    assert events[-2]["choices"] == []
    assert events[-2]["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert events[-1] == "[DONE]"


def test_usage_override_is_sent_as_given() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    events = payloads(plan_reply(Reply(["a"], usage=usage), WITH_USAGE))
    assert events[-2]["usage"] == usage


def test_finish_and_done_can_be_left_out() -> None:
    no_done = plan_reply(Reply(["a"], done=False), INFO)
    assert Send(DONE_EVENT) not in no_done
    assert deltas(no_done)[-1] == {}  # the finish chunk is still there
    bare = plan_reply(Reply(["a"], done=False, finish=False), INFO)
    assert deltas(bare) == [{"role": "assistant", "content": ""}, {"content": "a"}]
    assert Send(DONE_EVENT) not in bare


def test_hang_after_finish_pauses_after_the_finish_and_usage_chunks() -> None:
    """A provider that finishes its answer, then neither sends [DONE] nor closes (for now)."""
    actions = plan_reply(Reply(["a"], hang_after_finish=30.0), WITH_USAGE)
    sent = payloads(actions)
    assert sent[-4]["choices"][0]["finish_reason"] == "stop"
    assert sent[-3]["choices"] == [] and sent[-3]["usage"]["completion_tokens"] == 1
    assert sent[-2:] == [Pause(30.0), "[DONE]"]
    no_done = plan_reply(Reply(["a"], hang_after_finish=30.0, done=False), INFO)
    assert no_done[-1] == Pause(30.0)


def test_drop_after_cuts_the_body_after_that_many_content_chunks() -> None:
    actions = plan_reply(Reply(["a", "b", "c"], drop_after=2), WITH_USAGE)
    assert isinstance(actions[-1], Cut)
    assert deltas(actions) == [
        {"role": "assistant", "content": ""},
        {"content": "a"},
        {"content": "b"},
    ]


def test_malformed_chunk_sits_after_n_chunks_and_the_stream_goes_on() -> None:
    actions = plan_reply(Reply(["a", "b"], malformed_after=1), INFO)
    assert actions[2] == Send(MALFORMED_EVENT)
    with pytest.raises(ValueError):
        json.loads(MALFORMED_EVENT[len(b"data: ") :])
    assert payloads(actions)[3]["choices"][0]["delta"] == {"content": "b"}


@pytest.mark.parametrize("after", [0, 1, 2])
def test_stall_pauses_after_n_content_chunks(after: int) -> None:
    actions = plan_reply(Reply(["a", "b"], stall=Stall(2.5, after=after)), INFO)
    assert actions.index(Pause(2.5)) == 1 + after  # the role chunk comes first


def test_stall_before_headers_is_not_part_of_the_body() -> None:
    actions = plan_reply(Reply(["a"], stall=Stall(1.0, before_headers=True)), INFO)
    assert not any(isinstance(action, Pause) for action in actions)


def test_tool_calls_stream_a_head_then_argument_fragments_per_index() -> None:
    reply = Reply(
        tool_calls=[
            ToolCall("get_weather", ['{"loc', 'ation": ', '"Paris"}']),
            ToolCall("noop", "{}", id="call_custom"),
        ]
    )
    parts = [d["tool_calls"][0] for d in deltas(plan_reply(reply, INFO)) if "tool_calls" in d]
    assert parts == [
        {
            "index": 0,
            "id": "call_7_0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        },
        {"index": 0, "function": {"arguments": '{"loc'}},
        {"index": 0, "function": {"arguments": 'ation": '}},
        {"index": 0, "function": {"arguments": '"Paris"}'}},
        {"index": 1, "id": "call_custom", "type": "function",
         "function": {"name": "noop", "arguments": ""}},
        {"index": 1, "function": {"arguments": "{}"}},
    ]  # fmt: skip
    last = payloads(plan_reply(reply, INFO))[-2]
    assert last["choices"][0]["finish_reason"] == "tool_calls"


def test_interleaved_tool_calls_alternate_between_indexes() -> None:
    reply = Reply(
        tool_calls=[ToolCall("a", ["1", "2"]), ToolCall("b", ["3"])], interleave_tool_calls=True
    )
    parts = [d["tool_calls"][0] for d in deltas(plan_reply(reply, INFO)) if "tool_calls" in d]
    assert [part["index"] for part in parts] == [0, 1, 0, 1, 0]


def test_completion_object_is_the_whole_reply() -> None:
    reply = Reply(["Hel", "lo"], tool_calls=[ToolCall("f", ["{", "}"])])
    body = completion_object(reply, INFO)
    assert body["object"] == "chat.completion"
    message = body["choices"][0]["message"]
    assert message["content"] == "Hello"
    assert message["tool_calls"] == [
        {"id": "call_7_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


@given(st.lists(st.text(max_size=8), max_size=12))
def test_tokens_are_sent_exactly_as_given(tokens: list[str]) -> None:
    sent = [d["content"] for d in deltas(plan_reply(Reply(tokens), INFO))[1:] if "content" in d]
    assert sent == tokens


def test_a_string_is_a_single_token() -> None:
    assert Reply("Hello world").tokens == ("Hello world",)


def test_error_reply_bodies_follow_openai() -> None:
    assert ErrorReply(429).body() == {
        "error": {
            "message": "Rate limit reached for requests.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    context = ErrorReply(400, code="context_length_exceeded").body()["error"]
    assert isinstance(context, dict)
    assert context["code"] == "context_length_exceeded"
    assert context["param"] == "messages"
    assert "maximum context length" in context["message"]
    custom = ErrorReply(400, code="content_policy_violation", message="nope").body()["error"]
    assert isinstance(custom, dict)
    assert (custom["code"], custom["message"]) == ("content_policy_violation", "nope")


def test_error_reply_retry_headers() -> None:
    assert ErrorReply(429, retry_after=2).response_headers() == {"Retry-After": "2"}
    assert ErrorReply(429, retry_after_ms=1500).response_headers() == {"retry-after-ms": "1500"}
    assert ErrorReply(429, retry_after=0.25).response_headers() == {"Retry-After": "0.25"}
    assert ErrorReply(429).response_headers() == {}


@pytest.mark.parametrize(
    "build",
    [
        lambda: Reply(["a"], drop_after=2),
        lambda: Reply(["a"], malformed_after=-1),
        lambda: Reply(["a"], stall=Stall(1.0, after=3)),
        lambda: Reply(["a"], hang_after_finish=-1),
        lambda: Reply([1]),  # type: ignore[list-item]
        lambda: Reply(usage={"prompt_tokens": "3"}),  # type: ignore[dict-item]
        lambda: Stall(-1),
        lambda: Stall(1, after=2, before_headers=True),
        lambda: ToolCall(""),
        lambda: ToolCall("f", [1]),  # type: ignore[list-item]
        lambda: ToolCall("f", 42),  # type: ignore[arg-type]
        lambda: Reply(7),  # type: ignore[arg-type]
        lambda: Reply(tool_calls=["f"]),  # type: ignore[list-item]
        lambda: ErrorReply(200),
        lambda: ErrorReply(429, retry_after=-1),
    ],
)
def test_bad_script_values_are_rejected_clearly(build: Any) -> None:
    with pytest.raises(Error) as caught:
        build()
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
