"""Models for the declared machines, and the public `StateMachine` view.

`MachineModel` is what a machine acts on: it holds the current `phase`, the history of
transitions and a count of every edge taken, and notifies subscribers. The runtime core is a
`MachineModel` whose conditions and handlers do real work; `StateMachine` is the reference's
standalone view of the same runtime graph, whose model lets the caller choose where a
conditional edge goes. Either way, only declared edges can be taken: anything else raises
`l0.Error(code=INVALID_TRANSITION)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from l0.callbacks import refuse_async
from l0.errors import Error, ErrorCode
from l0.machines import build_machine, load_spec, render_mermaid
from l0.types import RuntimeState

if TYPE_CHECKING:
    from transitions import EventData


# machine name -> (its initial state, its triggers), looked up once per model
_MACHINES: dict[str, tuple[str, dict[str, Any]]] = {}


def _machine(machine_name: str) -> tuple[str, dict[str, Any]]:
    found = _MACHINES.get(machine_name)
    if found is None:
        initial = load_spec(machine_name).initial
        found = _MACHINES[machine_name] = (initial, build_machine(machine_name).events)
    return found


def _machine_error() -> type[Exception]:
    from transitions.core import MachineError

    return MachineError


@dataclass(frozen=True, slots=True)
class StateTransition:
    from_state: RuntimeState
    to_state: RuntimeState
    timestamp: float  # Unix epoch seconds


Listener = Callable[[RuntimeState], object]

_RUNTIME_STATES = {state.value: state for state in RuntimeState}


class MachineModel:
    """A model of one declared machine (see the module docstring)."""

    machine_name: ClassVar[str] = "runtime"
    # State name -> what the history records for it; other machines map to their own enum.
    states_by_name: ClassVar[Mapping[str, Any]] = _RUNTIME_STATES

    def __init__(self) -> None:
        self.phase: str
        self.phase, self._triggers = _machine(self.machine_name)
        # (source, trigger, dest, epoch seconds) per transition; history and visits derive
        # from it when asked, so a transition only appends one tuple.
        self._history: list[tuple[str, str, str, float]] = []
        self._listeners: list[Listener] = []

    def fire(self, trigger: str, **kwargs: Any) -> None:
        """Take the declared edge `trigger` from the current phase, or raise."""
        self.fire_with(trigger, kwargs)

    def fire_with(self, trigger: str, kwargs: dict[str, Any]) -> None:
        """`fire`, with the keyword arguments the handlers see passed as one dict."""
        event = self._triggers.get(trigger)
        if event is None:
            raise Error(
                f"The {self.machine_name} machine has no trigger {trigger!r}",
                code=ErrorCode.INVALID_TRANSITION,
            )
        try:
            event.trigger_with(self, kwargs)
        except _machine_error() as exc:
            raise Error(
                f"Illegal transition: {trigger!r} from state {self.phase!r} is not declared "
                f"in machines/{self.machine_name}.toml",
                code=ErrorCode.INVALID_TRANSITION,
            ) from exc

    def record_transition(self, event_data: EventData) -> None:
        """Called by the machine after every state change."""
        transition = event_data.transition
        assert transition is not None
        dest = transition.dest
        assert dest is not None  # l0's declarations have no internal (dest-less) edges
        now = event_data.kwargs.get("epoch")
        self._history.append(
            (transition.source, event_data.event.name, dest, time.time() if now is None else now)
        )
        if self._listeners:
            state = self.states_by_name[dest]
            for listener in tuple(self._listeners):
                listener(state)

    @property
    def history(self) -> list[StateTransition]:
        """Every transition so far, oldest first (built on demand: runs rarely ask)."""
        by_name = self.states_by_name
        return [
            StateTransition(by_name[source], by_name[dest], stamp)
            for source, _trigger, dest, stamp in self._history
        ]

    @property
    def visits(self) -> dict[tuple[str, str, str], int]:
        """How often each edge (source, trigger, dest) was taken."""
        counts: dict[tuple[str, str, str], int] = {}
        for source, trigger, dest, _stamp in self._history:
            edge = (source, trigger, dest)
            counts[edge] = counts.get(edge, 0) + 1
        return counts

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        refuse_async(listener, "a state machine listener", "It is called at each transition.")
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def diagram(self) -> str:
        """The machine as mermaid, with the path this model took marked."""
        return render_mermaid(self.machine_name, visits=self.visits, current=self.phase)


class _ManualModel(MachineModel):
    """The standalone view's model: the caller names the destination, so a conditional
    edge holds exactly when it leads there; handlers only note that they ran."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: str | None = None
        self.handlers_invoked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        spec = load_spec(self.machine_name)
        if name in spec.conditions:
            return lambda event_data: event_data.transition.dest == self.requested
        if name in spec.handlers:
            return lambda event_data: self.handlers_invoked.append(name)
        raise AttributeError(name)


class StateMachine:
    """The runtime machine as the reference shows it: transition, inspect, subscribe."""

    def __init__(self, model: MachineModel | None = None) -> None:
        self._model = model if model is not None else _ManualModel()
        self._read_only = model is not None

    @classmethod
    def create(cls) -> StateMachine:
        return cls()

    def transition(self, next_state: RuntimeState | str) -> None:
        """Move to `next_state` along the declared edge that leads there from here."""
        if self._read_only:
            raise Error(
                "This state machine belongs to a running stream and moves with it; "
                "create a StateMachine() to drive one by hand",
                code=ErrorCode.INVALID_TRANSITION,
            )
        target = RuntimeState(next_state).value
        model = self._model
        assert isinstance(model, _ManualModel)
        edges = load_spec(model.machine_name).edges_between(model.phase, target)
        if not edges:
            raise Error(
                f"Illegal transition: no declared edge from {model.phase!r} to {target!r}",
                code=ErrorCode.INVALID_TRANSITION,
            )
        model.requested = target
        try:
            model.fire(edges[0].trigger)
        finally:
            model.requested = None

    def get(self) -> RuntimeState:
        return RuntimeState(self._model.phase)

    def is_(self, *states: RuntimeState | str) -> bool:
        return self._model.phase in {RuntimeState(s).value for s in states}

    is_state = is_

    def is_terminal(self) -> bool:
        return self._model.phase in load_spec(self._model.machine_name).terminal

    def reset(self) -> None:
        """Back to the initial state, with an empty history."""
        if self._read_only:
            raise Error(
                "This state machine belongs to a stream and cannot be reset",
                code=ErrorCode.INVALID_TRANSITION,
            )
        self._model.phase = load_spec(self._model.machine_name).initial
        self._model._history.clear()

    def get_history(self) -> list[StateTransition]:
        return list(self._model.history)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._model.subscribe(listener)

    def diagram(self) -> str:
        return self._model.diagram()

    def __repr__(self) -> str:
        return f"StateMachine(state={self._model.phase!r}, transitions={len(self._model._history)})"


def create_state_machine() -> StateMachine:
    return StateMachine()


__all__ = [
    "MachineModel",
    "StateMachine",
    "StateTransition",
    "create_state_machine",
]
