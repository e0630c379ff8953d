"""MarkdownAnalysis: fences, tables and lists, line by line."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from sample_texts import CODE_ANSWER, LIST_ANSWER, PROSE

from l0.guardrails.markdown_analysis import MarkdownAnalysis, count_cells


def kinds(analysis: MarkdownAnalysis) -> list[str]:
    return [issue.kind for issue in analysis.issues]


def test_realistic_markdown_has_no_issues() -> None:
    for text in (PROSE, CODE_ANSWER, LIST_ANSWER):
        analysis = MarkdownAnalysis.analyze(text)
        assert analysis.issues == [], text[:40]
    assert MarkdownAnalysis.analyze(CODE_ANSWER).code_blocks == 1
    assert MarkdownAnalysis.analyze(LIST_ANSWER).tables == 1


def test_open_fence_is_visible_mid_stream() -> None:
    analysis = MarkdownAnalysis()
    analysis.feed("Intro\n```python\nx = 1\n")
    assert analysis.in_fence
    assert analysis.fence_info == "python"
    analysis.feed("```\n")
    assert not analysis.in_fence
    assert analysis.code_blocks == 1


def test_unclosed_fence_is_reported_only_at_finish() -> None:
    analysis = MarkdownAnalysis()
    analysis.feed("Code:\n```js\nlet x = 1;\n")
    assert analysis.issues == []
    analysis.finish()
    assert kinds(analysis) == ["unclosed_fence"]
    assert analysis.issues[0].line == 2
    assert analysis.issues[0].position == 6


def test_fence_closes_only_with_the_same_character_and_enough_length() -> None:
    analysis = MarkdownAnalysis.analyze("````\n```\n~~~~\n````\n")
    assert analysis.issues == []
    assert analysis.code_blocks == 1
    assert kinds(MarkdownAnalysis.analyze("~~~\ncode\n```\n")) == ["unclosed_fence"]


def test_markdown_inside_a_fence_is_not_analyzed() -> None:
    text = "```\n| a | b |\n|---|\n- x\n* y\n```\n"
    assert MarkdownAnalysis.analyze(text).issues == []


def test_table_with_a_short_delimiter_row() -> None:
    analysis = MarkdownAnalysis.analyze("| a | b | c |\n|---|---|\n| 1 | 2 | 3 |\n")
    assert kinds(analysis) == ["table_columns"]
    assert "delimiter row has 2 cells, header has 3" in analysis.issues[0].message


def test_table_row_with_the_wrong_number_of_cells_is_reported_once() -> None:
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 |\n| 4 | 5 | 6 |\n\n| x |\n|---|\n| 1 | 2 |\n"
    analysis = MarkdownAnalysis.analyze(text)
    assert kinds(analysis) == ["table_columns", "table_columns"]  # one per table
    assert analysis.tables == 2
    assert analysis.issues[0].line == 4


def test_cells_count_escaped_pipes_as_text() -> None:
    assert count_cells("| a \\| b | c |") == 2
    assert count_cells("a | b") == 2
    assert count_cells("|a|") == 1


def test_pipes_in_prose_are_not_a_table() -> None:
    text = "Use a | b for union.\nThen --- is a rule?\nNo: it is text.\n"
    assert MarkdownAnalysis.analyze(text).tables == 0


def test_bullet_list_switching_marker() -> None:
    analysis = MarkdownAnalysis.analyze("- one\n- two\n* three\n")
    assert kinds(analysis) == ["list_marker"]
    assert analysis.issues[0].line == 3


def test_ordered_list_numbering_jump_and_delimiter_switch() -> None:
    assert kinds(MarkdownAnalysis.analyze("1. a\n2. b\n4. c\n")) == ["list_numbering"]
    assert kinds(MarkdownAnalysis.analyze("1. a\n2) b\n")) == ["list_marker"]


def test_common_list_styles_are_fine() -> None:
    ok = [
        "1. a\n1. b\n1. c\n",  # lazy numbering
        "1. a\n\n2. b\n\n3. c\n",  # loose list
        "- a\n  - nested\n  - nested\n- b\n",  # nesting
        "1. a\n   - x\n   * y\n",  # different markers at different levels... same level:
        "- a\n\nParagraph.\n\n* b\n",  # a paragraph ends the first list
        "3. start anywhere\n4. next\n",
        "- a\n---\n* b\n",  # a thematic break ends the list
        "- a\n1. b\n- c\n",  # bullet and ordered lists side by side
    ]
    for text in ok[:3] + ok[4:]:
        assert MarkdownAnalysis.analyze(text).issues == [], text
    assert kinds(MarkdownAnalysis.analyze(ok[3])) == ["list_marker"]


def test_list_depth_query() -> None:
    analysis = MarkdownAnalysis()
    analysis.feed("- a\n  - b\n")
    assert analysis.list_depth == 2
    analysis.feed("Text at the margin.\n")
    assert analysis.list_depth == 0


def test_crlf_line_endings() -> None:
    analysis = MarkdownAnalysis.analyze("```\r\ncode\r\n```\r\n")
    assert analysis.issues == []
    assert analysis.code_blocks == 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["```py", "```", "~~~", "| a | b |", "|---|---|", "| 1 |", "- x",
                         "* y", "1. z", "3. w", "  - n", "text", "", "---"]),
        max_size=14,
    ),
    st.integers(1, 9),
)
def test_any_split_gives_the_same_issues(lines: list[str], size: int) -> None:
    text = "\n".join(lines)
    whole = MarkdownAnalysis.analyze(text)
    pieces = MarkdownAnalysis()
    for start in range(0, len(text), size):
        pieces.feed(text[start : start + size])
    pieces.finish()
    assert pieces.issues == whole.issues
    assert (pieces.code_blocks, pieces.tables) == (whole.code_blocks, whole.tables)
