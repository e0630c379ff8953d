"""Machine declarations: `l0/machine/declarations/*.toml`, read and checked.

A declaration is data: states, the initial state, terminal states, and transitions with
trigger, source(s), dest, optional `conditions` (predicate method names on the model) and
`after` (the handler method the edge invokes). `load_spec(name)` reads one into a
`MachineSpec` once per process; `l0.machine.engine` builds the `transitions` machine from it
and `l0.machine.diagram` draws it. The files ship inside the package, so an installed wheel
and a source checkout find them in the same place.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from l0.errors import Error, ErrorCode

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class Edge:
    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...] = ()
    after: str | None = None

    @property
    def label(self) -> str:
        text = self.trigger
        if self.conditions:
            text += " [" + ", ".join(self.conditions) + "]"
        if self.after:
            text += " / " + self.after
        return text


@dataclass(frozen=True, slots=True)
class MachineSpec:
    name: str
    initial: str
    states: tuple[str, ...]
    terminal: tuple[str, ...]
    edges: tuple[Edge, ...]
    description: str = ""

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(edge.trigger for edge in self.edges))

    @property
    def handlers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(edge.after for edge in self.edges if edge.after))

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for edge in self.edges for c in edge.conditions))

    def edges_between(self, source: str, dest: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.source == source and e.dest == dest)

    def transitions_config(self) -> list[dict[str, Any]]:
        """The edges in the form `transitions.Machine(transitions=...)` takes."""
        config = []
        for edge in self.edges:
            entry: dict[str, Any] = {
                "trigger": edge.trigger,
                "source": edge.source,
                "dest": edge.dest,
            }
            if edge.conditions:
                entry["conditions"] = list(edge.conditions)
            if edge.after:
                entry["after"] = edge.after
            config.append(entry)
        return config


def declarations_dir() -> Path:
    """Where the declarations are: `declarations/` beside this module."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "declarations"
    if not folder.is_dir():
        raise Error(
            f"l0's machine declarations are missing (looked in {folder}); reinstall the package",
            code=ErrorCode.INTERNAL_ERROR,
        )
    return folder


def machine_names() -> list[str]:
    return sorted(path.stem for path in declarations_dir().glob("*.toml"))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@functools.cache
def load_spec(name: str) -> MachineSpec:
    """Read and check one declaration."""
    path = declarations_dir() / f"{name}.toml"
    if not path.is_file():
        raise Error(
            f"No machine named {name!r}; known machines: {', '.join(machine_names())}",
            code=ErrorCode.INVALID_ARGUMENT,
        )
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    states = tuple(raw["states"])
    edges = []
    for entry in raw.get("transitions", []):
        for source in _as_list(entry["source"]):
            edges.append(
                Edge(
                    trigger=entry["trigger"],
                    source=source,
                    dest=entry["dest"],
                    conditions=tuple(_as_list(entry.get("conditions", []))),
                    after=entry.get("after"),
                )
            )
    spec = MachineSpec(
        name=raw.get("name", name),
        initial=raw["initial"],
        states=states,
        terminal=tuple(raw.get("terminal", ())),
        edges=tuple(edges),
        description=raw.get("description", ""),
    )
    unknown = {s for e in spec.edges for s in (e.source, e.dest)} | {spec.initial}
    unknown |= set(spec.terminal)
    unknown -= set(states)
    if unknown:
        raise Error(
            f"Machine {name!r} names undeclared states: {sorted(unknown)}",
            code=ErrorCode.INTERNAL_ERROR,
        )
    return spec


__all__ = [
    "Edge",
    "MachineSpec",
    "declarations_dir",
    "load_spec",
    "machine_names",
]
