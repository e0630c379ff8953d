"""LatexAnalysis: \\begin/\\end balance and order."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from sample_texts import LATEX_ANSWER

from l0.guardrails.latex_analysis import LatexAnalysis


def kinds(analysis: LatexAnalysis) -> list[str]:
    return [issue.kind for issue in analysis.issues]


def test_realistic_document_is_balanced() -> None:
    analysis = LatexAnalysis.analyze(LATEX_ANSWER)
    assert analysis.issues == []
    assert analysis.environments == 3
    assert analysis.is_balanced


def test_open_environments_mid_stream() -> None:
    analysis = LatexAnalysis()
    analysis.feed("\\begin{document}\n\\begin{itemize}\n")
    assert analysis.open_environments == ["document", "itemize"]
    assert analysis.depth == 2
    analysis.feed("\\end{itemize}\n")
    assert analysis.open_environments == ["document"]


def test_unclosed_environment_is_reported_only_at_finish() -> None:
    analysis = LatexAnalysis()
    analysis.feed("\\begin{align}\nx &= 1\n")
    assert analysis.issues == []
    analysis.finish()
    assert kinds(analysis) == ["unclosed_environment"]
    assert "align" in analysis.issues[0].message


def test_end_without_begin() -> None:
    analysis = LatexAnalysis.analyze("text \\end{center}\n")
    assert kinds(analysis) == ["unexpected_end"]
    assert analysis.issues[0].position == 5


def test_wrong_order_is_a_mismatch() -> None:
    analysis = LatexAnalysis.analyze("\\begin{a}\\begin{b}\\end{a}\n")
    assert kinds(analysis) == ["mismatched_end"]
    assert analysis.open_environments == []  # \end{a} closed b along with a


def test_mismatch_with_an_environment_that_is_not_open() -> None:
    analysis = LatexAnalysis.analyze("\\begin{a}\n\\end{b}\n\\end{a}\n")
    assert kinds(analysis) == ["mismatched_end"]
    assert analysis.open_environments == []


def test_code_spans_and_fences_are_not_latex() -> None:
    text = "Write `\\begin{itemize}` to start.\n```latex\n\\begin{table}\n```\nDone.\n"
    assert LatexAnalysis.analyze(text).issues == []


def test_verbatim_body_is_skipped() -> None:
    text = "\\begin{verbatim}\n\\end{itemize} \\begin{x}\n\\end{verbatim}\n"
    analysis = LatexAnalysis.analyze(text)
    assert analysis.issues == []
    assert analysis.environments == 1


def test_double_backslash_is_a_line_break_not_a_command() -> None:
    assert LatexAnalysis.analyze("a \\\\begin{x} b\n").issues == []
    assert kinds(LatexAnalysis.analyze("a \\\\\\begin{x} b\n")) == ["unclosed_environment"]


def test_whitespace_inside_the_command() -> None:
    assert LatexAnalysis.analyze("\\begin {x}\\end{ x }").is_balanced


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\\begin{a}", "\\end{a}", "\\begin{b}", "\\end{b}", "`\\begin{c}`",
                         "```", "\\\\", "\\begin{verbatim}", "\\end{verbatim}", "text", "\n"]),
        max_size=16,
    ),
    st.integers(1, 7),
)
def test_any_split_gives_the_same_issues(parts: list[str], size: int) -> None:
    text = " ".join(parts)
    whole = LatexAnalysis.analyze(text)
    pieces = LatexAnalysis()
    for start in range(0, len(text), size):
        pieces.feed(text[start : start + size])
    pieces.finish()
    assert pieces.issues == whole.issues
    assert pieces.open_environments == whole.open_environments
