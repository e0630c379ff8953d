"""Progress of long multi-run work: a callback, and a bar when asked for.

`Window.process_all`, the `l0.concurrency` functions (`parallel`, `sequential`, `batched`
and the `Parallel` methods) and operation pools take the same two options:

- `on_progress(done, total)`: called each time a task, chunk or operation settles
  (succeeded or failed). For a pool, `total` is the number submitted so far.
- `progress`: `True` for a bar on stderr, or a `ProgressBar` to choose its description,
  backend and file. The bar uses `rich` if it is installed, else `tqdm`, else a plain text
  line; neither library is a dependency, and each is imported only when a bar opens.

`Reporter` joins the two into the one callback the runners call, and owns the bar's
lifetime: it opens at the first report and closes when the work ends. The bar is updated
before the user's callback runs, so a callback that raises (which stops the work) still
leaves the bar showing what had settled.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TextIO, TypeAlias

from l0.callbacks import refuse_async
from l0.errors import Error, ErrorCode

ProgressCallback = Callable[[int, int], object]
"""Called with (done, total) each time a unit of work settles."""

Backend = Literal["auto", "rich", "tqdm", "text"]
_BACKENDS = ("auto", "rich", "tqdm", "text")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@dataclass(frozen=True, slots=True)
class ProgressBar:
    """How to show a progress bar (`progress=ProgressBar(...)`; `progress=True` is the default).

    - `description`: the label before the bar (default: what is counted, e.g. "chunks").
    - `backend`: "auto" (rich if installed, else tqdm, else text), "rich", "tqdm" or "text".
    - `file`: where the bar is drawn (default: `sys.stderr` when the bar opens).

    It is a plain setting: one `ProgressBar` can be given to any number of runs, each draws
    its own bar.
    """

    description: str | None = None
    backend: Backend = "auto"
    file: TextIO | None = None

    def __post_init__(self) -> None:
        if self.description is not None and not isinstance(self.description, str):
            raise _invalid(f"ProgressBar.description must be a str, got {self.description!r}")
        if self.backend not in _BACKENDS:
            raise _invalid(
                f"ProgressBar.backend must be one of {', '.join(_BACKENDS)}, got {self.backend!r}"
            )
        if self.backend in ("rich", "tqdm") and not _installed(self.backend):
            raise _invalid(
                f"ProgressBar(backend={self.backend!r}) needs {self.backend}, which is not "
                f"installed: `pip install {self.backend}`, or use backend='auto'"
            )
        if self.file is not None and not callable(getattr(self.file, "write", None)):
            raise _invalid(f"ProgressBar.file must be a writable text file, got {self.file!r}")

    def resolved_backend(self) -> Literal["rich", "tqdm", "text"]:
        """The backend "auto" stands for on this machine."""
        if self.backend != "auto":
            return self.backend
        if _installed("rich"):
            return "rich"
        return "tqdm" if _installed("tqdm") else "text"


ProgressOption: TypeAlias = "bool | ProgressBar | None"


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def check_progress(on_progress: object, progress: object, *, where: str) -> ProgressBar | None:
    """Check the two options (`where` names their owner in the error); returns the bar's
    settings, or None when no bar was asked for."""
    if on_progress is not None and not callable(on_progress):
        raise _invalid(
            f"on_progress must be callable as on_progress(done, total) (in {where}), "
            f"got {type(on_progress).__name__}"
        )
    refuse_async(on_progress, "on_progress", "It is called as each task settles.")
    if progress is None or progress is False:
        return None
    if progress is True:
        return ProgressBar()
    if isinstance(progress, ProgressBar):
        return progress
    raise _invalid(
        f"progress must be True, False or an l0.progress.ProgressBar (in {where}), "
        f"got {type(progress).__name__}"
    )


# -- the displays ---------------------------------------------------------------------------


class Display(Protocol):
    def update(self, done: int, total: int) -> None: ...
    def close(self) -> None: ...


class RichDisplay:
    """A `rich.progress` bar: description, bar, done/total, elapsed time."""

    def __init__(self, description: str, file: TextIO | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=file) if file is not None else Console(stderr=True)
        # No stdout/stderr redirection: swapping the process's streams under concurrent
        # tasks would surprise them.
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._bar.add_task(description, total=None)
        self._bar.start()

    def update(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._bar.stop()


class TqdmDisplay:
    """A `tqdm` bar whose total may grow (a pool's total is what was submitted so far)."""

    def __init__(self, description: str, file: TextIO | None) -> None:
        # Looked up rather than imported: tqdm ships no type stubs.
        self._tqdm: Any = importlib.import_module("tqdm").tqdm
        self._description = description
        self._file = file
        self._bar: Any = None  # made at the first update, which knows the total

    def update(self, done: int, total: int) -> None:
        bar = self._bar
        if bar is None:
            file = self._file or sys.stderr
            bar = self._bar = self._tqdm(total=total, desc=self._description, file=file)
        elif bar.total != total:
            bar.total = total
            bar.refresh()
        if done > bar.n:
            bar.update(done - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class TextDisplay:
    """A plain line: redrawn in place on a terminal; elsewhere (a log), one line per tenth
    of the work, so a long run does not flood the file."""

    WIDTH = 24

    def __init__(self, description: str, file: TextIO | None) -> None:
        self._file = file or sys.stderr
        self._description = description
        self._in_place = bool(getattr(self._file, "isatty", lambda: False)())
        self._drawn = 0  # length of the line on screen (in place)
        self._tenth = -1  # last tenth written (not in place)

    def line(self, done: int, total: int) -> str:
        share = done / total if total else 0.0
        filled = round(share * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return f"{self._description} [{bar}] {done}/{total} ({share:.0%})"

    def update(self, done: int, total: int) -> None:
        text = self.line(done, total)
        if self._in_place:
            self._file.write("\r" + text.ljust(self._drawn))
            self._drawn = len(text)
        else:
            tenth = done * 10 // total if total else 0
            if tenth == self._tenth and done != total:
                return
            self._tenth = tenth
            self._file.write(text + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._in_place and self._drawn:
            self._file.write("\n")
            self._file.flush()


_DISPLAYS: dict[str, Callable[[str, TextIO | None], Display]] = {
    "rich": RichDisplay,
    "tqdm": TqdmDisplay,
    "text": TextDisplay,
}


def open_display(bar: ProgressBar, *, description: str) -> Display:
    """A new display for `bar`'s settings (`description` unless it names its own)."""
    factory = _DISPLAYS[bar.resolved_backend()]
    return factory(bar.description or description, bar.file)


# -- the callback the runners call ----------------------------------------------------------


class Reporter:
    """`on_progress` and the bar as one callback (`report(done, total)`).

    `show(done, total)` draws the bar without calling `on_progress` (a pool shows what was
    submitted before anything settled). The bar opens at the first report; `close()` closes
    it and is safe to call twice.
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None,
        bar: ProgressBar | None,
        *,
        description: str,
    ) -> None:
        self.on_progress = on_progress
        self.bar = bar
        self.description = description
        self._display: Display | None = None
        self._closed = False

    @property
    def active(self) -> bool:
        """Whether anyone is told about progress at all."""
        return self.on_progress is not None or self.bar is not None

    def show(self, done: int, total: int) -> None:
        if self.bar is None or self._closed:
            return
        if self._display is None:
            self._display = open_display(self.bar, description=self.description)
        self._display.update(done, total)

    def __call__(self, done: int, total: int) -> None:
        self.show(done, total)
        if self.on_progress is not None:
            self.on_progress(done, total)

    def close(self) -> None:
        self._closed = True
        display, self._display = self._display, None
        if display is not None:
            display.close()


@contextmanager
def reporting(
    on_progress: ProgressCallback | None,
    bar: ProgressBar | None,
    *,
    description: str,
    total: int,
) -> Iterator[ProgressCallback | None]:
    """The callback for work of `total` units (None when nobody listens): the bar shows
    0/total at once and closes when the block ends, however it ends."""
    reporter = Reporter(on_progress, bar, description=description)
    if not reporter.active:
        yield None
        return
    try:
        reporter.show(0, total)
        yield reporter
    finally:
        reporter.close()


__all__ = [
    "Backend",
    "Display",
    "ProgressBar",
    "ProgressCallback",
    "ProgressOption",
    "Reporter",
    "check_progress",
    "open_display",
    "reporting",
]
