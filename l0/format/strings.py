"""String utilities: trimming, truncating, wrapping, padding, escaping and cleaning text.

Escaping is a small reversible codec: `escape` turns a string into one printable line (the
backslash itself is escaped first, so `unescape(escape(s)) == s` for every `s`), and
`unescape` reads the same escapes back, leaving any sequence it does not know untouched.
HTML escaping, regex escaping and word wrapping are the standard library's (`html`, `re`,
`textwrap`): well-known behaviour beats a hand-rolled variant.
"""

from __future__ import annotations

import html
import re
import textwrap
from typing import Literal

from l0.format._options import invalid, require_int

Align = Literal["left", "right", "center"]

# -- basic operations ------------------------------------------------------------------------


def trim(text: str) -> str:
    """`text` without leading and trailing whitespace."""
    return text.strip()


def truncate(text: str, max_length: int, *, suffix: str = "...") -> str:
    """`text` cut to at most `max_length` characters, ending in `suffix` when cut.

    When even the suffix does not fit, the text is cut hard (no suffix): the result never
    exceeds `max_length`.
    """
    require_int("Format.truncate", "max_length", max_length)
    if len(text) <= max_length:
        return text
    if len(suffix) > max_length:
        return text[:max_length]
    return text[: max_length - len(suffix)] + suffix


def truncate_words(text: str, max_length: int, *, suffix: str = "...") -> str:
    """Like `truncate`, but cut at a word boundary (a single over-long word is cut hard)."""
    require_int("Format.truncate_words", "max_length", max_length)
    if len(text) <= max_length:
        return text
    if len(suffix) > max_length:
        return text[:max_length]
    budget = max_length - len(suffix)
    head = text[:budget]
    if not text[budget].isspace():
        # The cut falls inside a word: drop that partial word, unless it is the only one.
        cut = len(head)
        while cut > 0 and not head[cut - 1].isspace():
            cut -= 1
        if cut > 0:
            head = head[:cut]
    return head.rstrip() + suffix


def wrap(text: str, width: int = 80) -> str:
    """Word-wrap every line of `text` to `width` columns, keeping existing line breaks.

    Words are never split or hyphenated: a word longer than `width` gets a line of its own.
    """
    require_int("Format.wrap", "width", width, minimum=1)
    wrapper = textwrap.TextWrapper(width, break_long_words=False, break_on_hyphens=False)
    return "\n".join("\n".join(wrapper.wrap(line)) for line in text.split("\n"))


def pad(text: str, length: int, *, align: Align = "left", char: str = " ") -> str:
    """`text` padded with `char` to `length` characters (longer text is returned as is).

    `align="center"` puts the odd padding character on the right: "  hello   ".
    """
    require_int("Format.pad", "length", length)
    if len(char) != 1:
        raise invalid(f"Format.pad: char must be a single character, got {char!r}")
    missing = max(0, length - len(text))
    if align == "left":
        return text + char * missing
    if align == "right":
        return char * missing + text
    if align == "center":
        left = missing // 2
        return char * left + text + char * (missing - left)
    raise invalid(f"Format.pad: align must be 'left', 'right' or 'center', got {align!r}")


# -- escaping -----------------------------------------------------------------------------------

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
    "\0": "\\0",
}
# Other control characters (C0 and DEL) become \xHH so the result is printable.
_ESCAPE_RE = re.compile(r'[\\"\x00-\x1f\x7f]')
_UNESCAPES = {escaped[1]: raw for raw, escaped in _ESCAPES.items()} | {"'": "'"}
_UNESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[\\\"'nrtbfv0])")


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or f"\\x{ord(ch):02x}"


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "xu" and len(code) > 1:
        return chr(int(code[1:], 16))
    return _UNESCAPES[code]


def escape(text: str) -> str:
    """Backslash-escape `text`: backslash, double quote and control characters.

    `escape("Hello\\nWorld")` is the 12 characters `Hello\\nWorld`.
    """
    return _ESCAPE_RE.sub(_escape_one, text)


def unescape(text: str) -> str:
    """Undo `escape` (also reads `\\'` and `\\uXXXX`); unknown sequences stay as they are."""
    return _UNESCAPE_RE.sub(_unescape_one, text)


def escape_html(text: str) -> str:
    """Escape `&`, `<`, `>`, `"` and `'` as HTML entities."""
    return html.escape(text, quote=True)


def unescape_html(text: str) -> str:
    """Replace every HTML entity (named or numeric) with its character."""
    return html.unescape(text)


def escape_regex(text: str) -> str:
    """`text` with every regex metacharacter escaped, to match it literally."""
    return re.escape(text)


# -- cleaning -----------------------------------------------------------------------------------

# Control characters (Unicode category Cc: C0, DEL, C1) except tab, newline, carriage return.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# ANSI/VT escape sequences: CSI (ESC [ or 8-bit 0x9b), OSC (ESC ] ... BEL or ST), and the
# two-character escapes (ESC followed by one of @-Z \ - _).
_ANSI_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[@-Z\\-_]"
)


def sanitize(text: str) -> str:
    """Remove control characters, keeping tabs and line breaks."""
    return _CONTROL_RE.sub("", text)


def remove_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, cursor moves, terminal titles)."""
    return _ANSI_RE.sub("", text)


__all__ = [
    "Align",
    "escape",
    "escape_html",
    "escape_regex",
    "pad",
    "remove_ansi",
    "sanitize",
    "trim",
    "truncate",
    "truncate_words",
    "unescape",
    "unescape_html",
    "wrap",
]
