"""Rules about the shape of the output: JSON, Markdown and LaTeX structure.

Each rule's session feeds an incremental analyzer (`JsonAnalysis`, `MarkdownAnalysis`,
`LatexAnalysis`) and turns what it finds into violations, each reported once. What can never
become valid is reported while streaming (a closing bracket with nothing open, an ``\\end``
that closes the wrong environment); what is merely still open is judged only at the end.
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING

from l0.guardrails._lines import StructureIssue
from l0.guardrails._rule import make_rule, violation
from l0.guardrails.json_analysis import JsonAnalysis
from l0.guardrails.latex_analysis import LatexAnalysis
from l0.guardrails.markdown_analysis import MarkdownAnalysis
from l0.guardrails.types import GuardrailRule, GuardrailViolation, Severity

if TYPE_CHECKING:
    from l0.types import State

JSON_SUGGESTION = "Ask for JSON only, with no text around it, and make sure it is complete."


class _JsonSession:
    """Balanced ``{}``/``[]`` in output that starts like JSON; prose is left alone."""

    __slots__ = ("_analysis", "_reported")

    def __init__(self) -> None:
        self._analysis = JsonAnalysis()
        self._reported = False

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        analysis = self._analysis
        if analysis.first_char is not None and not analysis.looks_like_json:
            return []
        analysis.feed(delta)
        if analysis.error is not None and not self._reported and analysis.looks_like_json:
            self._reported = True
            return [self._violation(f"Invalid JSON structure: {analysis.error}",
                                    analysis.error_position)]
        return []

    def finish(self, state: State) -> list[GuardrailViolation]:
        analysis = self._analysis
        if not analysis.looks_like_json or analysis.error is not None:
            return []
        if analysis.in_string:
            return [self._violation("Incomplete JSON: a string is never closed", analysis.length)]
        if analysis.depth:
            return [self._violation(
                f"Incomplete JSON: {analysis.depth} unclosed bracket(s) "
                f"({_innermost(analysis.open_brackets)!r})",
                analysis.length,
            )]
        return []

    @staticmethod
    def _violation(message: str, position: int | None) -> GuardrailViolation:
        return violation("json", message, severity="error", recoverable=True, position=position,
                         suggestion=JSON_SUGGESTION)


def _innermost(brackets: str, shown: int = 16) -> str:
    """The brackets to close first, at most `shown` of them (a message stays short)."""
    return brackets if len(brackets) <= shown else "…" + brackets[-shown:]


def json_rule() -> GuardrailRule:
    """Balanced ``{}`` and ``[]`` (brackets inside strings ignored), for output that starts
    with ``{`` or ``[``: a closer that matches nothing fails at once, an unclosed structure
    at the end."""
    return make_rule("json", _JsonSession, description="Checks balanced {}[] brackets",
                     streaming=True, severity="error", recoverable=True)


class _StrictJsonSession:
    __slots__ = ()

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        return []

    def finish(self, state: State) -> list[GuardrailViolation]:
        try:
            _json.loads(state.content)
        except ValueError as exc:
            position = getattr(exc, "pos", None)
            reason = exc.msg if isinstance(exc, _json.JSONDecodeError) else str(exc)
            return [violation("strict_json", f"Invalid JSON: {reason} (position {position})",
                              severity="error", recoverable=True, position=position,
                              suggestion=JSON_SUGGESTION)]
        return []


def strict_json_rule() -> GuardrailRule:
    """The complete output must parse with ``json.loads`` (judged once, at the end)."""
    return make_rule("strict_json", _StrictJsonSession,
                     description="Validates JSON via json.loads() on complete",
                     streaming=False, severity="error", recoverable=True)


class _IssueSession:
    """Reports each new issue of a line-based analyzer once, with a severity per kind."""

    __slots__ = ("_analysis", "_errors", "_name", "_reported")

    def __init__(
        self, name: str, analysis: MarkdownAnalysis | LatexAnalysis, errors: frozenset[str]
    ) -> None:
        self._name = name
        self._analysis = analysis
        self._errors = errors
        self._reported = 0

    def feed(self, delta: str, state: State) -> list[GuardrailViolation]:
        self._analysis.feed(delta)
        return self._new()

    def finish(self, state: State) -> list[GuardrailViolation]:
        self._analysis.finish()
        return self._new()

    def _new(self) -> list[GuardrailViolation]:
        issues = self._analysis.issues
        if len(issues) == self._reported:
            return []
        fresh = issues[self._reported :]
        self._reported = len(issues)
        return [self._violation(issue) for issue in fresh]

    def _violation(self, issue: StructureIssue) -> GuardrailViolation:
        severity: Severity = "error" if issue.kind in self._errors else "warning"
        return violation(self._name, issue.message, severity=severity, recoverable=True,
                         position=issue.position, context={"kind": issue.kind, "line": issue.line})


_MARKDOWN_ERRORS = frozenset({"unclosed_fence"})
_LATEX_ERRORS = frozenset({"unexpected_end", "mismatched_end", "unclosed_environment"})


def markdown_rule() -> GuardrailRule:
    """Markdown structure: an unclosed code fence at the end is an error (the output was
    most likely cut off); malformed tables and inconsistent lists are warnings."""
    return make_rule(
        "markdown",
        lambda: _IssueSession("markdown", MarkdownAnalysis(), _MARKDOWN_ERRORS),
        description="Checks code fences, tables and lists",
        streaming=True,
        severity="error",
        recoverable=True,
    )


def latex_rule() -> GuardrailRule:
    """LaTeX environments: ``\\begin{x}``/``\\end{x}`` must balance and nest (errors)."""
    return make_rule(
        "latex",
        lambda: _IssueSession("latex", LatexAnalysis(), _LATEX_ERRORS),
        description="Checks \\begin/\\end environment balance and order",
        streaming=True,
        severity="error",
        recoverable=True,
    )


__all__ = ["json_rule", "latex_rule", "markdown_rule", "strict_json_rule"]
