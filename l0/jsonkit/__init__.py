"""JSON tools for model output: correction with a report, extraction, strict and partial
parsing. `JSON` is the public face; the modules hold one step each (see their docstrings).
"""

from l0.jsonkit.correct import auto_correct
from l0.jsonkit.extract import extract
from l0.jsonkit.namespace import JSON
from l0.jsonkit.partial import PartialJSON, PartialJSONParser, parse_partial
from l0.jsonkit.strict import parse_strict
from l0.jsonkit.types import MAX_DEPTH, AutoCorrectResult, CorrectionType, JSONParseError

__all__ = [
    "JSON",
    "MAX_DEPTH",
    "AutoCorrectResult",
    "CorrectionType",
    "JSONParseError",
    "PartialJSON",
    "PartialJSONParser",
    "auto_correct",
    "extract",
    "parse_partial",
    "parse_strict",
]
