"""l0.enable_debug(): lifecycle logging through the standard `logging` module."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import l0
from l0.debug import disable_debug, enable_debug, log_event
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    enable_debug(stream=buffer)
    yield buffer
    disable_debug()


async def test_enable_debug_prints_the_run_lifecycle(output: io.StringIO) -> None:
    """`[l0] DEBUG: Starting L0 stream: ...` and one line per lifecycle event."""
    seen: list[l0.ObservabilityEvent] = []
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello world"))
    stream = await l0.run(
        stream=factory,
        retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.5),
        on_event=seen.append,
        context={"request_id": "req-1", "api_key": "sk-secret-0123456789abcdefgh"},
    )
    assert await stream.read() == "Hello world"
    lines = output.getvalue().splitlines()
    assert lines[0].startswith(f"[l0] DEBUG: Starting L0 stream: stream={stream.stream_id}")
    assert "'request_id': 'req-1'" in lines[0]
    assert any("Retry attempt" in line and "delay=0.5" in line for line in lines)
    assert lines[-1].startswith("[l0] DEBUG: Stream complete")
    # one DEBUG line per lifecycle event, never one per token; the retry also has its INFO
    # line (l0.run_log), which the debug handler prints too
    debug = [line for line in lines if line.startswith("[l0] DEBUG: ")]
    assert len(debug) == len(seen) < stream.state.token_count + len(seen)
    assert [line for line in lines if line not in debug] == [
        f"[l0] INFO: retry 1 after econnreset (network error), in 0.500s, on route 0 (primary) "
        f"stream={stream.stream_id}"
    ]
    assert "sk-secret" not in output.getvalue() and "[REDACTED]" in output.getvalue()


async def test_enable_debug_is_idempotent_and_uses_the_l0_logger(output: io.StringIO) -> None:
    """Calling it twice installs one handler; the logger is "l0" at DEBUG."""
    logger = enable_debug(stream=output)
    assert logger is logging.getLogger("l0") and logger.level == logging.DEBUG
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("x")))
    await stream.read()
    assert output.getvalue().count("Starting L0 stream") == 1


async def test_the_applications_logging_config_also_turns_it_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the "l0" logger at DEBUG (no enable_debug), runs log their lifecycle."""
    with caplog.at_level(logging.DEBUG, logger="l0"):
        stream = await l0.run(stream=ScriptedFactory(Script.tokens("x")))
        await stream.read()
    assert any(r.getMessage().startswith("Starting L0 stream") for r in caplog.records)


async def test_no_debug_logging_by_default(caplog: pytest.LogCaptureFixture) -> None:
    """Without DEBUG enabled nothing is logged and no handler is attached."""
    with caplog.at_level(logging.INFO, logger="l0"):
        stream = await l0.run(stream=ScriptedFactory(Script.tokens("x")))
        await stream.read()
    assert caplog.records == []
    assert stream._core is not None and log_event not in stream._core.bus._handlers


def test_reference_example_enable_debug(capsys: pytest.CaptureFixture[str]) -> None:
    """`enable_debug()` with no arguments logs to stderr with the documented prefix.
    (Exported as `l0.enable_debug`; called through its module until the export lands.)"""
    import anyio

    enable_debug()
    try:

        async def main() -> None:
            stream = await l0.run(stream=ScriptedFactory(Script.tokens("x")))
            await stream.read()

        anyio.run(main)
    finally:
        disable_debug()
    assert "[l0] DEBUG: Starting L0 stream: " in capsys.readouterr().err
