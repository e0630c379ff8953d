"""The reference's standalone `StateMachine`: the runtime graph, driven by hand.

`create_state_machine()` gives a machine whose model lets the caller choose where a
conditional edge goes: `transition(next_state)` takes the declared edge from the current
state to `next_state`, or raises `l0.Error(code=INVALID_TRANSITION)`. A running stream's
`state_machine` is the same view over the run's own model, read-only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from l0.errors import Error, ErrorCode
from l0.machine.models import Listener, MachineModel, StateTransition
from l0.machine.spec import load_spec
from l0.types import RuntimeState


class _ManualModel(MachineModel):
    """The standalone view's model: the caller names the destination, so a conditional
    edge holds exactly when it leads there; handlers only note that they ran."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: str | None = None
        self.handlers_invoked: list[str] = []

    def wall_time(self) -> float:
        return time.time()

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

    def diagram(self, *, full: bool = False) -> str:
        return self._model.diagram(full=full)

    def __repr__(self) -> str:
        return f"StateMachine(state={self._model.phase!r}, transitions={len(self._model._history)})"


def create_state_machine() -> StateMachine:
    return StateMachine()


__all__ = ["StateMachine", "StateTransition", "create_state_machine"]
