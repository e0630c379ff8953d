"""The reference's JSON helpers, as plain functions over strings (`l0.JSON` has the rest).

`auto_correct_json` returns the corrected text only; when it cannot make valid JSON it
returns its best attempt. Use `l0.JSON.auto_correct` to learn what was corrected, whether the
text was cut short, and whether the result is valid.
"""

from __future__ import annotations

from l0.jsonkit.correct import auto_correct
from l0.jsonkit.namespace import JSON


def auto_correct_json(text: str) -> str:
    """Fix common JSON faults: trailing commas, unclosed braces and brackets, whitespace..."""
    return auto_correct(text).corrected


def extract_json_from_markdown(text: str) -> str:
    """The JSON inside a markdown fence (or amid prose); the trimmed text when there is none."""
    return JSON.extract(text)


__all__ = ["auto_correct_json", "extract_json_from_markdown"]
