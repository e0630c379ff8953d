"""What `pip install` gives a user: a wheel with the machine declarations, `py.typed`, the
licence and the project's metadata; an sdist from which the whole suite runs; and types that
reach a user's own code under `mypy --strict`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel and the sdist hatchling builds from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("l0-*.whl")
    (sdist,) = out.glob("l0-*.tar.gz")
    return wheel, sdist


def test_the_wheel_contains_the_package_and_the_machines(built: tuple[Path, Path]) -> None:
    """The built wheel has l0/, l0/machine/declarations/*.toml for every declaration, and py
    files."""
    names = set(zipfile.ZipFile(built[0]).namelist())
    folder = ROOT / "l0" / "machine" / "declarations"
    declared = {f"l0/machine/declarations/{p.name}" for p in folder.glob("*.toml")}
    assert declared and declared <= names
    assert "l0/__init__.py" in names
    assert "l0/runtime/core.py" in names


def test_the_wheel_is_typed_and_licensed(built: tuple[Path, Path]) -> None:
    """py.typed marks the package as typed (PEP 561); the Apache 2.0 text ships in full and
    the metadata names the licence and the project's addresses."""
    wheel = zipfile.ZipFile(built[0])
    names = set(wheel.namelist())
    assert "l0/py.typed" in names
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(licence).decode()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole text, not a pointer to it
    (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Documentation", "Source", "Issues"} <= set(urls)


def test_the_sdist_carries_what_the_suite_reads(built: tuple[Path, Path]) -> None:
    """docs/ (the docs runner), benchmarks/ (the quick benchmark test), tests/, the machines,
    the licence: every file the suite reads from the checkout is in the sdist."""
    with tarfile.open(built[1]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    tracked = subprocess.run(
        ["git", "ls-files", "docs", "benchmarks", "tests", "l0/machine/declarations", "diagrams"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if not tracked:  # not a git checkout (e.g. the suite runs from the sdist itself)
        tracked = [
            str(p.relative_to(ROOT))
            for folder in ("docs", "benchmarks", "l0/machine/declarations")
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    assert tracked
    assert set(tracked) <= names
    assert {"LICENSE", "README.md", "pyproject.toml", "Makefile"} <= names


_USER_SCRIPT = '''
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

import l0


class City(BaseModel):
    name: str
    population: int


async def biggest(stream: Callable[[], Any]) -> str:
    result = await l0.structured(schema=City, stream=stream)
    city: City = result.data
    reveal_type(result.data)
    return city.name
'''


def test_a_user_script_type_checks_against_the_installed_wheel(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """The wheel, installed into a clean virtualenv (no l0 but the wheel's), type-checks a
    user's script under `mypy --strict`, and `structured(...).data` is the user's model."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(built[0])],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies come from this interpreter's site-packages, added as a plain path:
    # its .pth files (among them this checkout's editable l0) are not processed from there,
    # and the venv's own site-packages, holding the wheel, comes first.
    Path(site, "shared-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    where = subprocess.run(
        [str(python), "-c", "import l0, pydantic; print(l0.__file__)"],
        cwd=tmp_path,
        env=clean,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv)

    (tmp_path / "user.py").write_text(_USER_SCRIPT)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--python-executable", str(python), "user.py"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'Revealed type is "user.City"' in checked.stdout
