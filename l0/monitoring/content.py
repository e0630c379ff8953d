"""Prompt and completion text stays in the process unless the user opts in.

Lifecycle events carry no prompt and no model output, except in three places: guardrail
violations (their messages may quote the text a rule matched), drift details, and the
messages of errors made from those violations. `without_content(meta)` is the meta of an
event with those left out — `violations` and `details` dropped (a count kept instead), and
every violation message inside an error message replaced by `[content left out]` — which is
what the OpenTelemetry and Sentry integrations send unless content capture is on
(`OpenTelemetryConfig.capture_content`, or the GenAI semantic conventions' environment
variable; Sentry's `send_default_pii`).

`strip_frame_variables(event)` removes the local variables Sentry attaches to stack frames:
an SDK frame's locals hold the request (the prompt) and the client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

LEFT_OUT = "[content left out]"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CONTENT_KEYS = frozenset({"violations", "details"})
_MAX_CHAIN = 8


def capture_content_from_env() -> bool:
    """The GenAI semantic conventions' opt-in: the environment variable set to `true`."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in ("true", "1", "yes")


def violation_texts(error: object) -> list[str]:
    """The violation messages carried by `error` and the errors it was raised from."""
    texts: list[str] = []
    seen = 0
    while isinstance(error, BaseException) and seen < _MAX_CHAIN:
        for violation in getattr(error, "violations", None) or ():
            message = getattr(violation, "message", None)
            if isinstance(message, str) and message:
                texts.append(message)
        error = error.__cause__ or error.__context__
        seen += 1
    return sorted(set(texts), key=len, reverse=True)  # longest first: replaced whole


def hide(text: str, texts: list[str]) -> str:
    for found in texts:
        text = text.replace(found, LEFT_OUT)
    return text


def without_content(meta: Mapping[str, Any]) -> dict[str, Any]:
    """`meta` without prompt or completion text (see the module docstring)."""
    plain = {key: value for key, value in meta.items() if key not in CONTENT_KEYS}
    violations = meta.get("violations")
    if isinstance(violations, (list, tuple)):
        plain["violation_count"] = len(violations)
    texts = violation_texts(meta.get("exception"))
    if texts:
        for key in ("error", "reason"):
            value = plain.get(key)
            if isinstance(value, str):
                plain[key] = hide(value, texts)
    return plain


def strip_frame_variables(value: Any) -> Any:
    """Drop `vars` from every stack frame in a Sentry event (in place; returns it)."""
    if isinstance(value, dict):
        frames = value.get("frames")
        if isinstance(frames, list):
            for frame in frames:
                if isinstance(frame, dict):
                    frame.pop("vars", None)
        for item in value.values():
            strip_frame_variables(item)
    elif isinstance(value, list):
        for item in value:
            strip_frame_variables(item)
    return value


__all__ = [
    "CAPTURE_CONTENT_ENV",
    "CONTENT_KEYS",
    "LEFT_OUT",
    "capture_content_from_env",
    "hide",
    "strip_frame_variables",
    "violation_texts",
    "without_content",
]
