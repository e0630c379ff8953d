"""`make bench`'s workload runs end to end in quick mode (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_workload_runs_and_reports(tmp_path: Path) -> None:
    """Every scenario runs, checks its own output, and lands in the JSON report."""
    out = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "workload.py"), "--quick", "--json", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    report = json.loads(out.read_text())
    assert report["machine"]["library"] == "l0"
    (size,) = report["throughput"]
    assert set(report["throughput"][size]) >= {"raw", "core_read", "everything"}
    assert report["setup_latency"]["median_us"] > 0
    assert report["concurrent"]["tokens_per_second"] > 0
    assert report["import"]["provider_packages_loaded"] is False


def test_the_lean_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """benchmarks/lean.py streams through the real SDK from a server process, checks every
    run's text, and reports CPU per chunk and sustained streams for each path."""
    out = tmp_path / "lean.json"
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "lean.py"),
            "--quick",
            "--json",
            str(out),
            "--write-results",
            str(results),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    report = json.loads(out.read_text())
    assert set(report["cpu"]) == {
        "bare SDK",
        "l0 SDK path, everything",
        "l0 lean path, everything",
        "l0 lean path, core",
    }
    assert all(row["cpu_us_per_chunk"] > 0 for row in report["cpu"].values())
    assert all(row["streams"] > 0 for row in report["sustained"].values())
    text = results.read_text()
    assert text.startswith("# Benchmark results") and "## The lean stream path" in text
