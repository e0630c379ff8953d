"""Machine declarations (`machines/*.toml`) loaded into `transitions`, and drawn as mermaid.

A declaration is data: states, the initial state, terminal states, and transitions with
trigger, source(s), dest, optional `conditions` (predicate method names on the model) and
`after` (the handler method the edge invokes). Each machine is built once per process, with
`model=None`: runs keep their own small model objects and fire triggers on the shared graph
with `machine.events[trigger].trigger(model, ...)`, so a new run never rebuilds the graph.

The declarations sit at the top of the repository and ship inside the wheel as
`l0/machines/`; both places are looked up, the packaged one first.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from l0.errors import Error, ErrorCode

if TYPE_CHECKING:
    from pathlib import Path

    from transitions import Machine


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


def machines_dir() -> Path:
    """Where the declarations are: inside the installed package, else the source tree."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for candidate in (here / "machines", here.parent / "machines"):
        if candidate.is_dir():
            return candidate
    raise Error(
        "l0's machine declarations are missing (looked in l0/machines and ../machines); "
        "reinstall the package",
        code=ErrorCode.INTERNAL_ERROR,
    )


def machine_names() -> list[str]:
    return sorted(path.stem for path in machines_dir().glob("*.toml"))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@functools.cache
def load_spec(name: str) -> MachineSpec:
    """Read and check one declaration."""
    path = machines_dir() / f"{name}.toml"
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


@functools.cache
def _lean_machine_class() -> type[Machine]:
    """`transitions.Machine` with a leaner trigger path, through its documented extension
    points (`state_cls`, `transition_cls`, `event_cls`).

    A run fires a handful of triggers; at ~10 µs each in stock transitions (which logs every
    callback and state change and resolves each state several times per trigger) they were
    most of the cost of a short stream. The subclasses keep the semantics l0's declarations
    use — conditions, prepare/before/after callbacks, state enter/exit callbacks, string
    callbacks resolved on the model, invalid triggers raising `MachineError` — and refuse the
    machine options they do not implement (queued processing, exception and finalize hooks).
    """
    import itertools

    from transitions import Event, EventData, Machine, State, Transition
    from transitions.core import MachineError

    class LeanState(State):
        def enter(self, event_data: EventData) -> None:
            if self.on_enter:
                event_data.machine.callbacks(self.on_enter, event_data)

        def exit(self, event_data: EventData) -> None:
            if self.on_exit:
                event_data.machine.callbacks(self.on_exit, event_data)

    class LeanEventData(EventData):
        # transitions' EventData, with slots for its fields: one is made per trigger.
        __slots__ = ("args", "error", "event", "kwargs", "machine", "model", "result", "state",
                     "transition")

    class LeanTransition(Transition):
        def execute(self, event_data: EventData) -> bool:
            machine = event_data.machine
            model = event_data.model
            if self.prepare:
                machine.callbacks(self.prepare, event_data)
            for condition in self.conditions:
                if not condition.check(event_data):
                    return False
            # The machine-wide lists are read from their fields, not through transitions'
            # properties: a call each, on every trigger.
            if self.before or machine._before_state_change:
                machine.callbacks(
                    itertools.chain(machine._before_state_change, self.before), event_data
                )
            dest_name = self.dest
            if dest_name:
                source = event_data.state
                if source.on_exit:
                    source.exit(event_data)
                setattr(model, machine.model_attribute, dest_name)
                dest = event_data.state = machine.states[dest_name]
                if dest.on_enter:
                    dest.enter(event_data)
            for func in self.after:
                (getattr(model, func) if isinstance(func, str) else func)(event_data)
            for func in machine._after_state_change:
                (getattr(model, func) if isinstance(func, str) else func)(event_data)
            return True

    class LeanEvent(Event):
        def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
            return self.trigger_with(model, kwargs, args)

        def trigger_with(
            self, model: Any, kwargs: dict[str, Any], args: tuple[Any, ...] = ()
        ) -> bool:
            """`trigger`, taking the keyword arguments as a dict (no repacking per layer)."""
            machine = self.machine
            source = getattr(model, machine.model_attribute)
            candidates = self.transitions.get(source)
            if not candidates:
                raise MachineError(f"Can't trigger event {self.name} from state {source}!")
            event_data = LeanEventData(machine.states[source], self, machine, model, args, kwargs)
            if machine._prepare_event:
                machine.callbacks(machine._prepare_event, event_data)
            for transition in candidates:
                event_data.transition = transition
                if transition.execute(event_data):
                    event_data.result = True
                    return True
            return False

    class LeanMachine(Machine):
        state_cls = LeanState
        transition_cls = LeanTransition
        event_cls = LeanEvent

        def __init__(self, **kwargs: Any) -> None:
            unsupported = {"queued", "on_exception", "finalize_event"} & set(kwargs)
            if unsupported or kwargs.get("ignore_invalid_triggers") or not kwargs.get("send_event"):
                raise Error(
                    f"The lean machine does not implement {sorted(unsupported)}",
                    code=ErrorCode.INTERNAL_ERROR,
                )
            super().__init__(**kwargs)

        def callbacks(self, funcs: Iterable[Any], event_data: EventData) -> None:
            model = event_data.model
            for func in funcs:
                (getattr(model, func) if isinstance(func, str) else func)(event_data)

    return LeanMachine


@functools.cache
def build_machine(name: str) -> Machine:
    """The shared `transitions.Machine` for a declaration (built once per process)."""
    spec = load_spec(name)
    return _lean_machine_class()(
        model=None,
        states=list(spec.states),
        transitions=spec.transitions_config(),
        initial=spec.initial,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=True,
        model_attribute="phase",
        after_state_change="record_transition",
    )


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
        f"Generated from `machines/{name}.toml` by `make diagrams`; do not edit by hand.\n"
        "Edge labels read `trigger [conditions] / handler`.\n\n"
    )
    return header + "```mermaid\n" + render_mermaid(name) + "```\n"


__all__ = [
    "Edge",
    "MachineSpec",
    "build_machine",
    "diagram_markdown",
    "load_spec",
    "machine_names",
    "machines_dir",
    "render_mermaid",
]
