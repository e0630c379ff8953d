"""Text normalization: whitespace, line endings, Unicode forms, quotes, case.

`Text.normalize` runs fixed steps in an order chosen so the result is a fixed point
(``normalize(normalize(s)) == normalize(s)``, checked by a property test):

1. remove invisible characters (zero-width space, word joiner, BOM). Zero-width (non-)joiners
   are kept: they change how emoji and some scripts render.
2. line endings: ``\\r\\n``, ``\\r``, NEL, LS and PS become ``\\n``.
3. Unicode normalization (NFC by default; NFKC also folds compatibility characters such as
   full-width letters and ligatures).
4. case folding (``str.casefold``), followed by the Unicode form again, since folding can
   leave text that is no longer normalized.
5. typographic quotes to ASCII ``'`` and ``"``.
6. whitespace (`WhitespaceOptions`): collapse runs of spaces and tabs, trim lines, limit blank
   lines, trim the text. Line-based options see lines separated by ``\\n``.

De-duplication and comparison normalize both sides with the same options before matching.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from l0.errors import Error, ErrorCode

UnicodeForm = Literal["NFC", "NFD", "NFKC", "NFKD"]
UNICODE_FORMS: tuple[UnicodeForm, ...] = ("NFC", "NFD", "NFKC", "NFKD")


@dataclass(frozen=True, slots=True)
class WhitespaceOptions:
    collapse_spaces: bool = True  # a run of spaces/tabs (not line breaks) becomes one space
    newlines_to_spaces: bool = False  # every line break becomes a space (one-line text)
    trim_lines: bool = False  # strip spaces/tabs at both ends of every line
    max_blank_lines: int | None = None  # longest run of blank lines kept; None keeps all
    trim: bool = True  # strip whitespace at both ends of the text

    def __post_init__(self) -> None:
        blank = self.max_blank_lines
        if blank is not None and (
            isinstance(blank, bool) or not isinstance(blank, int) or blank < 0
        ):
            raise Error(
                f"WhitespaceOptions.max_blank_lines must be None or an int >= 0, got {blank!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    unicode: UnicodeForm | None = "NFC"  # None leaves code points as they are
    line_endings: bool = True
    remove_invisible: bool = True
    casefold: bool = False
    quotes: bool = False
    whitespace: WhitespaceOptions | None = field(default_factory=WhitespaceOptions)

    def __post_init__(self) -> None:
        if self.unicode is not None and self.unicode not in UNICODE_FORMS:
            raise Error(
                f"NormalizeOptions.unicode must be one of {', '.join(UNICODE_FORMS)} or None, "
                f"got {self.unicode!r}",
                code=ErrorCode.INVALID_ARGUMENT,
            )


_DEFAULT = NormalizeOptions()
_DEFAULT_WHITESPACE = WhitespaceOptions()

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))
_LINE_BREAK = re.compile(r"\r\n|[\r\x85\u2028\u2029]")
_ANY_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
_HSPACE = r"[^\S\n\r\x85\u2028\u2029]"  # whitespace that does not break a line
_HSPACE_RUN = re.compile(_HSPACE + "+")
_LINE_EDGES = re.compile(rf"^{_HSPACE}+|{_HSPACE}+$", re.MULTILINE)
_QUOTES = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\uff07", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\uff02\u301d\u301e", '"'),
    }
)


def normalize(text: str, options: NormalizeOptions | None = None) -> str:
    """`text` normalized as `options` says (default: NFC, ``\\n`` line endings, no
    invisible characters, collapsed spaces, trimmed)."""
    o = _DEFAULT if options is None else options
    if o.remove_invisible:
        text = remove_invisible(text)
    if o.line_endings:
        text = normalize_line_endings(text)
    if o.unicode is not None:
        text = unicodedata.normalize(o.unicode, text)
    if o.casefold:
        text = text.casefold()
        if o.unicode is not None:
            text = unicodedata.normalize(o.unicode, text)
    if o.quotes:
        text = normalize_quotes(text)
    if o.whitespace is not None:
        text = normalize_whitespace(text, o.whitespace)
    return text


def normalize_whitespace(text: str, options: WhitespaceOptions | None = None) -> str:
    """`text` with whitespace tidied as `options` says (default: collapse spaces, trim)."""
    o = _DEFAULT_WHITESPACE if options is None else options
    if o.newlines_to_spaces:
        text = _ANY_LINE_BREAK.sub(" ", text)
    if o.collapse_spaces:
        text = _HSPACE_RUN.sub(" ", text)
    if o.trim_lines:
        text = _LINE_EDGES.sub("", text)
    if o.max_blank_lines is not None:
        keep = o.max_blank_lines + 1  # line breaks in a row
        text = re.sub(rf"\n(?:{_HSPACE}*\n){{{keep},}}", "\n" * keep, text)
    if o.trim:
        text = text.strip()
    return text


def normalize_line_endings(text: str, newline: str = "\n") -> str:
    """Every line break (``\\r\\n``, ``\\r``, ``\\n``, NEL, LS, PS) as `newline`."""
    if newline == "\n":
        return _LINE_BREAK.sub("\n", text)
    return _ANY_LINE_BREAK.sub(newline, text)


def normalize_unicode(text: str, form: UnicodeForm = "NFC") -> str:
    """`text` in Unicode normalization `form`."""
    if form not in UNICODE_FORMS:
        raise Error(
            f"Text.normalize_unicode: form must be one of {', '.join(UNICODE_FORMS)}, got {form!r}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    return unicodedata.normalize(form, text)


def normalize_quotes(text: str) -> str:
    """Typographic quotes and primes (‘ ’ “ ” „ « » ′ ″ ...) as ASCII ``'`` and ``"``."""
    return text.translate(_QUOTES)


def remove_invisible(text: str) -> str:
    """`text` without zero-width spaces, word joiners and byte-order marks."""
    return text.translate(_INVISIBLE)


class Text:
    """Text normalization helpers (see the `l0.text` module doc for the steps)."""

    normalize = staticmethod(normalize)
    normalize_whitespace = staticmethod(normalize_whitespace)
    normalize_line_endings = staticmethod(normalize_line_endings)
    normalize_unicode = staticmethod(normalize_unicode)
    normalize_quotes = staticmethod(normalize_quotes)
    remove_invisible = staticmethod(remove_invisible)


__all__ = [
    "UNICODE_FORMS",
    "NormalizeOptions",
    "Text",
    "UnicodeForm",
    "WhitespaceOptions",
    "normalize",
    "normalize_line_endings",
    "normalize_quotes",
    "normalize_unicode",
    "normalize_whitespace",
    "remove_invisible",
]
