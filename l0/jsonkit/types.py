"""The vocabulary of l0's JSON tools: what can be corrected, what a correction reports, and
the error raised for text that is not (or must not be made) JSON.

`MAX_DEPTH` is the deepest nesting l0 accepts. It matches the recursion limit of jiter, the
parser inside Pydantic, so text that passes here also parses there; deeper text is refused
with a `JSONParseError` instead of a `RecursionError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from l0.errors import Error, ErrorCode

MAX_DEPTH = 200


class CorrectionType(str, Enum):
    """One kind of fault `JSON.auto_correct` repaired."""

    MARKDOWN_FENCE_REMOVED = "markdown_fence_removed"  # ```json ... ``` around the JSON
    SURROUNDING_TEXT_REMOVED = "surrounding_text_removed"  # prose before or after the JSON
    COMMENT_REMOVED = "comment_removed"  # // line, /* block */ or # line comments
    SINGLE_QUOTES_REPLACED = "single_quotes_replaced"  # 'text' -> "text"
    PYTHON_LITERAL_REPLACED = "python_literal_replaced"  # True/False/None -> true/false/null
    CONTROL_CHARACTER_ESCAPED = "control_character_escaped"  # raw newline/tab inside a string
    TRAILING_COMMA_REMOVED = "trailing_comma_removed"  # [1, 2,] and {"a": 1,}
    EXTRA_CLOSER_REMOVED = "extra_closer_removed"  # a } or ] that closes nothing
    TRUNCATED_STRING_CLOSED = "truncated_string_closed"  # the text ended inside a string
    INCOMPLETE_MEMBER_REMOVED = "incomplete_member_removed"  # the text ended in a key or value
    MISSING_BRACKET_ADDED = "missing_bracket_added"  # a [ was never closed
    MISSING_BRACE_ADDED = "missing_brace_added"  # a { was never closed


@dataclass(frozen=True, slots=True)
class AutoCorrectResult:
    """What `JSON.auto_correct` made of a text.

    `corrected` is the repaired JSON text (surrounding whitespace trimmed), `corrections` the
    kinds of fault repaired, each once, in the order first applied. `changed` is true when at least
    one correction was applied: trimming whitespace alone is not a correction. `truncated` is
    true when the text ended before the JSON did (unclosed strings, objects or arrays, or a
    member cut in half): the repaired value is then only what had arrived, never the whole
    object. `success` is false, with `error` saying why, when no valid JSON could be made;
    `corrected` is then the best attempt.
    """

    original: str
    corrected: str
    corrections: tuple[CorrectionType, ...] = ()
    truncated: bool = False
    success: bool = True
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.corrections)


class JSONParseError(Error):
    """Text that is not valid JSON (or is refused: too deep, or cut off where that matters).

    `position` is the character offset of the problem when it is known; `truncated` is true
    when the text ended before the JSON did; `too_deep` when it nests deeper than `MAX_DEPTH`.
    """

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        truncated: bool = False,
        too_deep: bool = False,
        code: ErrorCode = ErrorCode.INVALID_ARGUMENT,
    ) -> None:
        super().__init__(message, code=code)
        self.position = position
        self.truncated = truncated
        self.too_deep = too_deep


__all__ = ["MAX_DEPTH", "AutoCorrectResult", "CorrectionType", "JSONParseError"]
