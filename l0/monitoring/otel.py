"""OpenTelemetry tracing from a run's lifecycle events: a span per run, a child per attempt.

    otel = l0.Monitoring.opentelemetry(l0.OpenTelemetryConfig(provider_name="openai"))
    stream = await l0.run(stream=factory, on_event=otel.on_event)

`OpenTelemetry.on_event` is an ordinary `on_event` handler. `SESSION_START` opens the run's
span (a child of whatever span is current, so a run nests under the request that made it);
each `STREAM_INIT` opens an attempt span under it, named like a GenAI client call
(`chat gpt-4o`), which ends with the attempt: OK when the run completes, ERROR (with the
exception recorded) when the attempt fails. Retries, fallbacks, network recoveries and
guardrail violations become span events on the run's span; `COMPLETE` or the final `ERROR`
sets the totals (tokens, retries by kind, fallback, usage, response model and finish reason)
and ends it. Span times are the events' own timestamps, so the spans show the run's real
timeline. Attribute names follow the GenAI semantic conventions (`SemanticAttributes`).

`opentelemetry-api` is imported when an `OpenTelemetry` is created, never by `import l0`.
Everything set on a span is redacted first (`l0.monitoring.redact`), and holds no prompt or
completion text unless content capture is on (`l0.monitoring.content`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from l0._version import __version__
from l0.errors import Error, ErrorCode
from l0.monitoring.attributes import SemanticAttributes as A
from l0.monitoring.content import capture_content_from_env, without_content
from l0.monitoring.redact import redact
from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs

# Lifecycle events shown as span events (on the attempt's span for STREAM_READY and
# NETWORK_ERROR, else the run's); guardrail phases and checkpoints would repeat every few
# tokens, so they are counted instead.
_MILESTONES = frozenset(
    {
        Obs.STREAM_READY,
        Obs.RETRY_START,
        Obs.RETRY_ATTEMPT,
        Obs.RETRY_END,
        Obs.RETRY_GIVE_UP,
        Obs.FALLBACK_START,
        Obs.FALLBACK_END,
        Obs.NETWORK_ERROR,
        Obs.NETWORK_RECOVERY,
    }
)


@dataclass(frozen=True, slots=True)
class OpenTelemetryConfig:
    """How runs are traced.

    - `tracer_provider`: where spans go (default: the global provider).
    - `span_name`: the run span's name.
    - `operation_name`, `provider_name`, `request_model`: the GenAI attributes of the spans
      (`request_model` defaults to the run context's `"model"`, if any).
    - `attributes`: set on every run span.
    - `record_context`: the run's context as `l0.context.<key>` attributes (redacted).
    - `capture_content`: let prompt and completion text onto spans (guardrail violation
      messages, drift details, errors quoting them). None (the default) follows the GenAI
      semantic conventions' `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
    """

    tracer_provider: Any = None
    span_name: str = "l0.stream"
    operation_name: str = "chat"
    provider_name: str | None = None
    request_model: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    record_context: bool = True
    capture_content: bool | None = None


def _failure_outcome(meta: Mapping[str, Any]) -> str:
    """A final ERROR's outcome: "aborted" when the consumer aborted, else "failed"."""
    exception = meta.get("exception")
    aborted = isinstance(exception, Error) and exception.code is ErrorCode.STREAM_ABORTED
    return "aborted" if aborted else "failed"


def _ns(ts_ms: float) -> int:
    return int(ts_ms * 1_000_000)


def attribute_value(value: Any) -> Any:
    """A value OpenTelemetry accepts (a primitive or a list of one type), redacted."""
    plain = redact(value)
    if isinstance(plain, (str, bool, int, float)):
        return plain
    if isinstance(plain, list) and plain and all(isinstance(v, str) for v in plain):
        return plain
    return json.dumps(plain, default=str, ensure_ascii=False)


def _attributes(items: Mapping[str, Any]) -> dict[str, Any]:
    return {k: attribute_value(v) for k, v in items.items() if v is not None}


@dataclass(slots=True)
class _Run:
    root: Any
    model: str | None
    attempt: Any = None
    model_retries: int = 0
    network_retries: int = 0
    checkpoints: int = 0
    violations: int = 0


def _import_trace() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise Error(
            "OpenTelemetry monitoring needs the OpenTelemetry SDK: pip install 'l0[otel]'",
            code=ErrorCode.INVALID_ARGUMENT,
        ) from exc
    return trace


class OpenTelemetry:
    """Turns lifecycle events into spans (see the module docstring)."""

    def __init__(self, config: OpenTelemetryConfig | None = None, *, tracer_provider: Any = None):
        self.config = config if config is not None else OpenTelemetryConfig()
        self._trace = _import_trace()
        provider = (
            tracer_provider or self.config.tracer_provider or self._trace.get_tracer_provider()
        )
        self._tracer = provider.get_tracer("l0", __version__)
        self._runs: dict[str, _Run] = {}
        capture = self.config.capture_content
        self.capture_content = capture_content_from_env() if capture is None else capture

    def __call__(self, event: ObservabilityEvent) -> None:
        self.on_event(event)

    @property
    def active_runs(self) -> int:
        """Runs whose span is open (started, not yet completed or failed)."""
        return len(self._runs)

    def on_event(self, event: ObservabilityEvent) -> None:
        """The `on_event` handler: pass it to `l0.run`/`l0.wrap`."""
        kind = event.type
        if kind is Obs.SESSION_START:
            self._start_run(event)
            return
        run = self._runs.get(event.stream_id)
        if run is None or event.meta.get("recording"):
            return  # a run that started before this handler was attached; or the recorder's
        if not self.capture_content:
            event = dataclasses.replace(event, meta=without_content(event.meta))
        meta = event.meta
        if kind is Obs.STREAM_INIT:
            self._start_attempt(run, event)
        elif kind is Obs.ERROR:
            if meta.get("final"):
                self._finish_run(run, event, _failure_outcome(meta))
            else:
                self._end_attempt(run, event, failed=True)
        elif kind is Obs.COMPLETE:
            self._finish_run(run, event, "completed")
        elif kind is Obs.SESSION_END and meta.get("outcome"):
            # A run that stopped short (cancelled, closed, a BaseException): no COMPLETE or
            # final ERROR follows, so its span ends here.
            self._finish_run(run, event, str(meta["outcome"]))
        elif kind is Obs.CHECKPOINT_SAVED:
            run.checkpoints += 1
        elif kind is Obs.GUARDRAIL_RULE_RESULT and not meta.get("passed", True):
            found = meta.get("violations")
            run.violations += (len(found) if found else meta.get("violation_count")) or 1
            run.root.add_event("l0.guardrail.violation", _attributes(meta), timestamp=_ns(event.ts))
        elif kind is Obs.DRIFT_CHECK_RESULT and meta.get("detected"):
            run.root.add_event("l0.drift", _attributes(meta), timestamp=_ns(event.ts))
        elif kind in _MILESTONES:
            if kind is Obs.RETRY_ATTEMPT:
                if meta.get("counts_toward_attempts"):
                    run.model_retries += 1
                else:
                    run.network_retries += 1
            if kind is Obs.STREAM_READY or kind is Obs.NETWORK_ERROR:
                target = run.attempt or run.root
            else:
                target = run.root
            target.add_event(f"l0.{kind.value.lower()}", _attributes(meta), timestamp=_ns(event.ts))

    # -- spans ------------------------------------------------------------------------------------

    def _gen_ai(self, model: str | None) -> dict[str, Any]:
        config = self.config
        return {
            A.GEN_AI_OPERATION_NAME: config.operation_name,
            A.GEN_AI_PROVIDER_NAME: config.provider_name,
            A.GEN_AI_REQUEST_MODEL: model,
            A.GEN_AI_REQUEST_STREAM: True,
        }

    def _start_run(self, event: ObservabilityEvent) -> None:
        config = self.config
        model = config.request_model or event.context.get("model")
        attributes: dict[str, Any] = {
            **self._gen_ai(model if isinstance(model, str) else None),
            A.STREAM_ID: event.stream_id,
            A.FALLBACKS: event.meta.get("fallbacks"),
            A.CONTINUATION: event.meta.get("continuation"),
            **config.attributes,
        }
        if config.record_context:
            for key, value in redact(event.context).items():
                attributes[A.CONTEXT_PREFIX + str(key)] = value
        root = self._tracer.start_span(
            config.span_name,
            kind=self._trace.SpanKind.INTERNAL,
            attributes=_attributes(attributes),
            start_time=_ns(event.ts),
        )
        self._runs[event.stream_id] = _Run(root, model if isinstance(model, str) else None)

    def _start_attempt(self, run: _Run, event: ObservabilityEvent) -> None:
        self._end_attempt(run, event, failed=False)
        name = self.config.operation_name + (f" {run.model}" if run.model else "")
        attributes = {
            **self._gen_ai(run.model),
            A.STREAM_ID: event.stream_id,
            A.ATTEMPT: event.meta.get("attempt"),
            A.FALLBACK_INDEX: event.meta.get("fallback_index"),
            A.CONTINUATION: event.meta.get("continuation"),
        }
        run.attempt = self._tracer.start_span(
            name,
            context=self._trace.set_span_in_context(run.root),
            kind=self._trace.SpanKind.CLIENT,
            attributes=_attributes(attributes),
            start_time=_ns(event.ts),
        )

    def _end_attempt(self, run: _Run, event: ObservabilityEvent, *, failed: bool) -> None:
        span, run.attempt = run.attempt, None
        if span is None:
            return
        if failed:
            self._record_failure(span, event)
        span.end(end_time=_ns(event.ts))

    def _record_failure(self, span: Any, event: ObservabilityEvent) -> None:
        meta = event.meta
        message = meta.get("error") or f"the run stopped: {meta.get('error_type')}"
        status = self._trace.Status(self._trace.StatusCode.ERROR, attribute_value(message))
        span.set_status(status)
        span.set_attribute(A.ERROR_TYPE, str(meta.get("error_type") or "error"))
        if meta.get("category"):
            span.set_attribute(A.ERROR_CATEGORY, str(meta["category"]))
        span.add_event(
            "exception",
            _attributes({"exception.type": meta.get("error_type"), "exception.message": message}),
            timestamp=_ns(event.ts),
        )

    def _finish_run(self, run: _Run, event: ObservabilityEvent, outcome: str) -> None:
        del self._runs[event.stream_id]
        failed = outcome == "failed" or outcome == "aborted"
        meta = event.meta
        totals: dict[str, Any] = {
            A.RETRY_COUNT: run.model_retries + run.network_retries,
            A.RETRY_MODEL_COUNT: run.model_retries,
            A.RETRY_NETWORK_COUNT: run.network_retries,
            A.CHECKPOINTS: run.checkpoints,
            A.VIOLATIONS: run.violations,
            A.FALLBACK_INDEX: meta.get("fallback_index"),
            A.OUTCOME: outcome,
        }
        if outcome == "completed":
            usage = meta.get("usage") or {}
            finish = meta.get("finish_reason")
            totals.update(
                {
                    A.TOKEN_COUNT: meta.get("token_count"),
                    A.CONTENT_LENGTH: meta.get("content_length"),
                    A.ATTEMPTS: meta.get("attempts"),
                    A.GEN_AI_RESPONSE_MODEL: meta.get("model"),
                    A.GEN_AI_RESPONSE_FINISH_REASONS: [finish] if finish else None,
                    A.GEN_AI_USAGE_INPUT_TOKENS: usage.get(
                        "input_tokens", usage.get("prompt_tokens")
                    ),
                    A.GEN_AI_USAGE_OUTPUT_TOKENS: usage.get(
                        "output_tokens", usage.get("completion_tokens")
                    ),
                }
            )
        attributes = _attributes(totals)
        if run.attempt is not None:
            run.attempt.set_attributes(
                {k: v for k, v in attributes.items() if k.startswith("gen_ai.")}
            )
        self._end_attempt(run, event, failed=failed)
        run.root.set_attributes(attributes)
        if failed:
            self._record_failure(run.root, event)
        elif outcome == "completed":
            run.root.set_status(self._trace.Status(self._trace.StatusCode.OK))
        # a cancelled run is neither OK nor an error: its status stays unset
        run.root.end(end_time=_ns(event.ts))


__all__ = ["OpenTelemetry", "OpenTelemetryConfig", "attribute_value"]
