"""`python -m l0`: a user's mistake gets one line on stderr and exit status 2, never a
traceback; `--version` says which l0 runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import l0
from l0.__main__ import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "l0", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_an_unknown_machine_prints_one_line_and_exits_2() -> None:
    """`python -m l0 diagram nosuch`, in a real subprocess: one line naming the known
    machines, status 2, nothing on stdout."""
    done = run_cli("diagram", "nosuch")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("python -m l0: error: No machine named 'nosuch'")
    assert "runtime" in done.stderr


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints `l0 <version>` and exits 0."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"l0 {l0.__version__}\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],  # no command
        ["nosuch-command"],
        ["diagram", "--nosuch-option"],
        ["replay"],  # RECORDING missing
        ["replay", "x.jsonl", "--bogus"],
    ],
    ids=lambda argv: " ".join(argv) or "no-args",
)
def test_usage_errors_are_one_line_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's own errors, at the top and in each subcommand, are one line too."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "error:" in err and "see --help" in err


def test_a_diagram_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`diagram --write` into a path under a regular file: the OSError becomes one line."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["diagram", "--write", str(blocker / "diagrams")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m l0: error: ")


def test_an_unknown_name_among_known_ones_prints_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`diagram runtime nosuch`: the error comes before any diagram is printed."""
    assert main(["diagram", "runtime", "nosuch"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "nosuch" in err
