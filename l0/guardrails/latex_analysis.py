"""Incremental LaTeX environment analysis: ``\\begin{x}`` / ``\\end{x}`` balance and order.

`LatexAnalysis` is fed pieces of text in order and looks at each line once, when the line is
complete (`finish()` handles a last line without a newline). It keeps a stack of open
environments. Problems become `issues` (`StructureIssue`):

- ``unexpected_end``: ``\\end{x}`` with no environment open;
- ``mismatched_end``: ``\\end{y}`` while ``x`` is the innermost open environment (if ``y`` is
  open further out, the environments inside it are taken as closed with it);
- ``unclosed_environment``: environments still open when the text ends (only at `finish`).

LLM output mixes LaTeX with Markdown, so Markdown code (fenced blocks and inline code spans
on one line) is skipped: writing "use `\\begin{itemize}`" is prose, not an open environment.
The body of verbatim-like environments (``verbatim``, ``lstlisting``, ``minted``, ``comment``)
is skipped up to its own ``\\end``. ``\\\\`` is a line break, so ``\\\\begin`` is not a
command. ``%`` comments are not interpreted (in LLM output ``%`` is usually a percent sign).
"""

from __future__ import annotations

import re

from l0.guardrails._lines import LineSplitter, StructureIssue

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+).*?(?<!`)\1(?!`)")
_COMMAND = re.compile(r"\\\\|\\(begin|end)[ \t]*\{([^{}\\\n]*)\}")
_VERBATIM = frozenset({"verbatim", "verbatim*", "Verbatim", "lstlisting", "minted", "comment"})


def _blank_code_spans(line: str) -> str:
    """The line with inline code spans replaced by spaces (so offsets stay the same)."""
    if "`" not in line:
        return line
    return _CODE_SPAN.sub(lambda span: " " * len(span[0]), line)


class LatexAnalysis:
    """Incremental view of a LaTeX text's environments (see the module docstring)."""

    __slots__ = ("_fence", "_lines", "_stack", "environments", "finished", "issues")

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._stack: list[tuple[str, int, int]] = []  # (name, position, line)
        self._fence: str | None = None  # the open Markdown fence, if any
        self.environments = 0  # environments closed properly
        self.issues: list[StructureIssue] = []
        self.finished = False

    @classmethod
    def analyze(cls, text: str) -> LatexAnalysis:
        """Analyze a complete text in one call."""
        analysis = cls()
        analysis.feed(text)
        analysis.finish()
        return analysis

    # -- queries ------------------------------------------------------------------------------

    @property
    def open_environments(self) -> list[str]:
        """Names of the open environments, outermost first."""
        return [name for name, _, _ in self._stack]

    @property
    def depth(self) -> int:
        return len(self._stack)

    @property
    def in_verbatim(self) -> bool:
        return bool(self._stack) and self._stack[-1][0] in _VERBATIM

    @property
    def is_balanced(self) -> bool:
        return not self._stack and not self.issues

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Analyze the next piece of text (complete lines are analyzed at once)."""
        for line, position, number in self._lines.feed(text):
            self._line(line, position, number)

    def finish(self) -> None:
        """The text is complete: analyze the last line and report what is left open."""
        if self.finished:
            return
        self.finished = True
        for line, position, number in self._lines.finish():
            self._line(line, position, number)
        if self._stack:
            names = ", ".join(name for name, _, _ in self._stack)
            _, position, number = self._stack[0]
            self._issue(
                "unclosed_environment",
                f"environment(s) never closed: {names} (first opened on line {number})",
                position,
                number,
            )

    def _line(self, line: str, position: int, number: int) -> None:
        fence = _FENCE.match(line)
        if fence is not None and not self.in_verbatim:
            if self._fence is None:
                self._fence = fence[1]
            elif fence[1][0] == self._fence[0] and len(fence[1]) >= len(self._fence):
                self._fence = None
            return
        if self._fence is not None or "\\" not in line:
            return
        for command in _COMMAND.finditer(_blank_code_spans(line)):
            kind, name = command[1], command[2]
            if kind is None:
                continue  # a "\\" line break
            name = name.strip()
            if self.in_verbatim and (kind == "begin" or name != self._stack[-1][0]):
                continue
            if kind == "begin":
                self._stack.append((name, position + command.start(), number))
            else:
                self._end(name, position + command.start(), number)

    def _end(self, name: str, position: int, number: int) -> None:
        stack = self._stack
        if stack and stack[-1][0] == name:
            stack.pop()
            self.environments += 1
            return
        if not stack:
            self._issue("unexpected_end", f"\\end{{{name}}} on line {number} closes nothing",
                        position, number)
            return
        innermost = stack[-1][0]
        self._issue(
            "mismatched_end",
            f"\\end{{{name}}} on line {number} while \\begin{{{innermost}}} "
            f"(line {stack[-1][2]}) is still open",
            position,
            number,
        )
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == name:
                del stack[index:]
                break

    def _issue(self, kind: str, message: str, position: int, line: int) -> None:
        self.issues.append(StructureIssue(kind, message, position, line))

    def __repr__(self) -> str:
        return (
            f"LatexAnalysis(open_environments={self.open_environments!r}, "
            f"environments={self.environments}, issues={len(self.issues)})"
        )


__all__ = ["LatexAnalysis"]
