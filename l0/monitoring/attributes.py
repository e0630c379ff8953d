"""Span attribute names: the OpenTelemetry GenAI semantic conventions, and l0's own.

The `gen_ai.*` and `error.type` names are those of the OpenTelemetry semantic conventions
for generative AI (a test checks them against `opentelemetry-semantic-conventions`); the
`l0.*` names describe what only l0 knows: attempts, retries, fallbacks, guardrails.
"""

from __future__ import annotations


class SemanticAttributes:
    """Attribute names l0 sets on spans (constants only)."""

    # OpenTelemetry GenAI semantic conventions
    GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
    GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
    GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
    GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
    GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
    GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
    GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
    GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
    ERROR_TYPE = "error.type"

    # l0
    STREAM_ID = "l0.stream_id"
    ATTEMPT = "l0.attempt"
    ATTEMPTS = "l0.attempts"
    FALLBACK_INDEX = "l0.fallback_index"
    FALLBACKS = "l0.fallbacks"
    CONTINUATION = "l0.continuation"
    RETRY_COUNT = "l0.retry.count"
    RETRY_MODEL_COUNT = "l0.retry.model_count"
    RETRY_NETWORK_COUNT = "l0.retry.network_count"
    TOKEN_COUNT = "l0.token_count"
    CONTENT_LENGTH = "l0.content_length"
    CHECKPOINTS = "l0.checkpoints"
    VIOLATIONS = "l0.guardrail.violations"
    ERROR_CATEGORY = "l0.error.category"
    OUTCOME = "l0.outcome"  # completed, failed, aborted or cancelled
    CONTEXT_PREFIX = "l0.context."  # + a key of the run's context


__all__ = ["SemanticAttributes"]
