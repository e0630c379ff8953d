"""The engine: a declaration built into a `transitions` machine, once per process.

Each machine is built with `model=None`: runs keep their own small model objects
(`l0.machine.models`) and fire triggers on the shared graph with
`machine.events[trigger].trigger(model, ...)`, so a new run never rebuilds the graph.

The machine is stock `transitions.Machine` with a leaner trigger path plugged in through its
documented extension points (`state_cls`, `transition_cls`, `event_cls`). The lean classes
read some of transitions' private fields (`Machine._before_state_change`, ...), so the
`transitions` versions they work with are pinned in pyproject.toml, and
tests/machine/test_lean_engine.py runs random trigger sequences through the lean machine and
a stock one built with the same `machine_options` and requires the same states, callbacks and
errors.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from l0.errors import Error, ErrorCode
from l0.machine.spec import MachineSpec, load_spec

if TYPE_CHECKING:
    from transitions import Machine


def machine_options(spec: MachineSpec) -> dict[str, Any]:
    """The `transitions.Machine(...)` keyword arguments for a declaration: only declared
    edges exist, an illegal trigger raises, callbacks get one `EventData`, the state lives
    in the model's `phase`, and every state change calls the model's `record_transition`."""
    return {
        "model": None,
        "states": list(spec.states),
        "transitions": spec.transitions_config(),
        "initial": spec.initial,
        "auto_transitions": False,
        "ignore_invalid_triggers": False,
        "send_event": True,
        "model_attribute": "phase",
        "after_state_change": "record_transition",
    }


@functools.cache
def lean_machine_class() -> type[Machine]:
    """`transitions.Machine` with a leaner trigger path, through its documented extension
    points (`state_cls`, `transition_cls`, `event_cls`).

    A run fires a handful of triggers; at ~10 µs each in stock transitions (which logs every
    callback and state change and resolves each state several times per trigger) they were
    most of the cost of a short stream. The subclasses keep the semantics l0's declarations
    use — conditions, prepare/before/after callbacks, state enter/exit callbacks, string
    callbacks resolved on the model, invalid triggers raising `MachineError` — and refuse the
    machine options they do not implement (queued processing, exception and finalize hooks, a
    state kept in another attribute than `phase`).
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

    new_event_data = object.__new__  # (LeanEvent fills the fields in: no __init__ call)

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
            """`trigger`, taking the keyword arguments as a dict (no repacking per layer).

            `LeanTransition.execute` is written out here for the edge taken: a run fires a
            few triggers, and one call less each is a measurable part of a short stream."""
            machine = self.machine
            source = model.phase  # (the lean machine keeps the state in `phase`)
            candidates = self.transitions.get(source)
            if not candidates:
                raise MachineError(f"Can't trigger event {self.name} from state {source}!")
            states = machine.states
            source_state = states[source]
            event_data = new_event_data(LeanEventData)
            event_data.state = source_state
            event_data.event = self
            event_data.machine = machine
            event_data.model = model
            event_data.args = args
            event_data.kwargs = kwargs
            event_data.transition = None
            event_data.error = None
            event_data.result = False
            if machine._prepare_event:
                machine.callbacks(machine._prepare_event, event_data)
            for transition in candidates:
                event_data.transition = transition
                if transition.prepare:
                    machine.callbacks(transition.prepare, event_data)
                if transition.conditions and not all(
                    condition.check(event_data) for condition in transition.conditions
                ):
                    continue
                if transition.before or machine._before_state_change:
                    machine.callbacks(
                        itertools.chain(machine._before_state_change, transition.before),
                        event_data,
                    )
                dest_name = transition.dest
                if dest_name:
                    if source_state.on_exit:
                        source_state.exit(event_data)
                    model.phase = dest_name
                    dest = event_data.state = states[dest_name]
                    if dest.on_enter:
                        dest.enter(event_data)
                for func in transition.after:
                    (getattr(model, func) if isinstance(func, str) else func)(event_data)
                for func in machine._after_state_change:
                    (getattr(model, func) if isinstance(func, str) else func)(event_data)
                event_data.result = True
                return True
            return False

    class LeanMachine(Machine):
        state_cls = LeanState
        transition_cls = LeanTransition
        event_cls = LeanEvent

        def __init__(self, **kwargs: Any) -> None:
            unsupported = {"queued", "on_exception", "finalize_event", "on_final"} & set(kwargs)
            if (
                unsupported
                or kwargs.get("ignore_invalid_triggers")
                or not kwargs.get("send_event")
                or kwargs.get("model_attribute") != "phase"
            ):
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
    return lean_machine_class()(**machine_options(load_spec(name)))


__all__ = ["build_machine", "lean_machine_class", "machine_options"]
