"""`make bench`'s workload runs end to end in quick mode (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_workload_runs_and_reports(tmp_path: Path) -> None:
    """Every scenario runs, checks its own output, and lands in the JSON report; the
    vocabulary section of RESULTS.md is written once and replaced on the next run."""
    out = tmp_path / "report.json"
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nkept\n")
    for _ in range(2):
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "workload.py"),
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
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\nkept\n")
    assert text.count("## Per-token cost by kind of text") == 1
    report = json.loads(out.read_text())
    assert set(report["vocabularies"]) == {"bench", "english", "punctuated", "near_misses"}
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


def test_results_sections_survive_a_regenerated_file(tmp_path: Path) -> None:
    """`make bench-peer` rewrites RESULTS.md; the sections other benchmarks keep are carried
    over (compare.py appends `sections(old text)` to the new file)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from workload import sections, write_section
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n")
    write_section(str(results), "lean", "## Lean\n\nfirst")
    write_section(str(results), "vocabularies", "## Vocabularies")
    write_section(str(results), "lean", "## Lean\n\nsecond")
    kept = sections(results.read_text())
    assert [section.splitlines()[1] for section in kept] == ["## Lean", "## Vocabularies"]
    assert "second" in kept[0] and "first" not in kept[0]
