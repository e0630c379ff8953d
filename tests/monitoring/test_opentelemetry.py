"""OpenTelemetry spans from lifecycle events, read back from the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, StatusCode

import l0
from l0.monitoring import Monitoring, OpenTelemetry, OpenTelemetryConfig, SemanticAttributes
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Unauthorized(Exception):
    status_code = 401


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


def tracing(exporter: InMemorySpanExporter, **options: Any) -> OpenTelemetry:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Monitoring.opentelemetry(OpenTelemetryConfig(tracer_provider=provider, **options))


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return sorted((s for s in spans if s.name == name), key=lambda s: s.start_time or 0)


def test_attribute_names_follow_the_genai_semantic_conventions() -> None:
    """SemanticAttributes' gen_ai/error names are the conventions' own."""
    assert SemanticAttributes.GEN_AI_OPERATION_NAME == gen_ai.GEN_AI_OPERATION_NAME
    assert SemanticAttributes.GEN_AI_PROVIDER_NAME == gen_ai.GEN_AI_PROVIDER_NAME
    assert SemanticAttributes.GEN_AI_REQUEST_MODEL == gen_ai.GEN_AI_REQUEST_MODEL
    assert SemanticAttributes.GEN_AI_REQUEST_STREAM == gen_ai.GEN_AI_REQUEST_STREAM
    assert SemanticAttributes.GEN_AI_RESPONSE_MODEL == gen_ai.GEN_AI_RESPONSE_MODEL
    assert (
        SemanticAttributes.GEN_AI_RESPONSE_FINISH_REASONS == gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
    )
    assert SemanticAttributes.GEN_AI_USAGE_INPUT_TOKENS == gen_ai.GEN_AI_USAGE_INPUT_TOKENS
    assert SemanticAttributes.GEN_AI_USAGE_OUTPUT_TOKENS == gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
    assert SemanticAttributes.ERROR_TYPE == error_attributes.ERROR_TYPE


async def test_a_run_is_a_span_with_a_child_span_per_attempt(
    exporter: InMemorySpanExporter,
) -> None:
    """Retry then fallback: one run span, three attempt spans under it, totals and usage."""
    otel = tracing(exporter, provider_name="openai", request_model="gpt-4o")
    done = l0.Event(
        l0.EventType.COMPLETE,
        data={"finish_reason": "stop", "model": "gpt-4o-mini-2024"},
        usage={"prompt_tokens": 12, "completion_tokens": 3},
    )
    primary = ScriptedFactory(
        Script.tokens("ab", fail_at=1), Script(chunks=["x"], fail_at=0, error=Unauthorized("no"))
    )
    fallback = ScriptedFactory(Script(chunks=["o", "k", done]))
    stream = await l0.run(
        stream=primary,
        fallbacks=[fallback],
        retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.5),
        on_event=otel.on_event,
        context={"request_id": "req-123", "api_key": "sk-abcdefghijklmnopqrstuv"},
    )
    assert await stream.read() == "ok"
    spans = exporter.get_finished_spans()
    (run,) = by_name(spans, "l0.stream")
    attempts = by_name(spans, "chat gpt-4o")
    assert len(attempts) == 3
    assert all(a.parent is not None and a.parent.span_id == run.context.span_id for a in attempts)
    assert all(a.kind is SpanKind.CLIENT for a in attempts) and run.kind is SpanKind.INTERNAL
    assert [a.attributes["l0.attempt"] for a in attempts] == [0, 1, 2]
    assert [a.attributes["l0.fallback_index"] for a in attempts] == [0, 0, 1]
    assert [a.status.status_code for a in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert attempts[0].attributes["error.type"] == "ConnectionResetError"
    assert attempts[1].attributes["error.type"] == "Unauthorized"
    assert any(e.name == "exception" for e in attempts[0].events)
    run_attributes = run.attributes
    assert run_attributes["gen_ai.operation.name"] == "chat"
    assert run_attributes["gen_ai.provider.name"] == "openai"
    assert run_attributes["gen_ai.request.model"] == "gpt-4o"
    assert run_attributes["gen_ai.response.model"] == "gpt-4o-mini-2024"
    assert run_attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert run_attributes["gen_ai.usage.input_tokens"] == 12
    assert run_attributes["gen_ai.usage.output_tokens"] == 3
    assert attempts[2].attributes["gen_ai.usage.output_tokens"] == 3
    assert run_attributes["l0.retry.count"] == 1
    assert run_attributes["l0.retry.network_count"] == 1
    assert run_attributes["l0.fallback_index"] == 1
    assert run_attributes["l0.stream_id"] == stream.stream_id
    assert run_attributes["l0.context.request_id"] == "req-123"
    assert run_attributes["l0.context.api_key"] == "[REDACTED]"
    assert run.status.status_code is StatusCode.OK
    names = [e.name for e in run.events]
    assert "l0.retry_attempt" in names and "l0.fallback_start" in names
    # span times are the events' own: the backoff of 0.5 s sits between attempts 0 and 1
    assert attempts[1].start_time - attempts[0].end_time == pytest.approx(500_000_000, abs=1000)
    assert run.start_time <= attempts[0].start_time and attempts[2].end_time <= run.end_time
    assert otel.active_runs == 0


async def test_a_failed_run_ends_its_span_in_error(exporter: InMemorySpanExporter) -> None:
    """The final error sets the run span's status, error.type and an exception event."""
    otel = tracing(exporter)
    stream = await l0.run(
        stream=ScriptedFactory(Script(chunks=["x"], fail_at=0, error=Unauthorized("bad key"))),
        on_event=otel,
    )
    with pytest.raises(l0.Error):
        await stream.read()
    (run,) = by_name(exporter.get_finished_spans(), "l0.stream")
    assert run.status.status_code is StatusCode.ERROR
    assert "bad key" in (run.status.description or "")
    assert run.attributes["error.type"] == "Error"
    (attempt,) = by_name(exporter.get_finished_spans(), "chat")
    assert attempt.status.status_code is StatusCode.ERROR
    assert otel.active_runs == 0


async def test_guardrail_violations_are_span_events(exporter: InMemorySpanExporter) -> None:
    """A violated rule is an l0.guardrail.violation event and counted on the run span."""
    otel = tracing(exporter)

    def no_bad(state: l0.State) -> list[l0.GuardrailViolation]:
        return [l0.GuardrailViolation("no_bad", "BAD", "error")] if "BAD" in state.content else []

    stream = await l0.run(
        stream=ScriptedFactory(Script(chunks=["BAD"]), Script(chunks=["good"])),
        guardrails=[l0.GuardrailRule(name="no_bad", check=no_bad)],
        check_interval=1,
        retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.1),
        on_event=otel,
    )
    assert await stream.read() == "good"
    (run,) = by_name(exporter.get_finished_spans(), "l0.stream")
    violations = [e for e in run.events if e.name == "l0.guardrail.violation"]
    assert len(violations) == 1 and violations[0].attributes["rule"] == "no_bad"
    assert run.attributes["l0.guardrail.violations"] == 1
    assert run.attributes["l0.retry.model_count"] == 1


async def test_monitoring_handler_feeds_several_sinks_and_survives_a_broken_one(
    exporter: InMemorySpanExporter,
) -> None:
    """Monitoring.handler(otel, user_handler, broken): all are called; a raise is isolated."""
    otel = tracing(exporter)
    seen: list[l0.ObservabilityEvent] = []

    def broken(event: l0.ObservabilityEvent) -> None:
        raise RuntimeError("sink down")

    handler = Monitoring.handler(broken, otel, None, seen.append)
    stream = await l0.run(stream=ScriptedFactory(Script.tokens("hi")), on_event=handler)
    assert await stream.read() == "hi"
    assert len(by_name(exporter.get_finished_spans(), "l0.stream")) == 1
    assert seen[-1].type is l0.ObservabilityEventType.COMPLETE
