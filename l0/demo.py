"""`make demo`: a flaky stream, recovered by l0, printed as it happens.

The primary stream drops its connection mid-answer (l0 retries it after a backoff and tells
the consumer to discard the partial text), then goes silent on the retry (the first-token
timeout moves the run to the fallback), and the fallback answers. Tokens print live; each
lifecycle event prints between them in brackets.
"""

from __future__ import annotations

import sys
from typing import TextIO

import anyio

import l0
from l0.testing.scripted import Script, ScriptedFactory

ANSWER = "Streams fail in ordinary ways; l0 makes them boring again."


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.at_line_start = True

    def token(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.at_line_start = text.endswith("\n")

    def note(self, text: str) -> None:
        if not self.at_line_start:
            self.out.write("\n")
        self.out.write(f"  [{text}]\n")
        self.out.flush()
        self.at_line_start = True


def _describe(event: l0.ObservabilityEvent) -> str | None:
    kind = l0.ObservabilityEventType
    meta = event.meta
    if event.type is kind.NETWORK_ERROR:
        return f"network error: {meta['error']}"
    if event.type is kind.RETRY_ATTEMPT:
        return f"retry {meta['attempt']} in {meta['delay']:.2f}s ({meta['reason']})"
    if event.type is kind.FALLBACK_START:
        return f"switching to fallback {meta['index']} ({meta['reason']})"
    if event.type is kind.STREAM_INIT:
        return f"attempt {meta['attempt'] + 1} opens stream {meta['fallback_index']}"
    if event.type is kind.COMPLETE:
        return f"complete: {meta['token_count']} tokens in {meta['duration']:.2f}s"
    return None


async def main(out: TextIO = sys.stdout) -> l0.Stream:
    printer = _Printer(out)
    primary = ScriptedFactory(
        Script.tokens(ANSWER, size=6, fail_at=4, delay=0.05),  # the connection drops
        Script.tokens(ANSWER, stall_at=0, stall_for=60.0),  # then nothing comes at all
    )
    fallback = ScriptedFactory(Script.tokens(ANSWER, size=5, delay=0.03))

    def on_event(event: l0.ObservabilityEvent) -> None:
        text = _describe(event)
        if text:
            printer.note(text)

    result = await l0.run(
        stream=primary,
        fallbacks=[fallback],
        retry=l0.Retry(base_delay=0.4, strategy=l0.BackoffStrategy.FIXED),
        timeout=l0.Timeout(initial_token=800),
        on_event=on_event,
    )
    async for event in result:
        if event.is_token:
            printer.token(event.text or "")
        elif event.is_reset:
            printer.note(f"reset: discard {event.data['discarded'] if event.data else 0} chars")
    printer.note(f"final text: {result.state.content!r}")
    printer.note(
        f"fallback_index={result.state.fallback_index} "
        f"network_retries={result.state.network_retry_count} "
        f"all provider streams closed={primary.all_closed and fallback.all_closed}"
    )
    out.write("\nThe path this run took through the runtime machine:\n\n")
    out.write(result.diagram())
    return result


if __name__ == "__main__":
    anyio.run(main)
