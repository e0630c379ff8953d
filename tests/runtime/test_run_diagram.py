"""`result.diagram()`: by default the path the run took (the states and edges it visited, in
the order first taken, with counts); `full=True` the whole machine with that path marked.
The same for a `StructuredResult`, which also carries its run's `state`."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

import l0
from l0.machine.spec import load_spec
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

EDGE = re.compile(r"^  (\w+) --> (\w+): (.+?)(?: \(x(\d+)\))?$")
LABELS = {(e.source, e.dest, e.label): e.trigger for e in load_spec("runtime").edges}


def drawn_edges(diagram: str) -> list[tuple[str, str, str, int]]:
    """(source, trigger, dest, count) per edge line, in the order drawn (count 0: unmarked)."""
    edges = []
    for line in diagram.splitlines():
        match = EDGE.match(line)
        if match and match[2] != "[*]" and match[1] != "[*]":
            source, dest, label, count = match.groups()
            edges.append((source, LABELS[(source, dest, label)], dest, int(count or 0)))
    return edges


def first_taken(history: list[tuple[str, str, str]]) -> list[tuple[str, str, str, int]]:
    """The model: each edge once, in the order first taken, with how often it was taken."""
    order: dict[tuple[str, str, str], int] = {}
    for edge in history:
        order[edge] = order.get(edge, 0) + 1
    return [(*edge, count) for edge, count in order.items()]


RUNS = {
    "clean": lambda: (ScriptedFactory(Script.tokens("Hello")), []),
    "retried": lambda: (
        ScriptedFactory(Script.tokens("Hel", fail_at=2), Script.tokens("Hello")),
        [],
    ),
    "fallback": lambda: (
        ScriptedFactory(Script.tokens("x", fail_at=0, error=ValueError("bad model"))),
        [ScriptedFactory(Script.tokens("Hello"))],
    ),
}


@pytest.mark.parametrize("case", sorted(RUNS))
async def test_the_default_diagram_is_the_path_in_order(case: str) -> None:
    """Exactly the edges the run took, each once, in the order first taken, with counts; the
    unvisited parts of the machine are left out; the end state is highlighted."""
    primary, fallbacks = RUNS[case]()
    result = await l0.run(
        stream=primary, fallbacks=fallbacks, retry=l0.Retry(attempts=0, base_delay=0.01)
    )
    assert await result.read() == "Hello"
    core = result._core
    assert core is not None
    history = [(source, trigger, dest) for source, trigger, dest, _ in core._history]
    path = result.diagram()
    assert drawn_edges(path) == first_taken(history)
    visited = {state for edge in history for state in (edge[0], edge[2])}
    assert "class complete current" in path and "complete --> [*]" in path
    assert "error --> [*]" not in path  # a terminal state the run never reached
    for state in {s for e in load_spec("runtime").edges for s in (e.source, e.dest)} - visited:
        assert f" {state} " not in path and f" {state}\n" not in path


async def test_full_draws_every_declared_edge_with_the_path_marked() -> None:
    """`full=True`: every edge of the machine, in declaration order, the taken ones counted."""
    factory = ScriptedFactory(Script.tokens("Hel", fail_at=2), Script.tokens("Hello"))
    result = await l0.run(stream=factory, retry=l0.Retry(base_delay=0.01))
    await result.read()
    full = drawn_edges(result.diagram(full=True))
    declared = [(e.source, e.trigger, e.dest) for e in load_spec("runtime").edges]
    assert [edge[:3] for edge in full] == declared
    taken = {edge[:3]: edge[3] for edge in drawn_edges(result.diagram())}
    assert {edge[:3]: edge[3] for edge in full if edge[3]} == taken


class City(BaseModel):
    name: str


async def test_a_structured_result_has_its_runs_state_and_path() -> None:
    """`structured(...)` returns a result whose `state` is the run's and whose `diagram()`
    draws the run's path (here a refused first attempt, then a valid one)."""
    factory = ScriptedFactory(Script.tokens("not json"), Script.tokens('{"name": "Lisbon"}'))
    result = await l0.structured(schema=City, stream=factory, retry=l0.Retry(base_delay=0.01))
    assert result.data == City(name="Lisbon")
    assert result.state.completed and result.state.content == '{"name": "Lisbon"}'
    path = drawn_edges(result.diagram())
    assert ("finalizing", "fail", "retrying", 1) in path
    assert path[-1][:3] == ("finalizing", "finalized", "complete")
    assert len(drawn_edges(result.diagram(full=True))) == len(load_spec("runtime").edges)


async def test_a_structured_stream_result_has_a_diagram_too() -> None:
    previews = await l0.structured_stream(
        schema=City, stream=ScriptedFactory(Script.tokens('{"name": "Porto"}'))
    )
    async with previews:
        result = await previews.result()
    assert result.data.name == "Porto"
    assert drawn_edges(result.diagram())[0][:3] == ("init", "start", "waiting_for_token")
