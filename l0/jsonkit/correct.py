"""Auto-correction: from a model's answer to valid JSON, with a report of every repair.

Three steps in a fixed order, each reporting what it did: valid JSON (surrounding whitespace
aside) is returned untouched after one fast strict parse; otherwise the JSON is extracted from
fences and prose (`extract`), repaired (`repair`), and the result parsed strictly. The
corrections listed are exactly the ones these steps applied, so a caller can tell a clean
answer from a repaired one, and a complete object from the front of a truncated one.
"""

from __future__ import annotations

from typing import Any

from l0.jsonkit.extract import extract
from l0.jsonkit.repair import repair
from l0.jsonkit.strict import load
from l0.jsonkit.types import AutoCorrectResult, JSONParseError

_MISSING = object()


def correct(text: str, *, keep_cut_strings: bool = True) -> tuple[AutoCorrectResult, Any]:
    """`auto_correct`, plus the parsed value (meaningful only when the result is a success)."""
    if not isinstance(text, str):
        raise JSONParseError(f"auto-correction needs a str, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        error = "the text is empty: there is no JSON to correct"
        return AutoCorrectResult(text, "", success=False, error=error), _MISSING
    try:
        return AutoCorrectResult(text, stripped), load(stripped)
    except JSONParseError as exc:
        if exc.too_deep:
            raise
    extraction = extract(stripped)
    repaired = repair(extraction.text, keep_cut_strings=keep_cut_strings)
    corrections = tuple(dict.fromkeys(extraction.corrections + repaired.corrections))
    try:
        value = load(repaired.text, what="the corrected text")
    except JSONParseError as exc:
        result = AutoCorrectResult(
            text,
            repaired.text,
            corrections,
            truncated=repaired.truncated or exc.truncated,
            success=False,
            error=exc.message,
        )
        return result, _MISSING
    return AutoCorrectResult(text, repaired.text, corrections, repaired.truncated), value


def auto_correct(text: str) -> AutoCorrectResult:
    """Correct the common faults of model-written JSON; see `AutoCorrectResult`."""
    return correct(text)[0]


__all__ = ["auto_correct", "correct"]
