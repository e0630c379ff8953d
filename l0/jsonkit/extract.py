"""Find the JSON in a model's answer: inside a markdown fence, or amid prose.

Fences first: among the ``` (or ~~~) blocks, the first one labelled json (or unlabelled)
wins, else the first whose content starts like JSON; a fence the text never closes runs to
the end. Without a fence, each `{` or `[` that looks like the start of JSON (followed by a
quote, a bracket, a number, a literal or a comment) begins a candidate that ends where its
brackets balance (strings and comments skipped); the longest candidate wins, and one that
never balances runs to the end (the repairer closes it). Candidates never overlap, so the
whole text is scanned once.

Comments around the JSON and closing brackets right after it are kept for the repairer, which
reports them as comments and extra closers rather than as prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from l0.jsonkit.lexer import BLOCK_COMMENT, DQ_BODY, LINE_COMMENT, SQ_BODY
from l0.jsonkit.types import CorrectionType

_FENCE_OPEN = re.compile(r"(`{3,}|~{3,})[ \t]*([A-Za-z0-9_+.-]*)")
_JSON_LANGUAGES = frozenset({"", "json", "json5", "jsonc", "jsonl"})
_JSON_START = re.compile(
    r"""[{\[]\s*(?:["'{}\[\]0-9#-]|true|false|null|True|False|None|//|/\*|\Z)"""
)
_SPAN_TOKEN = re.compile(
    rf'"{DQ_BODY}"?|\'{SQ_BODY}\'?|{LINE_COMMENT}|{BLOCK_COMMENT}|[\[\]{{}}]', re.DOTALL
)
# Comments and stray closers next to the JSON belong to it: the repairer removes and reports
# them as what they are, not as prose.
_COMMENTS = rf"(?:\s+|{LINE_COMMENT}|{BLOCK_COMMENT})*"
_LEADING = re.compile(_COMMENTS, re.DOTALL)
_TRAILING = re.compile(rf"(?:{_COMMENTS}[\]}}]*)*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str
    corrections: tuple[CorrectionType, ...] = ()


def _span_end(text: str, start: int) -> int:
    """Where the JSON value opening at `start` ends (the text's end if it never closes)."""
    depth = 0
    for match in _SPAN_TOKEN.finditer(text, start):
        token = match.group()
        if token == "{" or token == "[":
            depth += 1
        elif token == "}" or token == "]":
            depth -= 1
            if depth == 0:
                return match.end()
    return len(text)


def _longest_json_span(text: str) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    position = 0
    while True:
        found = _JSON_START.search(text, position)
        if found is None:
            return best
        start = found.start()
        end = _span_end(text, start)
        if best is None or end - start > best[1] - best[0]:
            best = (start, end)
        position = end


def _fenced_block(text: str) -> tuple[int, int, int, int] | None:
    """(fence start, content start, content end, fence end) of the fence holding the JSON."""
    fallback: tuple[int, int, int, int] | None = None
    position = 0
    while True:
        opening = _FENCE_OPEN.search(text, position)
        if opening is None:
            return fallback
        fence, language = opening.group(1), opening.group(2).lower()
        content_start = opening.end()
        closing = text.find(fence, content_start)
        content_end = len(text) if closing < 0 else closing
        end = len(text) if closing < 0 else closing + len(fence)
        block = (opening.start(), content_start, content_end, end)
        looks_like_json = text[content_start:content_end].lstrip()[:1] in ("{", "[")
        if language in _JSON_LANGUAGES and (language or looks_like_json):
            return block
        if fallback is None and looks_like_json:
            fallback = block
        position = end


def _outside_span(text: str, start: int, end: int) -> tuple[str, bool]:
    """The JSON span (with comments and stray closers around it), and whether prose was cut
    away."""
    if _LEADING.fullmatch(text, 0, start):
        start = 0
    end = _TRAILING.match(text, end).end()  # type: ignore[union-attr]  # always matches
    prose = bool(text[:start].strip()) or bool(text[end:].strip())
    return text[start:end].strip(), prose


def extract(text: str) -> Extraction:
    """The JSON part of `text`, and which wrappings were removed to get it."""
    corrections: list[CorrectionType] = []
    prose = False
    block = _fenced_block(text) if "``" in text or "~~" in text else None
    if block is not None:
        fence_start, content_start, content_end, fence_end = block
        corrections.append(CorrectionType.MARKDOWN_FENCE_REMOVED)
        prose = bool(text[:fence_start].strip()) or bool(text[fence_end:].strip())
        text = text[content_start:content_end].strip()
    span = _longest_json_span(text)
    if span is not None:
        text, cut = _outside_span(text, *span)
        prose = prose or cut
    else:
        text = text.strip()
    if prose:
        corrections.append(CorrectionType.SURROUNDING_TEXT_REMOVED)
    return Extraction(text, tuple(corrections))


__all__ = ["Extraction", "extract"]
