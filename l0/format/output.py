"""Output instructions for the model, and cleanup of what it sends back.

The instruction builders return plain sentences to append to a prompt. `clean_output` strips
the chatter models put around a payload: a leading "Sure! Here's the JSON:" phrase (only up
to the first colon, and never past a bracket or quote, so the payload is left intact), a
closing "Let me know if..." line, and a fence around the whole answer. `extract_json` finds
the first complete JSON object or array, preferring a fenced block; the standard library's
`json.JSONDecoder.raw_decode` decides where it ends, so strings holding braces are handled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from l0.format._options import invalid, merge_options, require_int, require_str

if TYPE_CHECKING:
    from typing_extensions import Unpack

StructuredFormat = Literal["json", "yaml", "xml", "csv", "markdown"]
_FORMAT_NAMES: dict[str, str] = {
    "json": "JSON",
    "yaml": "YAML",
    "xml": "XML",
    "csv": "CSV",
    "markdown": "Markdown",
}


class OutputFormatOptions(TypedDict, total=False):
    strict: bool  # nothing but the payload: no prose, no code fences
    schema: str | Mapping[str, Any]  # a dict is shown as indented JSON
    example: Any  # a non-str example is shown as indented JSON


class OutputConstraints(TypedDict, total=False):
    max_length: int  # characters
    min_length: int  # characters
    max_words: int
    format: str  # "bullet_points", "numbered_list", "paragraph", "plain_text", ...
    tone: str
    language: str


_FORMAT_OPTIONS = frozenset(OutputFormatOptions.__optional_keys__)
_CONSTRAINTS = frozenset(OutputConstraints.__optional_keys__)
_LAYOUTS = {
    "bullet_points": "Format the response as bullet points.",
    "numbered_list": "Format the response as a numbered list.",
    "paragraph": "Write the response as a single paragraph.",
    "plain_text": "Write plain text, without Markdown formatting.",
    "markdown": "Format the response as Markdown.",
    "json": "Format the response as JSON.",
    "table": "Format the response as a table.",
}


def json_output(
    options: OutputFormatOptions | None = None, /, **overrides: Unpack[OutputFormatOptions]
) -> str:
    """An instruction to answer in JSON (`strict`, `schema`, `example` as in the options)."""
    return structured_output("json", options, **overrides)


def structured_output(
    format: StructuredFormat,
    options: OutputFormatOptions | None = None,
    /,
    **overrides: Unpack[OutputFormatOptions],
) -> str:
    """An instruction to answer in `format` (json, yaml, xml, csv or markdown)."""
    opts = merge_options("Format.structured_output", _FORMAT_OPTIONS, options, overrides)
    name = _FORMAT_NAMES.get(format)
    if name is None:
        raise invalid(
            f"Format.structured_output: format must be one of {', '.join(_FORMAT_NAMES)}, "
            f"got {format!r}"
        )
    if not opts.get("strict", False):
        text = f"Respond with valid {name}."
    else:
        text = f"Respond with valid {name} only: no explanations and no text before or after it."
        if format != "markdown":
            text += " Do not wrap it in code fences."
    if "schema" in opts:
        text += f"\n\nThe {name} must match this schema:\n{_shown(opts['schema'])}"
    if "example" in opts:
        text += f"\n\nExample:\n{_shown(opts['example'])}"
    return text


def output_constraints(
    constraints: OutputConstraints | None = None, /, **overrides: Unpack[OutputConstraints]
) -> str:
    """A bullet list of constraints on the answer ("" when there are none)."""
    where = "Format.output_constraints"
    opts = merge_options(where, _CONSTRAINTS, constraints, overrides)
    lines = []
    if "max_length" in opts:
        limit = require_int(where, "max_length", opts["max_length"], minimum=1)
        lines.append(f"Keep the response under {limit} characters.")
    if "min_length" in opts:
        lines.append(
            f"Write at least {require_int(where, 'min_length', opts['min_length'])} characters."
        )
    if "max_words" in opts:
        limit = require_int(where, "max_words", opts["max_words"], minimum=1)
        lines.append(f"Use at most {limit} words.")
    if "format" in opts:
        layout = require_str(where, "format", opts["format"])
        lines.append(_LAYOUTS.get(layout, f"Format the response as {layout.replace('_', ' ')}."))
    if "tone" in opts:
        lines.append(f"Use a {require_str(where, 'tone', opts['tone'])} tone.")
    if "language" in opts:
        lines.append(f"Respond in {require_str(where, 'language', opts['language'])}.")
    if not lines:
        return ""
    return "Output constraints:\n" + "\n".join(f"- {line}" for line in lines)


# -- reading the answer -------------------------------------------------------------------------

_INTERJECTION = r"(?:sure|certainly|of course|absolutely|okay|ok|alright|great)"
# A lead-in phrase ending in a colon, which never crosses a bracket, quote or line break.
_PREAMBLE = re.compile(
    rf"^(?:{_INTERJECTION}|here(?:'s| is| are)|below is)\b[^\n:{{}}\[\]\"`<]{{0,200}}:\s*"
    rf"|^{_INTERJECTION}[!.,]*[ \t]*\n\s*",
    re.IGNORECASE,
)
_OUTRO = re.compile(
    r"(?:\A|\n)[ \t]*(?:let me know|i hope|hope this|feel free|is there anything)[^\n]*\s*\Z",
    re.IGNORECASE,
)
_WHOLE_FENCE = re.compile(r"\A```[\w+.-]*[ \t]*\n(.*?)\n?```\Z", re.DOTALL)
_FENCES = re.compile(r"```[\w+.-]*[ \t]*\n(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


def clean_output(text: str) -> str:
    """`text` without lead-in chatter, closing pleasantries and a fence around it all."""
    text = _OUTRO.sub("", _PREAMBLE.sub("", text.strip(), count=1)).strip()
    fenced = _WHOLE_FENCE.match(text)
    return fenced.group(1).strip() if fenced else text


def extract_json(text: str) -> str | None:
    """The first complete JSON object or array in `text`, as written there; None if none."""
    for fence in _FENCES.finditer(text):
        inner = fence.group(1).strip()
        if inner[:1] in ("{", "[") and _decodes_whole(inner):
            return inner
    start = _next_opening(text, 0)
    while start != -1:
        try:
            _, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            start = _next_opening(text, start + 1)
            continue
        return text[start:end]
    return None


def validate_json(text: str) -> tuple[bool, str | None]:
    """`(True, None)` when `text` is valid JSON, else `(False, what is wrong and where)`."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return False, str(exc)
    except RecursionError:
        return False, "JSON nested too deeply to parse"
    return True, None


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, default=str)


def _decodes_whole(text: str) -> bool:
    try:
        _, end = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        return False
    return end == len(text)


def _next_opening(text: str, start: int) -> int:
    brace, bracket = text.find("{", start), text.find("[", start)
    if brace == -1 or bracket == -1:
        return max(brace, bracket)
    return min(brace, bracket)


__all__ = [
    "OutputConstraints",
    "OutputFormatOptions",
    "StructuredFormat",
    "clean_output",
    "extract_json",
    "json_output",
    "output_constraints",
    "structured_output",
    "validate_json",
]
