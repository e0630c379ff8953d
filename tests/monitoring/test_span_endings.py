"""Every run's span ends exactly once, however the run ends, and the metrics count it.

Read back from the OpenTelemetry SDK's in-memory exporter; "exactly once" is checked by a
span processor that counts `on_end` per span (the SDK itself ignores a second `end()`).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import l0
from l0.metrics import Metrics
from l0.monitoring import Monitoring, OpenTelemetry, OpenTelemetryConfig, SemanticAttributes
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

OUTCOME = SemanticAttributes.OUTCOME


class Ends(SpanProcessor):  # type: ignore[misc]
    """Counts how many times each span ended."""

    def __init__(self) -> None:
        self.ends: Counter[int] = Counter()

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        assert context is not None
        self.ends[context.span_id] += 1


class Traced:
    def __init__(self, *, count_ends: bool = True) -> None:
        self.exporter = InMemorySpanExporter()
        self.ends = Ends()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        if count_ends:  # (the count grows with the spans)
            provider.add_span_processor(self.ends)
        self.otel: OpenTelemetry = Monitoring.opentelemetry(
            OpenTelemetryConfig(tracer_provider=provider)
        )

    def roots(self) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name == "l0.stream"]

    def only_root(self) -> ReadableSpan:
        (root,) = self.roots()
        assert set(self.ends.ends.values()) == {1}, self.ends.ends
        assert self.otel.active_runs == 0
        return root


@pytest.fixture(autouse=True)
def _fresh_metrics() -> None:
    Metrics.reset_global()


class Stop(BaseException):
    """Something that is not an Exception going through the run."""


async def _cancelled(stream: l0.Stream) -> None:
    with anyio.move_on_after(5):
        await stream.read()


async def _left(stream: l0.Stream) -> None:
    async with stream:
        async for event in stream:
            if event.type is l0.EventType.TOKEN:
                break


async def _aborted(stream: l0.Stream) -> None:
    with pytest.raises(l0.Error) as raised:
        async for event in stream:
            if event.type is l0.EventType.TOKEN:
                stream.abort()
    assert raised.value.code is l0.ErrorCode.STREAM_ABORTED


async def _failed(stream: l0.Stream) -> None:
    with pytest.raises(l0.Error):
        await stream.read()


async def _completed(stream: l0.Stream) -> None:
    assert await stream.read() == "abcd"


async def _base_exception(stream: l0.Stream) -> None:
    with pytest.raises(Stop):
        await stream.read()


ENDINGS: dict[str, tuple[Script, Callable[[l0.Stream], Coroutine[Any, Any, None]], str]] = {
    "cancelled": (Script.tokens("abcd", stall_at=2, stall_for=60.0), _cancelled, "cancelled"),
    "left the loop": (Script.tokens("abcd"), _left, "cancelled"),
    "aborted": (Script.tokens("abcd"), _aborted, "aborted"),
    "failed": (Script.tokens("abcd", fail_at=2, error=ValueError("bad input")), _failed, "failed"),
    "completed": (Script.tokens("abcd"), _completed, "completed"),
    "BaseException": (Script.tokens("abcd", fail_at=1, error=Stop()), _base_exception, "failed"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_every_ending_ends_the_span_once_and_is_counted(ending: str) -> None:
    """Cancelled, left, aborted, failed, completed or a BaseException: one span end each,
    with the outcome, and one request in the metrics."""
    script, consume, outcome = ENDINGS[ending]
    traced = Traced()
    stream = await l0.run(
        stream=ScriptedFactory(script), on_event=traced.otel, retry=l0.Retry(attempts=0)
    )
    await consume(stream)
    root = traced.only_root()
    assert root.attributes is not None
    assert root.attributes[OUTCOME] == outcome
    expected_status = {
        "completed": StatusCode.OK,
        "cancelled": StatusCode.UNSET,
        "aborted": StatusCode.ERROR,
        "failed": StatusCode.ERROR,
    }[outcome]
    assert root.status.status_code is expected_status
    if ending == "BaseException":
        assert root.attributes[SemanticAttributes.ERROR_TYPE] == "Stop"
    attempts = [s for s in traced.exporter.get_finished_spans() if s.name == "chat"]
    assert attempts and all(s.end_time is not None for s in attempts)
    metrics = Metrics.get_global()
    assert metrics.requests == 1
    assert metrics.completions == (1 if outcome == "completed" else 0)


async def test_a_run_closed_twice_still_ends_once() -> None:
    """aclose() after the run already stopped short adds nothing."""
    traced = Traced()
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("abcd", stall_at=1, stall_for=60.0)),
        on_event=traced.otel,
    )
    await _cancelled(stream)
    await stream.aclose()
    await stream.aclose()
    assert traced.only_root().attributes[OUTCOME] == "cancelled"  # type: ignore[index]
    assert Metrics.get_global().requests == 1


# trio closes a dropped generator too, with a warning that it was not closed
@pytest.mark.filterwarnings("ignore:Async generator .* was garbage collected:ResourceWarning")
async def test_a_run_left_without_closing_ends_when_its_stream_is_dropped() -> None:
    """A consumer that breaks out of the loop and drops the stream without closing it: the
    span ends (cancelled) when Python finalizes the run's generator."""
    traced = Traced()
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("abcd")), on_event=traced.otel)
    async for _event in stream:
        break
    assert traced.otel.active_runs == 1
    del stream, _event
    gc.collect()
    for _ in range(5):  # the event loop closes finalized generators in a task of its own
        await anyio.sleep(0)
    assert traced.only_root().attributes[OUTCOME] == "cancelled"  # type: ignore[index]
    assert Metrics.get_global().requests == 1
