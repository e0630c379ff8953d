"""Guardrails: rules that check a stream's text while it flows and when it ends."""

from l0.guardrails.types import (
    SEVERITIES,
    GuardrailRule,
    GuardrailViolation,
    RuleSession,
    Severity,
    Violation,
)

__all__ = [
    "SEVERITIES",
    "GuardrailRule",
    "GuardrailViolation",
    "RuleSession",
    "Severity",
    "Violation",
]
