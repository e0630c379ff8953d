"""One chat completion request that l0 can issue again: the stream factory of a wrapped call.

`ChatRequest` keeps the keyword arguments of `create(...)` and the SDK call to make. The
runtime opens every attempt through `l0_open(continuation=..., build_continuation_prompt=...)`:

- a fresh attempt (`continuation` is None) sends the request as it was given;
- a continuation sends the same request with the text already delivered (the checkpoint)
  as an assistant prefill: `messages + [{"role": "assistant", "content": checkpoint}]`, or,
  when the request already ends with an assistant message (the user's own prefill), that
  message with the checkpoint appended to its content. The model carries on from there and
  the runtime removes any overlap it repeats;
- with `build_continuation_prompt`, a continuation sends
  `messages + [{"role": "assistant", "content": checkpoint},
  {"role": "user", "content": build_continuation_prompt(checkpoint)}]` instead: no prefill,
  so it also works on targets that refuse one.

A target that refuses a prefill answers 400 with a code in `PREFILL_REJECTION_CODES`. The
request then raises `l0.Error(code=PREFILL_REJECTED)` and the runtime restarts that target
from scratch (a RESET tells the consumer to drop what it had); the refusal is remembered per
model for the wrapped client, so later continuations on that model restart without asking.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from l0.errors import Error, ErrorCode, provider_error_code, status_code_of

# Error codes with which a target says it does not accept an assistant prefill.
PREFILL_REJECTION_CODES = frozenset({"prefill_not_supported"})


class PrefillMemory:
    """The models known to refuse an assistant prefill, shared by a client's requests."""

    def __init__(self) -> None:
        self._refusing: set[str] = set()
        self._lock = threading.Lock()

    def refuses(self, model: object) -> bool:
        return isinstance(model, str) and model in self._refusing

    def note_refusal(self, model: object) -> None:
        if isinstance(model, str):
            with self._lock:
                self._refusing.add(model)


def is_prefill_rejection(error: BaseException) -> bool:
    """Whether `error` is a target's 400 refusing an assistant prefill (by status and code)."""
    return status_code_of(error) == 400 and provider_error_code(error) in PREFILL_REJECTION_CODES


def prefill_messages(messages: list[Any], checkpoint: str) -> list[Any]:
    """`messages` ending with the checkpoint as (the end of) an assistant message."""
    if messages:
        last = messages[-1]
        if (
            isinstance(last, dict)
            and last.get("role") == "assistant"
            and isinstance(last.get("content"), str)
        ):
            return [*messages[:-1], {**last, "content": last["content"] + checkpoint}]
    return [*messages, {"role": "assistant", "content": checkpoint}]


def prompted_messages(messages: list[Any], checkpoint: str, prompt: str) -> list[Any]:
    """`messages`, the checkpoint as the assistant's turn, then the user's continuation prompt."""
    return [
        *messages,
        {"role": "assistant", "content": checkpoint},
        {"role": "user", "content": prompt},
    ]


class ChatRequest:
    """A streaming chat completion request, opened once per attempt (see the module doc)."""

    __slots__ = ("_call", "_kwargs", "_prefill", "l0_route")

    def __init__(
        self,
        call: Callable[..., Awaitable[Any]],
        kwargs: dict[str, Any],
        prefill: PrefillMemory,
        route: str | None = None,
    ) -> None:
        self._call = call
        self._kwargs = kwargs
        self._prefill = prefill
        self.l0_route = route  # model + base URL, the key of its route health (l0.routes)

    @property
    def model(self) -> Any:
        return self._kwargs.get("model")

    @property
    def kwargs(self) -> dict[str, Any]:
        """The request's keyword arguments, as sent on a fresh attempt."""
        return dict(self._kwargs)

    def __call__(self) -> Awaitable[Any]:
        """Open a fresh attempt (the plain stream factory protocol)."""
        return self.l0_open(continuation=None, build_continuation_prompt=None)

    async def l0_open(
        self,
        *,
        continuation: str | None,
        build_continuation_prompt: Callable[[str], str] | None,
    ) -> Any:
        if not continuation:
            return await self._call(**self._kwargs)
        messages = list(self._kwargs.get("messages") or ())
        if build_continuation_prompt is not None:
            prompt = build_continuation_prompt(continuation)
            if not isinstance(prompt, str):
                raise Error(
                    f"build_continuation_prompt must return a str (the user message that asks "
                    f"the model to go on), got {type(prompt).__name__}",
                    code=ErrorCode.INVALID_ARGUMENT,
                )
            return await self._call(
                **{**self._kwargs, "messages": prompted_messages(messages, continuation, prompt)}
            )
        model = self.model
        if self._prefill.refuses(model):
            raise _refused(model, known=True)
        try:
            return await self._call(
                **{**self._kwargs, "messages": prefill_messages(messages, continuation)}
            )
        except Exception as exc:
            if not is_prefill_rejection(exc):
                raise
            self._prefill.note_refusal(model)
            raise _refused(model, known=False) from exc

    def __repr__(self) -> str:
        return f"ChatRequest(model={self.model!r})"


def _refused(model: object, *, known: bool) -> Error:
    how = "is known to refuse" if known else "refused"
    return Error(
        f"Model {model!r} {how} the continuation request (the checkpoint as an assistant "
        "prefill); l0 restarts it from scratch. Give the client build_continuation_prompt "
        "to continue such models with a user message instead.",
        code=ErrorCode.PREFILL_REJECTED,
    )


__all__ = [
    "PREFILL_REJECTION_CODES",
    "ChatRequest",
    "PrefillMemory",
    "is_prefill_rejection",
    "prefill_messages",
    "prompted_messages",
]
