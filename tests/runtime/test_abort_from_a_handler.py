"""abort() called by an on_event handler leaves nothing behind on the consumer's task."""

from __future__ import annotations

import anyio
import pytest

import l0
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("every", [1, 2, 3, 5])
async def test_the_consumer_can_await_after_a_handler_aborted_the_run(every: int) -> None:
    """The run fails with STREAM_ABORTED and the consumer's next await is not cancelled
    (a cancel the watchdog once sent its own running task stayed pending)."""
    holder: dict[str, l0.Stream] = {}

    def abort_at_checkpoint(event: l0.ObservabilityEvent) -> None:
        if event.type is l0.ObservabilityEventType.CHECKPOINT_SAVED:
            holder["stream"].abort()

    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("abcdefghij")),
        continue_from_last_good_token=l0.ContinuationConfig(checkpoint_interval=every),
        on_event=abort_at_checkpoint,
    )
    holder["stream"] = stream
    with pytest.raises(l0.Error) as raised:
        await stream.read()
    assert raised.value.code is l0.ErrorCode.STREAM_ABORTED
    await anyio.sleep(0)  # raised CancelledError before the fix
    await anyio.sleep(0.001)
    assert stream.state.content == "abcdefghij"[:every]
