"""Run the workload for this package and for the peer library, alternately, and compare.

    python benchmarks/compare.py --ours PYTHON --peer PYTHON [--rounds N] [--write RESULTS.md]

Each round runs `workload.py` once with each interpreter (ours first, then the peer), so
both see the same machine conditions; every number is the median over the rounds. The report
prints both tables, the ratios (peer time / our time), and whether each target holds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workload import SCENARIOS, sections, table  # noqa: E402


def run_workload(python: str, reps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.json"
        subprocess.run(
            # abspath, not resolve(): a venv's python is a symlink that must stay one
            [
                os.path.abspath(python),
                str(HERE / "workload.py"),
                "--reps",
                str(reps),
                "--json",
                str(out),
            ],
            check=True,
            cwd=folder,  # never this repository: the peer must import its own `l0`
        )
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def median_report(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each number over several runs of the workload."""

    def merge(values: list[Any]) -> Any:
        first = values[0]
        if isinstance(first, dict):
            return {key: merge([v[key] for v in values]) for key in first}
        if isinstance(first, bool) or not isinstance(first, (int, float)):
            return first
        return statistics.median(values)

    return merge(reports)


def bounds(ours: dict[str, Any], peer: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each bound of the performance issue."""
    t = ours["throughput"]
    small, large = sorted(t, key=int)
    rows = []
    for size in (small, large):
        core = t[size]["core_read"] / t[size]["raw"]
        rows.append((f"core <= 4x raw ({size} tokens)", f"{core:.2f}x", core <= 4))
        every = t[size]["everything"] / t[size]["raw"]
        rows.append((f"everything <= 15x raw ({size} tokens)", f"{every:.2f}x", every <= 15))
        added = t[size]["timeouts"] / t[size]["core_read"] - 1
        rows.append(
            (f"timeouts add <= 10% over core ({size} tokens)", f"{added * 100:+.1f}%", added <= 0.1)
        )
    scale = int(large) / int(small)
    for name in ("core_read", "everything"):
        flat = t[large][name] / t[small][name] / scale
        rows.append(
            (f"{name}: per-token cost {small}->{large} <= 1.2x", f"{flat:.2f}x", flat <= 1.2)
        )
    ours_latency = ours["setup_latency"]["median_us"]
    peer_latency = peer["setup_latency"]["median_us"]
    rows.append(
        (
            "setup latency <= peer's (median)",
            f"{ours_latency:.0f} us vs {peer_latency:.0f} us",
            ours_latency <= peer_latency,
        )
    )
    speedup = ours["concurrent"]["tokens_per_second"] / peer["concurrent"]["tokens_per_second"]
    rows.append(("200x200 concurrent throughput >= 5x peer", f"{speedup:.1f}x", speedup >= 5))
    import_ms = ours["import"]["ms"]
    rows.append(("import l0 <= 150 ms", f"{import_ms:.1f} ms", import_ms <= 150))
    return rows


def ratios(ours: dict[str, Any], peer: dict[str, Any]) -> str:
    lines = ["peer time / our time (higher is better for l0)"]
    for size in ours["throughput"]:
        ours_t, peer_t = ours["throughput"][size], peer["throughput"][size]
        cells = [f"{name} {peer_t[name] / ours_t[name]:.1f}x" for name in SCENARIOS[1:]]
        lines.append(f"  {size} tokens: " + ", ".join(cells))
    lines.append(
        "  setup latency: "
        f"{peer['setup_latency']['median_us'] / ours['setup_latency']['median_us']:.1f}x median, "
        f"{peer['setup_latency']['p99_us'] / ours['setup_latency']['p99_us']:.1f}x p99"
    )
    lines.append(
        "  concurrent throughput: "
        f"{ours['concurrent']['tokens_per_second'] / peer['concurrent']['tokens_per_second']:.1f}x"
    )
    lines.append(f"  peak RSS: {peer['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x")
    lines.append(f"  import: {peer['import']['ms'] / max(ours['import']['ms'], 0.1):.2f}x")
    cold_ours, cold_peer = ours["import"]["cold_start_ms"], peer["import"]["cold_start_ms"]
    lines.append(f"  cold start (import + first run): {cold_peer / max(cold_ours, 0.1):.2f}x")
    return "\n".join(lines)


def results_markdown(ours: dict[str, Any], peer: dict[str, Any], rounds: int) -> str:
    machine = ours["machine"]
    rows = bounds(ours, peer)
    out = [
        "# Benchmark results",
        "",
        "Generated by `make bench-peer` (benchmarks/compare.py); do not edit by hand.",
        "",
        f"- date: {machine['date']}",
        f"- machine: {machine['platform']}, {machine['cpus']} CPUs",
        f"- Python: {machine['python']}",
        f"- l0 {machine['version']} against ai2070-l0 {peer['machine']['version']}, "
        f"{rounds} alternating rounds, medians",
        "",
        "Reproduce with `make bench` (this package alone) or `make bench-peer` (both, and this",
        "file). Zero-delay mock streams of prose-like tokens of about four characters; every",
        "run's output is checked.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in rows),
        "",
        "## This package",
        "",
        "```",
        table(ours),
        "```",
        "",
        "## The peer (ai2070-l0)",
        "",
        "```",
        table(peer),
        "```",
        "",
        "## Ratios",
        "",
        "```",
        ratios(ours, peer),
        "```",
        "",
    ]
    return "\n".join(out)


# recovery.py and fleet.py write their sections between markers of their own.
_MARKERS = (
    ("<!-- recovery:start -->", "<!-- recovery:end -->"),
    ("<!-- fleet benchmark: start", "<!-- fleet benchmark: end -->"),
)


def marked_sections(text: str) -> list[str]:
    """The sections recovery.py and fleet.py keep in RESULTS.md, as they stand."""
    found = []
    for start, end in _MARKERS:
        first = text.find(start)
        last = text.find(end, first)
        if first >= 0 and last >= 0:
            found.append(text[first : last + len(end)])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", default=sys.executable, help="python with this package")
    parser.add_argument("--peer", required=True, help="python with ai2070-l0 installed")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--write", help="write the markdown report here")
    args = parser.parse_args()
    ours_runs, peer_runs = [], []
    for round_index in range(args.rounds):
        print(f"round {round_index + 1}/{args.rounds}: l0", file=sys.stderr)
        ours_runs.append(run_workload(args.ours, args.reps))
        print(f"round {round_index + 1}/{args.rounds}: ai2070-l0", file=sys.stderr)
        peer_runs.append(run_workload(args.peer, args.reps))
    ours, peer = median_report(ours_runs), median_report(peer_runs)
    print(table(ours))
    print()
    print(table(peer))
    print()
    print(ratios(ours, peer))
    print()
    for name, value, met in bounds(ours, peer):
        print(f"{'met    ' if met else 'NOT MET'}  {name}: {value}")
    if args.write:
        path = Path(args.write)
        previous = path.read_text(encoding="utf-8") if path.exists() else ""
        # Sections other benchmarks keep up to date on their own stay in the file.
        kept = [*sections(previous), *marked_sections(previous)]
        text = "\n\n".join([results_markdown(ours, peer, args.rounds).rstrip("\n"), *kept])
        path.write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {args.write} ({platform.python_version()})")


if __name__ == "__main__":
    main()
