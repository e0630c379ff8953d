"""l0: reliable LLM token streams.

Retries with backoff, fallbacks, timeouts, checkpoints and continuation, guardrails and
observability for OpenAI / LiteLLM / any async token stream, on an explicit state machine.

This module only re-exports the public API. Every name loads on first use (`_LAZY`), so
`import l0` costs about a millisecond and a program pays only for the parts it touches:
`l0.Error` loads the error vocabulary, `l0.run` the runtime (anyio and the machine).
"""

from __future__ import annotations

import importlib

from l0._version import __version__

# Not `from typing import TYPE_CHECKING`: importing typing alone would cost ~8 ms.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

# name -> module, imported on first access
_LAZY: dict[str, str] = {
    # The vocabulary: events, state, errors, retry, timeouts, observability
    "Continuation": "l0.continuation",
    "ContinuationConfig": "l0.continuation",
    "DeduplicationOptions": "l0.continuation",
    "OverlapResult": "l0.continuation",
    "Error": "l0.errors",
    "ErrorCode": "l0.errors",
    "ErrorContext": "l0.errors",
    "FailureType": "l0.errors",
    "NetworkError": "l0.errors",
    "NetworkErrorAnalysis": "l0.errors",
    "NetworkErrorType": "l0.errors",
    "RecoveryPolicy": "l0.errors",
    "RecoveryStrategy": "l0.errors",
    "TimeoutError": "l0.errors",
    "GuardrailRule": "l0.guardrails.types",
    "GuardrailViolation": "l0.guardrails.types",
    "Violation": "l0.guardrails.types",
    "Metrics": "l0.metrics",
    "MetricsSnapshot": "l0.metrics",
    "create_metrics": "l0.metrics",
    "get_global_metrics": "l0.metrics",
    "reset_global_metrics": "l0.metrics",
    "EventBus": "l0.event_bus",
    "ObservabilityEvent": "l0.observability",
    "ObservabilityEventType": "l0.observability",
    "ERROR_TYPE_DELAY_DEFAULTS": "l0.retry",
    "EXPONENTIAL_RETRY": "l0.retry",
    "MINIMAL_RETRY": "l0.retry",
    "RECOMMENDED_RETRY": "l0.retry",
    "RETRY_DEFAULTS": "l0.retry",
    "STRICT_RETRY": "l0.retry",
    "BackoffStrategy": "l0.retry",
    "ErrorTypeDelays": "l0.retry",
    "Retry": "l0.retry",
    "RetryableErrorType": "l0.retry",
    "Timeout": "l0.timeout",
    "ErrorCategory": "l0.types",
    "Event": "l0.types",
    "EventType": "l0.types",
    "RuntimeState": "l0.types",
    "RuntimeStates": "l0.types",
    "State": "l0.types",
    # The runtime (anyio and the machine load with it, at the first run)
    "run": "l0.runtime",
    "l0": "l0.runtime",
    "wrap": "l0.runtime",
    "Stream": "l0.runtime",
    "LazyStream": "l0.runtime",
    "RunOptions": "l0.runtime",
    "WrappedClient": "l0.client",
    "CircuitBreaker": "l0.breaker",
    "CircuitState": "l0.breaker",
    "StateMachine": "l0.machine.view",
    "StateTransition": "l0.machine.view",
    "create_state_machine": "l0.machine.view",
    # Formatting, text, multimodal, stream helpers
    "Format": "l0.format",
    "Text": "l0.text",
    "NormalizeOptions": "l0.text",
    "WhitespaceOptions": "l0.text",
    "Multimodal": "l0.multimodal",
    "ContentType": "l0.multimodal",
    "DataPayload": "l0.multimodal",
    "Progress": "l0.multimodal",
    "consume_stream": "l0.stream_utils",
    "get_text": "l0.stream_utils",
    # Comparison
    "Compare": "l0.compare",
    "Difference": "l0.compare",
    "DifferenceSeverity": "l0.compare",
    "DifferenceType": "l0.compare",
    "StringComparisonOptions": "l0.compare",
    "ObjectComparisonOptions": "l0.compare",
    # Parallel operations
    "parallel": "l0.concurrency",
    "race": "l0.concurrency",
    "sequential": "l0.concurrency",
    "batched": "l0.concurrency",
    "Parallel": "l0.concurrency",
    "ParallelResult": "l0.concurrency",
    "ParallelOptions": "l0.concurrency",
    "RaceResult": "l0.concurrency",
    "AggregatedTelemetry": "l0.concurrency",
    # Consensus
    "Consensus": "l0.voting",
    "consensus": "l0.voting",
    "ConsensusResult": "l0.voting",
    "ConsensusOutput": "l0.voting",
    "ConsensusAnalysis": "l0.voting",
    "ConsensusPreset": "l0.voting",
    "Agreement": "l0.voting",
    "Disagreement": "l0.voting",
    "DisagreementValue": "l0.voting",
    "FieldAgreement": "l0.voting",
    "FieldConsensus": "l0.voting",
    "FieldConsensusInfo": "l0.voting",
    # Guardrails and drift
    "Guardrails": "l0.guardrails",
    "JsonAnalysis": "l0.guardrails",
    "MarkdownAnalysis": "l0.guardrails",
    "LatexAnalysis": "l0.guardrails",
    "Drift": "l0.drift",
    "DriftDetector": "l0.drift",
    "DriftConfig": "l0.drift",
    "DriftResult": "l0.drift",
    # Adapters
    "Adapters": "l0.adapters",
    "Adapter": "l0.adapters",
    "AdaptedEvent": "l0.adapters",
    "OpenAIAdapter": "l0.adapters",
    "OpenAIAdapterOptions": "l0.adapters",
    "LiteLLMAdapter": "l0.adapters",
    # JSON and JSON Schema
    "JSON": "l0.jsonkit",
    "AutoCorrectResult": "l0.jsonkit.types",
    "CorrectionType": "l0.jsonkit.types",
    "JSONSchema": "l0.structured_output.json_schema",
    "JSONSchemaAdapter": "l0.structured_output.json_schema",
    "JSONSchemaDefinition": "l0.structured_output.json_schema",
    "JSONSchemaValidationError": "l0.structured_output.json_schema",
    "UnifiedSchema": "l0.structured_output.schema",
    # Structured output
    "structured": "l0.structured_output.api",
    "structured_stream": "l0.structured_output.api",
    "structured_object": "l0.structured_output.api",
    "structured_array": "l0.structured_output.api",
    "StructuredResult": "l0.structured_output.results",
    "StructuredState": "l0.structured_output.results",
    "StructuredTelemetry": "l0.structured_output.results",
    "AutoCorrectInfo": "l0.structured_output.results",
    "StructuredOutputError": "l0.structured_output.results",
    "StructuredPartial": "l0.structured_output.results",
    "StructuredStreamResult": "l0.structured_output.streaming",
    "StructuredConfig": "l0.structured_output.config",
    "MINIMAL_STRUCTURED": "l0.structured_output.config",
    "RECOMMENDED_STRUCTURED": "l0.structured_output.config",
    "STRICT_STRUCTURED": "l0.structured_output.config",
    # Pipelines and pools
    "pipe": "l0.pipeline",
    "Pipeline": "l0.pipeline",
    "PipelineStep": "l0.pipeline",
    "PipelineOptions": "l0.pipeline",
    "PipelineResult": "l0.pipeline",
    "StepContext": "l0.pipeline",
    "StepResult": "l0.pipeline",
    "create_pipeline": "l0.pipeline",
    "create_step": "l0.pipeline",
    "chain_pipelines": "l0.pipeline",
    "parallel_pipelines": "l0.pipeline",
    "create_branch_step": "l0.pipeline",
    "FAST_PIPELINE": "l0.pipeline",
    "RELIABLE_PIPELINE": "l0.pipeline",
    "PRODUCTION_PIPELINE": "l0.pipeline",
    "OperationPool": "l0.pool",
    "PoolOptions": "l0.pool",
    "PoolStats": "l0.pool",
    "create_pool": "l0.pool",
    # Event sourcing and monitoring
    "EventSourcing": "l0.eventsourcing.facade",
    "EventStore": "l0.eventsourcing",
    "EventStoreWithSnapshots": "l0.eventsourcing",
    "InMemoryEventStore": "l0.eventsourcing",
    "EventRecorder": "l0.eventsourcing",
    "EventReplayer": "l0.eventsourcing",
    "EventEnvelope": "l0.eventsourcing",
    "RecordedEvent": "l0.eventsourcing",
    "RecordedEventType": "l0.eventsourcing",
    "Snapshot": "l0.eventsourcing",
    "SerializedError": "l0.eventsourcing",
    "ReplayResult": "l0.eventsourcing",
    "ReplayCallbacks": "l0.eventsourcing",
    "ReplayedState": "l0.eventsourcing",
    "ReplayComparison": "l0.eventsourcing.compare",
    "StreamMetadata": "l0.eventsourcing",
    "Monitoring": "l0.monitoring",
    "OpenTelemetry": "l0.monitoring",
    "OpenTelemetryConfig": "l0.monitoring",
    "Sentry": "l0.monitoring",
    "SentryConfig": "l0.monitoring",
    "SemanticAttributes": "l0.monitoring",
    "enable_debug": "l0.debug",
    "ProgressBar": "l0.progress",
    # Document windows
    "Window": "l0.window",
    "DocumentWindow": "l0.window",
    "DocumentChunk": "l0.window",
    "WindowConfig": "l0.window",
    "WindowStats": "l0.window",
    "ChunkProcessConfig": "l0.window",
    "ChunkResult": "l0.window",
    "ChunkingStrategy": "l0.window",
    "ProcessingStats": "l0.window",
    "ContextRestorationOptions": "l0.window",
    "ContextRestorationStrategy": "l0.window",
}

if TYPE_CHECKING:
    from typing import Any

    # `X as X`: explicit re-exports, so type checkers see the lazily loaded names.
    from l0.adapters import (
        AdaptedEvent as AdaptedEvent,
        Adapter as Adapter,
        Adapters as Adapters,
        LiteLLMAdapter as LiteLLMAdapter,
        OpenAIAdapter as OpenAIAdapter,
        OpenAIAdapterOptions as OpenAIAdapterOptions,
    )
    from l0.breaker import (
        CircuitBreaker as CircuitBreaker,
        CircuitState as CircuitState,
    )
    from l0.client import (
        WrappedClient as WrappedClient,
    )
    from l0.compare import (
        Compare as Compare,
        Difference as Difference,
        DifferenceSeverity as DifferenceSeverity,
        DifferenceType as DifferenceType,
        ObjectComparisonOptions as ObjectComparisonOptions,
        StringComparisonOptions as StringComparisonOptions,
    )
    from l0.concurrency import (
        AggregatedTelemetry as AggregatedTelemetry,
        Parallel as Parallel,
        ParallelOptions as ParallelOptions,
        ParallelResult as ParallelResult,
        RaceResult as RaceResult,
        batched as batched,
        parallel as parallel,
        race as race,
        sequential as sequential,
    )
    from l0.continuation import (
        Continuation as Continuation,
        ContinuationConfig as ContinuationConfig,
        DeduplicationOptions as DeduplicationOptions,
        OverlapResult as OverlapResult,
    )
    from l0.debug import (
        enable_debug as enable_debug,
    )
    from l0.drift import (
        Drift as Drift,
        DriftConfig as DriftConfig,
        DriftDetector as DriftDetector,
        DriftResult as DriftResult,
    )
    from l0.errors import (
        Error as Error,
        ErrorCode as ErrorCode,
        ErrorContext as ErrorContext,
        FailureType as FailureType,
        NetworkError as NetworkError,
        NetworkErrorAnalysis as NetworkErrorAnalysis,
        NetworkErrorType as NetworkErrorType,
        RecoveryPolicy as RecoveryPolicy,
        RecoveryStrategy as RecoveryStrategy,
        TimeoutError as TimeoutError,
    )
    from l0.event_bus import EventBus as EventBus
    from l0.eventsourcing import (
        EventEnvelope as EventEnvelope,
        EventRecorder as EventRecorder,
        EventReplayer as EventReplayer,
        EventStore as EventStore,
        EventStoreWithSnapshots as EventStoreWithSnapshots,
        InMemoryEventStore as InMemoryEventStore,
        RecordedEvent as RecordedEvent,
        RecordedEventType as RecordedEventType,
        ReplayCallbacks as ReplayCallbacks,
        ReplayedState as ReplayedState,
        ReplayResult as ReplayResult,
        SerializedError as SerializedError,
        Snapshot as Snapshot,
        StreamMetadata as StreamMetadata,
    )
    from l0.eventsourcing.compare import (
        ReplayComparison as ReplayComparison,
    )
    from l0.eventsourcing.facade import (
        EventSourcing as EventSourcing,
    )
    from l0.format import (
        Format as Format,
    )
    from l0.guardrails import (
        Guardrails as Guardrails,
        JsonAnalysis as JsonAnalysis,
        LatexAnalysis as LatexAnalysis,
        MarkdownAnalysis as MarkdownAnalysis,
    )
    from l0.guardrails.types import (
        GuardrailRule as GuardrailRule,
        GuardrailViolation as GuardrailViolation,
        Violation as Violation,
    )
    from l0.jsonkit import (
        JSON as JSON,
    )
    from l0.jsonkit.types import (
        AutoCorrectResult as AutoCorrectResult,
        CorrectionType as CorrectionType,
    )
    from l0.machine.view import (
        StateMachine as StateMachine,
        StateTransition as StateTransition,
        create_state_machine as create_state_machine,
    )
    from l0.metrics import (
        Metrics as Metrics,
        MetricsSnapshot as MetricsSnapshot,
        create_metrics as create_metrics,
        get_global_metrics as get_global_metrics,
        reset_global_metrics as reset_global_metrics,
    )
    from l0.monitoring import (
        Monitoring as Monitoring,
        OpenTelemetry as OpenTelemetry,
        OpenTelemetryConfig as OpenTelemetryConfig,
        SemanticAttributes as SemanticAttributes,
        Sentry as Sentry,
        SentryConfig as SentryConfig,
    )
    from l0.multimodal import (
        ContentType as ContentType,
        DataPayload as DataPayload,
        Multimodal as Multimodal,
        Progress as Progress,
    )
    from l0.observability import (
        ObservabilityEvent as ObservabilityEvent,
        ObservabilityEventType as ObservabilityEventType,
    )
    from l0.pipeline import (
        FAST_PIPELINE as FAST_PIPELINE,
        PRODUCTION_PIPELINE as PRODUCTION_PIPELINE,
        RELIABLE_PIPELINE as RELIABLE_PIPELINE,
        Pipeline as Pipeline,
        PipelineOptions as PipelineOptions,
        PipelineResult as PipelineResult,
        PipelineStep as PipelineStep,
        StepContext as StepContext,
        StepResult as StepResult,
        chain_pipelines as chain_pipelines,
        create_branch_step as create_branch_step,
        create_pipeline as create_pipeline,
        create_step as create_step,
        parallel_pipelines as parallel_pipelines,
        pipe as pipe,
    )
    from l0.pool import (
        OperationPool as OperationPool,
        PoolOptions as PoolOptions,
        PoolStats as PoolStats,
        create_pool as create_pool,
    )
    from l0.progress import (
        ProgressBar as ProgressBar,
    )
    from l0.retry import (
        ERROR_TYPE_DELAY_DEFAULTS as ERROR_TYPE_DELAY_DEFAULTS,
        EXPONENTIAL_RETRY as EXPONENTIAL_RETRY,
        MINIMAL_RETRY as MINIMAL_RETRY,
        RECOMMENDED_RETRY as RECOMMENDED_RETRY,
        RETRY_DEFAULTS as RETRY_DEFAULTS,
        STRICT_RETRY as STRICT_RETRY,
        BackoffStrategy as BackoffStrategy,
        ErrorTypeDelays as ErrorTypeDelays,
        Retry as Retry,
        RetryableErrorType as RetryableErrorType,
    )
    from l0.runtime import (
        LazyStream as LazyStream,
        RunOptions as RunOptions,
        Stream as Stream,
        l0 as l0,
        run as run,
        wrap as wrap,
    )
    from l0.stream_utils import (
        consume_stream as consume_stream,
        get_text as get_text,
    )
    from l0.structured_output.api import (
        structured as structured,
        structured_array as structured_array,
        structured_object as structured_object,
        structured_stream as structured_stream,
    )
    from l0.structured_output.config import (
        MINIMAL_STRUCTURED as MINIMAL_STRUCTURED,
        RECOMMENDED_STRUCTURED as RECOMMENDED_STRUCTURED,
        STRICT_STRUCTURED as STRICT_STRUCTURED,
        StructuredConfig as StructuredConfig,
    )
    from l0.structured_output.json_schema import (
        JSONSchema as JSONSchema,
        JSONSchemaAdapter as JSONSchemaAdapter,
        JSONSchemaDefinition as JSONSchemaDefinition,
        JSONSchemaValidationError as JSONSchemaValidationError,
    )
    from l0.structured_output.results import (
        AutoCorrectInfo as AutoCorrectInfo,
        StructuredOutputError as StructuredOutputError,
        StructuredPartial as StructuredPartial,
        StructuredResult as StructuredResult,
        StructuredState as StructuredState,
        StructuredTelemetry as StructuredTelemetry,
    )
    from l0.structured_output.schema import (
        UnifiedSchema as UnifiedSchema,
    )
    from l0.structured_output.streaming import (
        StructuredStreamResult as StructuredStreamResult,
    )
    from l0.text import (
        NormalizeOptions as NormalizeOptions,
        Text as Text,
        WhitespaceOptions as WhitespaceOptions,
    )
    from l0.timeout import (
        Timeout as Timeout,
    )
    from l0.types import (
        ErrorCategory as ErrorCategory,
        Event as Event,
        EventType as EventType,
        RuntimeState as RuntimeState,
        RuntimeStates as RuntimeStates,
        State as State,
    )
    from l0.voting import (
        Agreement as Agreement,
        Consensus as Consensus,
        ConsensusAnalysis as ConsensusAnalysis,
        ConsensusOutput as ConsensusOutput,
        ConsensusPreset as ConsensusPreset,
        ConsensusResult as ConsensusResult,
        Disagreement as Disagreement,
        DisagreementValue as DisagreementValue,
        FieldAgreement as FieldAgreement,
        FieldConsensus as FieldConsensus,
        FieldConsensusInfo as FieldConsensusInfo,
        consensus as consensus,
    )
    from l0.window import (
        ChunkingStrategy as ChunkingStrategy,
        ChunkProcessConfig as ChunkProcessConfig,
        ChunkResult as ChunkResult,
        ContextRestorationOptions as ContextRestorationOptions,
        ContextRestorationStrategy as ContextRestorationStrategy,
        DocumentChunk as DocumentChunk,
        DocumentWindow as DocumentWindow,
        ProcessingStats as ProcessingStats,
        Window as Window,
        WindowConfig as WindowConfig,
        WindowStats as WindowStats,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'l0' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = ["__version__", *_LAZY]
