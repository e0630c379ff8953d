"""Progress of multi-run work: the same `on_progress(done, total)` callback and `progress` bar
option on Window.process_all, the l0.concurrency functions and operation pools, and each
display backend (rich, tqdm, plain text)."""

from __future__ import annotations

import io
from functools import partial
from typing import Any, ClassVar

import anyio
import pytest
from hypothesis import given, settings, strategies as st

import l0
from l0 import progress as progress_module
from l0.concurrency import Parallel, ParallelOptions, batched, parallel, sequential
from l0.pool import create_pool
from l0.progress import ProgressBar, Reporter, TextDisplay, check_progress, open_display
from l0.testing.scripted import Script, ScriptedFactory
from l0.window import Window

pytestmark = pytest.mark.anyio


class RecordingDisplay:
    """A display that remembers what it was shown (installed for the "text" backend)."""

    opened: ClassVar[list[RecordingDisplay]] = []

    def __init__(self, description: str, file: Any) -> None:
        self.description = description
        self.updates: list[tuple[int, int]] = []
        self.closed = False
        RecordingDisplay.opened.append(self)

    def update(self, done: int, total: int) -> None:
        assert not self.closed, "updated after close"
        self.updates.append((done, total))

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingDisplay]:
    """Displays opened for ProgressBar(backend="text") are recorded instead of drawn."""
    RecordingDisplay.opened = []
    monkeypatch.setitem(progress_module._DISPLAYS, "text", RecordingDisplay)
    return RecordingDisplay.opened


TEXT = ProgressBar(backend="text")


async def echo(value: int) -> int:
    await anyio.sleep(0)
    return value


async def fail_on_two(value: int) -> int:
    if value == 2:
        raise ValueError("two")
    return value


def counts(total: int) -> list[tuple[int, int]]:
    return [(done, total) for done in range(1, total + 1)]


# -- the callback ---------------------------------------------------------------------------


async def test_batched_reports_every_item_across_batches() -> None:
    """batched(on_progress=...) counts items, not batches, and the total is every item."""
    seen: list[tuple[int, int]] = []
    result = await batched(range(7), echo, 3, on_progress=lambda d, t: seen.append((d, t)))
    assert result == list(range(7))
    assert seen == counts(7)


async def test_parallel_and_sequential_report_failures_too() -> None:
    """parallel() and sequential() take on_progress; a failing task still counts as settled."""
    for run in (parallel, sequential):
        seen: list[tuple[int, int]] = []
        tasks = [partial(fail_on_two, i) for i in range(4)]
        with pytest.raises(ValueError, match="two"):
            await run(tasks, on_progress=lambda d, t: seen.append((d, t)))  # noqa: B023
        assert seen == counts(4), run.__name__


async def test_process_all_reports_each_chunk() -> None:
    """Window.process_all(on_progress=...) is called once per chunk, total = chunk count."""
    window = Window.create("one. two. three. four. five.", size=2, overlap=0, strategy="char")
    seen: list[tuple[int, int]] = []
    results = await window.process_all(
        lambda chunk: chunk.content.upper(), on_progress=lambda d, t: seen.append((d, t))
    )
    assert len(results) == window.total_chunks > 1
    assert seen == counts(window.total_chunks)


async def test_process_all_stops_on_a_failing_callback() -> None:
    """What on_progress raises ends process_all and is raised, as in Parallel.run."""
    window = Window.create("a b c d e f", size=2, overlap=0, strategy="char")

    def broken(done: int, total: int) -> None:
        raise RuntimeError("callback bug")

    with pytest.raises(RuntimeError, match="callback bug"):
        await window.process_all(lambda chunk: chunk.content, concurrency=1, on_progress=broken)


async def test_pool_reports_settled_over_submitted() -> None:
    """A pool's callback is (settled, submitted), as before the bar option existed."""
    seen: list[tuple[int, int]] = []
    async with create_pool(1, on_progress=lambda d, t: seen.append((d, t))) as pool:
        for i in range(3):
            await pool.submit(ScriptedFactory(Script.tokens(f"op{i}")))
    assert seen == counts(3)


@settings(max_examples=60)
@given(items=st.integers(0, 25), batch_size=st.integers(1, 8), concurrency=st.integers(1, 6))
def test_every_runner_counts_one_to_total_in_order(
    items: int, batch_size: int, concurrency: int
) -> None:
    """For any sizes, the callback sees (1, n) ... (n, n), once each, in order."""
    batch_seen: list[tuple[int, int]] = []
    run_seen: list[tuple[int, int]] = []

    async def go() -> None:
        await Parallel.batched(
            range(items), echo, batch_size, on_progress=lambda d, t: batch_seen.append((d, t))
        )
        options = ParallelOptions(
            concurrency=concurrency, on_progress=lambda d, t: run_seen.append((d, t))
        )
        await Parallel.run([partial(echo, i) for i in range(items)], options)

    anyio.run(go)
    assert batch_seen == counts(items)
    assert run_seen == counts(items)


# -- the bar option -------------------------------------------------------------------------


async def test_the_bar_follows_the_work_and_closes_at_the_end(
    recorded: list[RecordingDisplay],
) -> None:
    """progress= opens one bar per run: 0/total at once, each settled item, then closed."""
    await batched(range(5), echo, 2, progress=TEXT)
    await Parallel.run([lambda: echo(1)] * 3, ParallelOptions(progress=TEXT))
    window = Window.create("abcdefgh", size=4, overlap=0, strategy="char")
    await window.process_all(lambda chunk: chunk.content, progress=TEXT)
    assert [d.description for d in recorded] == ["items", "tasks", "chunks"]
    assert recorded[0].updates == [(0, 5), *counts(5)]
    assert recorded[1].updates == [(0, 3), *counts(3)]
    assert recorded[2].updates == [(0, 2), *counts(2)]
    assert all(display.closed for display in recorded)


async def test_the_bar_and_the_callback_both_hear_each_settlement(
    recorded: list[RecordingDisplay],
) -> None:
    """With both options, the callback gets the counts and the bar shows them."""
    seen: list[tuple[int, int]] = []
    await sequential(
        [lambda: echo(1)] * 2, on_progress=lambda d, t: seen.append((d, t)), progress=TEXT
    )
    assert seen == counts(2)
    assert recorded[0].updates == [(0, 2), *counts(2)]


async def test_the_bar_closes_when_the_callback_fails(recorded: list[RecordingDisplay]) -> None:
    """A raising callback stops the run; the bar has drawn that settlement and is closed."""

    def broken(done: int, total: int) -> None:
        raise RuntimeError("callback bug")

    with pytest.raises(RuntimeError, match="callback bug"):
        await batched(range(4), echo, 1, on_progress=broken, progress=TEXT)
    assert recorded[0].updates == [(0, 4), (1, 4)]
    assert recorded[0].closed


async def test_a_pool_bar_grows_with_submissions_and_closes_on_exit(
    recorded: list[RecordingDisplay],
) -> None:
    """A pool's bar shows settled/submitted from the first submission and closes on exit."""
    async with create_pool(1, progress=ProgressBar(description="jobs", backend="text")) as pool:
        operations = [await pool.submit(ScriptedFactory(Script.tokens("x"))) for _ in range(2)]
        for operation in operations:
            await operation.result()
        assert not recorded[0].closed
    display = recorded[0]
    assert display.description == "jobs"
    assert display.updates[0] == (0, 1)
    assert display.updates[-1] == (2, 2)
    assert (1, 2) in display.updates
    assert display.closed


async def test_one_progress_bar_setting_draws_a_bar_per_run(
    recorded: list[RecordingDisplay],
) -> None:
    """A ProgressBar is a setting: two runs given the same one draw two bars."""
    options = ParallelOptions(progress=TEXT)
    await Parallel.run([lambda: echo(1)], options)
    await Parallel.run([lambda: echo(2)] * 2, options)
    assert [d.updates[-1] for d in recorded] == [(1, 1), (2, 2)]


async def test_no_bar_without_the_option(recorded: list[RecordingDisplay]) -> None:
    """progress=False (the default) opens nothing."""
    await batched(range(3), echo, 2)
    await batched(range(3), echo, 2, progress=False)
    assert recorded == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ParallelOptions(progress="yes"), "progress must be True, False or"),  # type: ignore[arg-type]
        (lambda: ParallelOptions(on_progress=3), "on_progress must be callable"),  # type: ignore[arg-type]
        (lambda: l0.PoolOptions(progress=1), "progress must be True, False or"),  # type: ignore[arg-type]
        (lambda: ProgressBar(backend="curses"), "backend must be one of"),  # type: ignore[arg-type]
        (lambda: ProgressBar(description=5), "description must be a str"),  # type: ignore[arg-type]
        (lambda: ProgressBar(file="out.txt"), "file must be a writable"),  # type: ignore[arg-type]
    ],
)
def test_bad_options_are_refused(call: Any, message: str) -> None:
    with pytest.raises(l0.Error, match=message) as info:
        call()
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT


async def test_bad_options_are_refused_before_any_work() -> None:
    """process_all and batched check progress= before running anything."""
    started: list[int] = []

    async def handler(item: int) -> int:
        started.append(item)
        return item

    with pytest.raises(l0.Error, match="progress must be"):
        await batched([1], handler, progress="bar")  # type: ignore[arg-type]
    window = Window.create("abc", size=2, overlap=0, strategy="char")
    with pytest.raises(l0.Error, match=r"in process_all\(\)"):
        await window.process_all(lambda chunk: "x", progress=object())  # type: ignore[arg-type]
    assert started == []


# -- the backends ---------------------------------------------------------------------------


def test_auto_prefers_rich_then_tqdm_then_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """backend="auto" takes what is installed, in that order."""
    installed = {"rich", "tqdm"}
    monkeypatch.setattr(progress_module, "_installed", lambda name: name in installed)
    assert ProgressBar().resolved_backend() == "rich"
    installed.discard("rich")
    assert ProgressBar().resolved_backend() == "tqdm"
    installed.discard("tqdm")
    assert ProgressBar().resolved_backend() == "text"
    assert check_progress(None, True, where="test") == ProgressBar()


def test_asking_for_a_missing_backend_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "_installed", lambda name: False)
    with pytest.raises(l0.Error, match="pip install tqdm"):
        ProgressBar(backend="tqdm")


def test_rich_backend_draws_done_over_total() -> None:
    pytest.importorskip("rich")
    out = io.StringIO()
    display = open_display(ProgressBar(backend="rich", file=out), description="chunks")
    display.update(0, 4)
    display.update(3, 4)
    display.close()
    text = out.getvalue()
    assert "chunks" in text and "3/4" in text


def test_tqdm_backend_draws_done_over_a_growing_total() -> None:
    pytest.importorskip("tqdm")
    out = io.StringIO()
    display = open_display(ProgressBar(backend="tqdm", file=out), description="operations")
    display.update(0, 1)
    display.update(1, 2)
    display.update(2, 2)
    display.close()
    final = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("operations") and "2/2" in final and "100%" in final


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_backend_redraws_one_line_on_a_terminal() -> None:
    out = Terminal()
    display = TextDisplay("items", out)
    for done in range(3):
        display.update(done, 2)
    display.close()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert text.rstrip("\n").split("\r")[-1] == "items [########################] 2/2 (100%)"


def test_text_backend_writes_a_line_per_tenth_in_a_log() -> None:
    """Not a terminal: one line each time another tenth is done, and the last one."""
    out = io.StringIO()
    display = TextDisplay("items", out)
    for done in range(0, 101):
        display.update(done, 100)
    display.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0] == "items [------------------------] 0/100 (0%)"
    assert lines[-1].endswith("100/100 (100%)")


async def test_progress_true_draws_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=True with neither rich nor tqdm: the text line, on stderr."""
    monkeypatch.setattr(progress_module, "_installed", lambda name: False)
    await batched(range(3), echo, 3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == "items [########################] 3/3 (100%)"


def test_reporter_without_options_is_inactive() -> None:
    reporter = Reporter(None, None, description="x")
    assert not reporter.active
    reporter(1, 1)  # nothing to tell, nothing drawn
    reporter.close()
    reporter.close()
