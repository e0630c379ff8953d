"""Machines drawn as mermaid `stateDiagram-v2`, from their declarations.

`diagram_markdown(name)` is the committed page in `diagrams/` (`python -m l0 diagram --write
diagrams`; a test fails when a page is stale). `render_mermaid` also marks the path one run
took (states visited, edge counts, where it ended), for `Stream.state_machine.diagram()` and
replays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from l0.machine.spec import load_spec


def render_mermaid(
    name: str,
    *,
    visits: Mapping[tuple[str, str, str], int] | None = None,
    current: str | None = None,
    title: str | None = None,
    path_only: bool = False,
) -> str:
    """A mermaid `stateDiagram-v2` of the machine. With `visits` ((source, trigger, dest) ->
    count), the states a run went through are shaded, the edges it took carry their count,
    and `current` (where the run ended) is highlighted. `path_only` draws only what the run
    visited: its edges in the order first taken (the order of `visits`), and the way out of
    a terminal state it reached."""
    spec = load_spec(name)
    lines = [
        "---",
        f"title: {title or spec.name}",
        "---",
        "stateDiagram-v2",
        "  direction LR",
        f"  [*] --> {spec.initial}",
    ]
    edges = spec.edges
    terminal = spec.terminal
    if path_only and visits is not None:
        by_key = {(e.source, e.trigger, e.dest): e for e in spec.edges}
        edges = tuple(by_key[key] for key in visits if key in by_key)
        reached = _visited_states(spec.initial, visits)
        terminal = tuple(state for state in spec.terminal if state in reached)
    for edge in edges:
        label = edge.label
        count = visits.get((edge.source, edge.trigger, edge.dest), 0) if visits else 0
        if count:
            label += f" (x{count})"
        lines.append(f"  {edge.source} --> {edge.dest}: {label}")
    lines.extend(f"  {state} --> [*]" for state in terminal)
    if visits is not None:
        visited = _visited_states(spec.initial, visits)
        lines.append("  classDef visited fill:#dcefdc,stroke:#2e7d32")
        lines.append("  classDef current fill:#2e7d32,color:#ffffff,stroke:#1b5e20")
        shaded = [s for s in spec.states if s in visited and s != current]
        if shaded:
            lines.append(f"  class {','.join(shaded)} visited")
        if current:
            lines.append(f"  class {current} current")
    return "\n".join(lines) + "\n"


def _visited_states(initial: str, visits: Iterable[tuple[str, str, str]]) -> set[str]:
    states = {initial}
    for source, _trigger, dest in visits:
        states.update((source, dest))
    return states


def diagram_markdown(name: str) -> str:
    """The committed form of a machine's diagram: a markdown page with a mermaid block."""
    spec = load_spec(name)
    header = f"# The `{spec.name}` machine\n\n"
    if spec.description:
        header += spec.description + "\n\n"
    header += (
        f"Generated from `l0/machine/declarations/{name}.toml` by `make diagrams`; "
        "do not edit by hand.\n"
        "Edge labels read `trigger [conditions] / handler`.\n\n"
    )
    return header + "```mermaid\n" + render_mermaid(name) + "```\n"


__all__ = ["diagram_markdown", "render_mermaid"]
