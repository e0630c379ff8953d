"""`l0.JSON`: the JSON tools for model output, under one name.

Three levels of trust, chosen by the caller: `parse_strict` (and `parse_tool_arguments`)
accept exact JSON only and never repair, for text whose meaning must not be guessed, such as
tool-call arguments; `parse` corrects the common faults of model output but refuses a
document that was cut short unless asked to take it; `auto_correct` returns the corrected
text with the full report, for callers that decide for themselves.
"""

from __future__ import annotations

from typing import Any

from l0.jsonkit.correct import auto_correct, correct
from l0.jsonkit.extract import extract
from l0.jsonkit.partial import PartialJSON, PartialJSONParser, parse_partial
from l0.jsonkit.strict import load, parse_strict
from l0.jsonkit.types import MAX_DEPTH, AutoCorrectResult, JSONParseError


class JSON:
    """JSON utilities for model output: correction, extraction, strict and partial parsing."""

    MAX_DEPTH = MAX_DEPTH

    @staticmethod
    def auto_correct(text: str) -> AutoCorrectResult:
        """Correct the common faults of model-written JSON and report each one."""
        return auto_correct(text)

    @staticmethod
    def extract(text: str) -> str:
        """The JSON part of a model's answer (from a markdown fence or amid prose)."""
        if not isinstance(text, str):
            raise JSONParseError(f"JSON.extract needs a str, got {type(text).__name__}")
        return extract(text.strip()).text

    @staticmethod
    def parse(text: str, *, auto_correct: bool = True, allow_truncated: bool = False) -> Any:
        """Parse model output, correcting common faults (unless `auto_correct=False`).

        A document the text cut short is refused with a `JSONParseError` (`truncated=True`),
        since its repaired value would only be the front of the real one; pass
        `allow_truncated=True` to take that front anyway.
        """
        if not auto_correct:
            return load(text)
        result, value = correct(text)
        if not result.success:
            raise JSONParseError(
                f"Could not correct the text into JSON: {result.error}",
                truncated=result.truncated,
            )
        if result.truncated and not allow_truncated:
            raise JSONParseError(
                "The JSON was cut off before it ended (repairs needed: "
                f"{', '.join(c.value for c in result.corrections)}); its repaired value would "
                "be incomplete. Retry the request, or pass allow_truncated=True to accept it.",
                truncated=True,
            )
        return value

    @staticmethod
    def parse_strict(text: str) -> Any:
        """Parse exact JSON only; raise `JSONParseError` for anything else. Never repairs."""
        return parse_strict(text)

    @staticmethod
    def parse_tool_arguments(arguments: str) -> dict[str, Any]:
        """Parse a tool call's arguments: exact JSON, and an object. Never repairs.

        A repaired tool call could do something the model never asked for (a cut-off path,
        a closed-early list), so anything but a whole JSON object is an error.
        """
        what = "the tool-call arguments"
        try:
            value = load(arguments, what=what)
        except JSONParseError as exc:
            raise JSONParseError(
                f"{exc.message}. Tool-call arguments are never auto-corrected.",
                position=exc.position,
                truncated=exc.truncated,
                too_deep=exc.too_deep,
            ) from exc
        if not isinstance(value, dict):
            raise JSONParseError(f"{what} must be a JSON object, got a JSON {type(value).__name__}")
        return value

    @staticmethod
    def is_valid(text: str) -> bool:
        """True when `text` is exact JSON (surrounding whitespace allowed)."""
        try:
            load(text)
        except JSONParseError:
            return False
        return True

    @staticmethod
    def parse_partial(text: str, *, include_pending_string: bool = False) -> PartialJSON | None:
        """The value of a JSON text that may be cut short (see `PartialJSONParser`)."""
        return parse_partial(text, include_pending_string=include_pending_string)

    @staticmethod
    def partial_parser(
        *, include_pending_string: bool = False, growth: float = 0.05
    ) -> PartialJSONParser:
        """An incremental reader for JSON that streams in: `feed(delta)` as it arrives."""
        return PartialJSONParser(include_pending_string=include_pending_string, growth=growth)


__all__ = ["JSON"]
