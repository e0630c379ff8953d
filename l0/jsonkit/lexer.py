"""Regular-expression pieces shared by the JSON extractor and the repairer.

Every scan in l0's JSON tools is a left-to-right walk over regex tokens, so that the C regex
engine (not a Python loop per character) crosses long strings and runs of text, and nothing
recurses: the cost is linear in the text and independent of nesting depth. The string
patterns use the "unrolled loop" form (`[^"\\]*(?:\\.[^"\\]*)*`), which cannot backtrack
catastrophically, and accept a string cut off by the end of the text (closing quote
missing, possibly in the middle of an escape).
"""

from __future__ import annotations

import re

# Bodies of double- and single-quoted strings, up to (not including) the closing quote. A
# trailing lone backslash is part of the body when the text ends there.
DQ_BODY = r'[^"\\]*(?:\\.[^"\\]*)*(?:\\\Z)?'
SQ_BODY = r"[^'\\]*(?:\\.[^'\\]*)*(?:\\\Z)?"
LINE_COMMENT = r"(?://|\#)[^\n]*"
BLOCK_COMMENT = r"/\*.*?(?:\*/|\Z)"

NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
# What a number can look like when the text was cut in the middle of it.
NUMBER_PREFIX = re.compile(r"-?(?:0|[1-9][0-9]*)?(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?\Z")
LITERALS = frozenset({"true", "false", "null"})
PYTHON_LITERALS = {"True": "true", "False": "false", "None": "null"}
_ALL_LITERALS = (*LITERALS, *PYTHON_LITERALS)


def is_cut_scalar(token: str) -> bool:
    """True when a bare token is the start of a number or literal the text cut short."""
    if NUMBER_PREFIX.match(token):
        return True
    return any(literal.startswith(token) for literal in _ALL_LITERALS)
