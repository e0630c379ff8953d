"""`Guardrails`: the built-in rules and the presets, under one name.

Every call returns new rule objects, but rules hold no per-stream state, so a list from a
preset can be shared by any number of runs, even concurrently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from l0.guardrails.content_rules import (
    pattern_rule,
    repetition_rule,
    stall_rule,
    zero_output_rule,
)
from l0.guardrails.structure_rules import json_rule, latex_rule, markdown_rule, strict_json_rule
from l0.guardrails.types import GuardrailRule, Severity


class Guardrails:
    """Built-in guardrail rules and presets."""

    @staticmethod
    def json() -> GuardrailRule:
        """Balanced ``{}``/``[]`` while streaming, for output that starts with ``{``/``[``."""
        return json_rule()

    @staticmethod
    def strict_json() -> GuardrailRule:
        """The complete output must be valid JSON (``json.loads``)."""
        return strict_json_rule()

    @staticmethod
    def pattern(
        patterns: Sequence[str | re.Pattern[str]] | None = None,
        *,
        severity: Severity = "warning",
        recoverable: bool = True,
        max_match_length: int = 200,
    ) -> GuardrailRule:
        """Unwanted regexes (default: "As an AI...", refusals, filler)."""
        return pattern_rule(patterns, severity=severity, recoverable=recoverable,
                            max_match_length=max_match_length)

    @staticmethod
    def zero_output() -> GuardrailRule:
        """Empty or whitespace-only output at the end."""
        return zero_output_rule()

    @staticmethod
    def stall(max_gap: float = 5.0) -> GuardrailRule:
        """Tokens more than `max_gap` seconds apart (a warning)."""
        return stall_rule(max_gap)

    @staticmethod
    def repetition(window: int = 1000, threshold: int = 3) -> GuardrailRule:
        """The model looping on the same passage."""
        return repetition_rule(window, threshold)

    @staticmethod
    def markdown() -> GuardrailRule:
        """Unclosed code fences (error), malformed tables and inconsistent lists (warnings)."""
        return markdown_rule()

    @staticmethod
    def latex() -> GuardrailRule:
        """``\\begin``/``\\end`` balance and order."""
        return latex_rule()

    # -- presets ------------------------------------------------------------------------------

    @staticmethod
    def recommended() -> list[GuardrailRule]:
        """json + pattern + zero_output."""
        return [json_rule(), pattern_rule(), zero_output_rule()]

    @staticmethod
    def strict() -> list[GuardrailRule]:
        """Every rule that suits any kind of output, drift detection included.

        `strict_json` is left out: it would reject every answer that is not JSON. Add it, or
        use `json_only()`, when the output must be JSON.
        """
        from l0.drift import DriftDetector  # l0.drift imports this package

        return [
            json_rule(),
            pattern_rule(),
            zero_output_rule(),
            stall_rule(),
            repetition_rule(),
            markdown_rule(),
            latex_rule(),
            DriftDetector().as_rule(),
        ]

    @staticmethod
    def json_only() -> list[GuardrailRule]:
        """json + strict_json: the output must be JSON."""
        return [json_rule(), strict_json_rule()]

    @staticmethod
    def none() -> list[GuardrailRule]:
        """No rules."""
        return []


__all__ = ["Guardrails"]
