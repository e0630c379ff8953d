"""What a `FaultServer` was asked and what it answered: the scripts tests register and the
requests it recorded, shared by the server's thread and the test's (under one lock)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from l0.errors import Error, ErrorCode
from l0.testing.script import STEP_TYPES, ErrorReply, PageReply, RawReply, ResetConnection, Step


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received and what it answered.

    `received_at` is `time.monotonic()` when the request arrived. `attempt` counts requests
    for the same model (1-based); `number` counts all requests (1-based). `outcome` is
    "reply", "raw", "page <status>", "error <status>", "reset", "prefill_rejected" or
    "unscripted".
    """

    number: int
    attempt: int
    model: str | None
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    outcome: str
    step: Step | None


@dataclass(slots=True)
class ScriptEntry:
    steps: deque[Step]
    then: Step | None
    accept_prefill: bool


@dataclass(slots=True)
class Book:
    """The scripts and recordings; shared by the server thread and the test thread."""

    scripts: dict[str, ScriptEntry] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    attempts: dict[str | None, int] = field(default_factory=dict)
    # request number -> time.monotonic() when its client went away before the reply ended
    disconnects: dict[int, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


def check_step(step: object, where: str) -> Step:
    if not isinstance(step, STEP_TYPES):
        raise Error(
            f"{where} must be a Reply, RawReply, PageReply, ErrorReply or ResetConnection from "
            f"l0.testing, got {step!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return step


def is_prefill(messages: list[dict[str, Any]]) -> bool:
    return (
        bool(messages)
        and isinstance(messages[-1], dict)
        and (messages[-1].get("role") == "assistant")
    )


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """A stand-in prompt size: words in the messages' text."""
    count = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            count += len(content.split())
    return count


def outcome_of(step: Step | None) -> str:
    if step is None:
        return "unscripted"
    if isinstance(step, ErrorReply):
        return f"error {step.status}"
    if isinstance(step, ResetConnection):
        return "reset"
    if isinstance(step, PageReply):
        return f"page {step.status}"
    return "raw" if isinstance(step, RawReply) else "reply"


__all__ = [
    "Book",
    "RecordedRequest",
    "ScriptEntry",
    "check_step",
    "is_prefill",
    "outcome_of",
    "prompt_tokens",
]
