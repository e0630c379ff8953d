"""benchmarks/fleet.py runs (quick) against the session's servers and keeps RESULTS.md's
other sections when it writes its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_fleet_benchmark_measures_and_rewrites_only_its_section(
    redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nother sections\n", encoding="utf-8")
    for _ in range(2):  # the second run replaces the first one's section
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "fleet.py"), "--quick",
             "--redis-url", redis_url, "--postgres-url", postgres_url, "--write", str(results)],
            capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results\n\nother sections\n")
    assert text.count("## Fleet stores") == 1
    assert "shared health check on loopback Redis <= 1 ms per run" in text
    assert "| PostgreSQL (given URL) | SQLite (one file) |" in text
