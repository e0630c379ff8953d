"""`pip install .` builds a real wheel that carries the machine declarations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_contains_the_package_and_the_machines(tmp_path: Path) -> None:
    """The built wheel has l0/, l0/machine/declarations/*.toml for every declaration, and
    py files."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("l0-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    folder = ROOT / "l0" / "machine" / "declarations"
    declared = {f"l0/machine/declarations/{p.name}" for p in folder.glob("*.toml")}
    assert declared and declared <= names
    assert "l0/__init__.py" in names
    assert "l0/runtime/core.py" in names
