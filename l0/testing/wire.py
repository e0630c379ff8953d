"""Turn a `Reply` into what OpenAI's chat completions endpoint would send.

`plan_reply` (streaming) is pure: it returns a list of actions (`Send` these bytes, `Pause`
so many seconds, `Cut` the connection) that the server then plays. Keeping the byte layout
here, away from sockets, makes it testable on its own and keeps the server a thin player.

The layout follows OpenAI: a role chunk, one chunk per content delta, tool-call chunks
(a head with id, type and name, then argument fragments), a finish chunk with an empty
delta, a usage chunk with empty `choices` when `stream_options.include_usage` is set, then
`data: [DONE]`. Each event is `data: <json>` followed by a blank line. `completion_object`
is the non-streaming answer: one `chat.completion` JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from l0.testing.script import Reply, ToolCall

# What a malformed chunk looks like on the wire: an event whose JSON is cut short.
MALFORMED_EVENT = b'data: {"id": "chatcmpl-broken", "choices": [{"index": 0, "delta": {"con\n\n'
DONE_EVENT = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Cut:
    """Close the connection here, in the middle of the body."""


Action: TypeAlias = Send | Pause | Cut


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What an answer needs to know about the request it answers."""

    number: int  # the server-wide request number, used in ids
    created: int  # Unix seconds
    model: str
    prompt_tokens: int
    include_usage: bool = False


def event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def _header(reply: Reply, info: RequestInfo, obj: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-l0test{info.number}",
        "object": obj,
        "created": info.created,
        "model": reply.model if reply.model is not None else info.model,
        "system_fingerprint": "fp_l0_testing",
    }


def _call_id(call: ToolCall, info: RequestInfo, index: int) -> str:
    return call.id if call.id is not None else f"call_{info.number}_{index}"


def _usage(reply: Reply, info: RequestInfo) -> dict[str, int]:
    if reply.usage is not None:
        return dict(reply.usage)
    completion = len(reply.tokens) + sum(len(call.fragments) for call in reply.tool_calls)
    return {
        "prompt_tokens": info.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": info.prompt_tokens + completion,
    }


def _tool_call_deltas(reply: Reply, info: RequestInfo) -> Iterator[dict[str, Any]]:
    """The `delta`s that stream the tool calls, one call after another or round-robin."""
    per_call: list[list[dict[str, Any]]] = []
    for index, call in enumerate(reply.tool_calls):
        head = {
            "index": index,
            "id": _call_id(call, info, index),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        parts = [head] + [
            {"index": index, "function": {"arguments": fragment}} for fragment in call.fragments
        ]
        per_call.append([{"tool_calls": [part]} for part in parts])
    if not reply.interleave_tool_calls:
        for deltas in per_call:
            yield from deltas
        return
    longest = max((len(deltas) for deltas in per_call), default=0)
    for position in range(longest):
        for deltas in per_call:
            if position < len(deltas):
                yield deltas[position]


def plan_reply(reply: Reply, info: RequestInfo) -> list[Action]:
    """The actions that stream `reply`, after the response headers were sent."""
    header = _header(reply, info, "chat.completion.chunk")
    if info.include_usage:
        header["usage"] = None  # as OpenAI does: every chunk has the key, the last one a value

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return event({**header, "choices": [choice]})

    content = [chunk({"content": token}) for token in reply.tokens]
    content += [chunk(delta) for delta in _tool_call_deltas(reply, info)]
    stall = reply.stall if reply.stall is not None and not reply.stall.before_headers else None
    actions: list[Action] = [Send(chunk({"role": "assistant", "content": ""}))]
    for position in range(len(content) + 1):
        # Faults sit between content chunks: position n is "after n chunks".
        if stall is not None and stall.after == position:
            actions.append(Pause(stall.seconds))
        if reply.malformed_after == position:
            actions.append(Send(MALFORMED_EVENT))
        if reply.drop_after == position:
            actions.append(Cut())
            return actions
        if position < len(content):
            actions.append(Send(content[position]))
    if reply.finish:
        actions.append(Send(chunk({}, reply.effective_finish_reason)))
    if info.include_usage:
        actions.append(Send(event({**header, "choices": [], "usage": _usage(reply, info)})))
    if reply.hang_after_finish:
        actions.append(Pause(reply.hang_after_finish))
    if reply.done:
        actions.append(Send(DONE_EVENT))
    return actions


def completion_object(reply: Reply, info: RequestInfo) -> dict[str, Any]:
    """The whole reply as one non-streaming `chat.completion` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text if reply.tokens else None,
        "refusal": None,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, info, index),
                "type": "function",
                "function": {"name": call.name, "arguments": call.full_arguments},
            }
            for index, call in enumerate(reply.tool_calls)
        ]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": reply.effective_finish_reason,
    }
    return {
        **_header(reply, info, "chat.completion"),
        "choices": [choice],
        "usage": _usage(reply, info),
    }


__all__ = [
    "DONE_EVENT",
    "MALFORMED_EVENT",
    "Action",
    "Cut",
    "Pause",
    "RequestInfo",
    "Send",
    "completion_object",
    "plan_reply",
]
