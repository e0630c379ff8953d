"""Context blocks: content wrapped in labelled delimiters for a prompt.

Content placed in a prompt is usually not ours (documents, search results, user input), so it
is escaped by default so it cannot end its block early and pose as instructions. Each
delimiter style has its own rule:

- ``xml``: ``<label>\\ncontent\\n</label>``; ``&``, ``<`` and ``>`` in the content become
  ``&amp;``, ``&lt;`` and ``&gt;`` (XML text rules), so the content holds no tag at all.
  `Format.unescape_html` gives the original back.
- ``markdown``: a ``## label`` heading, then the content in a backtick fence longer than any
  backtick run inside it (CommonMark: a shorter run cannot close the fence). The content
  itself is unchanged.
- ``brackets``: ``[label]\\ncontent\\n[/label]``; every ``[/`` in the content (also
  ``[ /``) becomes ``[\\/``, so no closing marker can appear in it.
- ``none``: the content as is. No containment: use it only for trusted text.

``escape=False`` trusts the content: no escaping and no fence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict

from l0.format._options import invalid, require_str

Delimiter = Literal["xml", "markdown", "brackets", "none"]
DELIMITERS: tuple[Delimiter, ...] = ("xml", "markdown", "brackets", "none")


class _ContextItemRequired(TypedDict):
    content: str


class ContextItem(_ContextItemRequired, total=False):
    """One block for `Format.contexts`: its content, and optionally label and delimiter."""

    label: str
    delimiter: Delimiter


_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_BACKTICK_RUN = re.compile(r"`+")
_BRACKET_CLOSE = re.compile(r"\[(\s*)/")
_LINE_BREAKS = re.compile(r"\s*[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]\s*")


def context(
    content: str,
    *,
    label: str = "context",
    delimiter: Delimiter = "xml",
    escape: bool = True,
) -> str:
    """`content` wrapped in delimiters named `label` (see the module doc for escaping)."""
    require_str("Format.context", "content", content)
    _check_label(label, delimiter)
    if delimiter == "xml":
        body = html.escape(content, quote=False) if escape else content
        return f"<{label}>\n{body}\n</{label}>"
    if delimiter == "markdown":
        if not escape:
            return f"## {label}\n\n{content}"
        longest = max((len(run) for run in _BACKTICK_RUN.findall(content)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"## {label}\n\n{fence}\n{content}\n{fence}"
    if delimiter == "brackets":
        body = _BRACKET_CLOSE.sub(r"[\1\\/", content) if escape else content
        return f"[{label}]\n{body}\n[/{label}]"
    return content


def contexts(
    items: Iterable[ContextItem | Mapping[str, Any]],
    *,
    delimiter: Delimiter = "xml",
    escape: bool = True,
    separator: str = "\n\n",
) -> str:
    """Several context blocks, one per item, joined by `separator`.

    An item's own ``delimiter`` overrides the one given here; its label defaults to
    ``"context"``.
    """
    blocks = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or "content" not in item:
            raise invalid(
                f"Format.contexts: item {index} must be a dict with a 'content' key, got {item!r}"
            )
        blocks.append(
            context(
                item["content"],
                label=item.get("label", "context"),
                delimiter=item.get("delimiter", delimiter),
                escape=escape,
            )
        )
    return separator.join(blocks)


def document(
    content: str,
    metadata: Mapping[str, object] | None = None,
    *,
    label: str = "document",
    delimiter: Delimiter = "xml",
    escape: bool = True,
) -> str:
    """A document block: one ``key: value`` line per metadata entry, a blank line, the content.

    Line breaks in metadata values become spaces, so a value cannot forge another entry.
    """
    require_str("Format.document", "content", content)
    if metadata:
        lines = [f"{key}: {_LINE_BREAKS.sub(' ', str(value))}" for key, value in metadata.items()]
        content = "\n".join(lines) + "\n\n" + content
    return context(content, label=label, delimiter=delimiter, escape=escape)


def instructions(
    text: str,
    *,
    label: str = "instructions",
    delimiter: Delimiter = "xml",
    escape: bool = True,
) -> str:
    """Instructions for the model in their own block (a context labelled ``instructions``)."""
    return context(text, label=label, delimiter=delimiter, escape=escape)


def _check_label(label: str, delimiter: str) -> None:
    if delimiter not in DELIMITERS:
        raise invalid(
            f"Format.context: delimiter must be one of {', '.join(DELIMITERS)}, got {delimiter!r}"
        )
    require_str("Format.context", "label", label)
    if delimiter == "xml" and not _XML_NAME.match(label):
        raise invalid(
            f"Format.context: {label!r} is not a valid XML tag name; use letters, digits, "
            "'_', '-' or '.', starting with a letter or '_' (e.g. 'user_manual')"
        )
    if delimiter in ("markdown", "brackets") and (not label.strip() or _LINE_BREAKS.search(label)):
        raise invalid(f"Format.context: label {label!r} must be a non-empty single line")
    if delimiter == "brackets" and ("[" in label or "]" in label):
        raise invalid(f"Format.context: a brackets label cannot contain '[' or ']': {label!r}")


__all__ = [
    "DELIMITERS",
    "ContextItem",
    "Delimiter",
    "context",
    "contexts",
    "document",
    "instructions",
]
