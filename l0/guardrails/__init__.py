"""Guardrails: rules that check a stream's text while it flows and when it ends.

The rule types load with l0; the built-in rules, presets and analyzers load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from l0.guardrails.types import (
    SEVERITIES,
    GuardrailRule,
    GuardrailViolation,
    RuleSession,
    Severity,
    Violation,
)

_LAZY = {
    "Guardrails": "l0.guardrails.presets",
    "JsonAnalysis": "l0.guardrails.json_analysis",
    "MarkdownAnalysis": "l0.guardrails.markdown_analysis",
    "LatexAnalysis": "l0.guardrails.latex_analysis",
    "GuardrailEngine": "l0.guardrails.engine",
}

if TYPE_CHECKING:
    from l0.guardrails.engine import GuardrailEngine
    from l0.guardrails.json_analysis import JsonAnalysis
    from l0.guardrails.latex_analysis import LatexAnalysis
    from l0.guardrails.markdown_analysis import MarkdownAnalysis
    from l0.guardrails.presets import Guardrails


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'l0.guardrails' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "SEVERITIES",
    "GuardrailEngine",
    "GuardrailRule",
    "GuardrailViolation",
    "Guardrails",
    "JsonAnalysis",
    "LatexAnalysis",
    "MarkdownAnalysis",
    "RuleSession",
    "Severity",
    "Violation",
]
