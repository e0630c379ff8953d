"""The model a declared machine acts on.

`MachineModel` holds the current `phase`, the history of transitions and a count of every
edge taken, and notifies subscribers. The runtime core, the pipeline run and the breaker's
circuit are `MachineModel`s whose conditions and handlers do real work; `l0.machine.view`
holds the reference's standalone `StateMachine`. Only declared edges can be taken: anything
else raises `l0.Error(code=INVALID_TRANSITION)`.

Reads no clock: a trigger carries the Unix time of the change as `epoch=`; a model that is
fired without one (the standalone view, the pipeline) says where its time comes from by
overriding `wall_time`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from l0.callbacks import refuse_async
from l0.errors import Error, ErrorCode
from l0.machine.diagram import render_mermaid
from l0.machine.engine import build_machine
from l0.machine.spec import load_spec
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


def machine_error() -> type[Exception]:
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
    # Who is told of each state change: a tuple, replaced when one subscribes (few models
    # ever have any, so a model starts with the shared empty one rather than a list).
    _listeners: tuple[Listener, ...] = ()

    def __init__(self) -> None:
        self.phase: str
        self.phase, self._triggers = _machine(self.machine_name)
        # (source, trigger, dest, epoch seconds) per transition; history and visits derive
        # from it when asked, so a transition only appends one tuple.
        self._history: list[tuple[str, str, str, float]] = []

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
        except machine_error() as exc:
            raise self._illegal(trigger) from exc

    def _illegal(self, trigger: str) -> Error:
        return Error(
            f"Illegal transition: {trigger!r} from state {self.phase!r} is not declared "
            f"in l0/machine/declarations/{self.machine_name}.toml",
            code=ErrorCode.INVALID_TRANSITION,
        )

    def wall_time(self) -> float:
        """The Unix time of a transition fired without `epoch=`; models that fire that way
        override it (the base reads no clock, so a forgotten `epoch` is a bug, not a guess)."""
        raise Error(
            f"A {self.machine_name} machine trigger was fired without epoch= (the Unix time "
            "of the change)",
            code=ErrorCode.INTERNAL_ERROR,
        )

    def record_transition(self, event_data: EventData) -> None:
        """Called by the machine after every state change."""
        transition = event_data.transition
        assert transition is not None
        dest = transition.dest
        assert dest is not None  # l0's declarations have no internal (dest-less) edges
        now = event_data.kwargs.get("epoch")
        if now is None:
            now = self.wall_time()
        self._history.append((transition.source, event_data.event.name, dest, now))
        if self._listeners:
            state = self.states_by_name[dest]
            for listener in self._listeners:  # (a tuple: listeners may unsubscribe meanwhile)
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
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            listeners = list(self._listeners)
            if listener in listeners:
                listeners.remove(listener)
                self._listeners = tuple(listeners)

        return unsubscribe

    def diagram(self, *, full: bool = False) -> str:
        """The path this model took, as mermaid: the states and edges it visited, in the order
        first taken, each edge with its count. `full=True` draws the whole declared machine
        with that path marked on it."""
        return render_mermaid(
            self.machine_name, visits=self.visits, current=self.phase, path_only=not full
        )


__all__ = ["Listener", "MachineModel", "StateTransition", "machine_error"]
