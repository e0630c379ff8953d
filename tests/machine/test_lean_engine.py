"""The lean trigger path (`l0.machine.engine`) behaves like stock `transitions`.

Random trigger sequences run through two machines built from the same declaration with the
same `machine_options`: l0's lean machine and a stock `transitions.Machine`. Each model
answers its conditions from the same script of booleans and logs every callback (which
callback, on which edge, in which state, with which arguments); a drawn callback call may
raise. Both must end every trigger in the same state with the same return value or the same
error, and leave the same log. The extra callbacks (`prepare`/`before` on the edges,
machine-wide `prepare_event`/`before_state_change`, state `on_enter`/`on_exit`) are not used
by l0's declarations today but are paths the lean classes implement, so they are drawn too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from transitions import Machine

from l0.machine.engine import lean_machine_class, machine_options
from l0.machine.spec import MachineSpec, load_spec, machine_names

_EXTRA_CALLBACKS = ("prepare_edge", "before_edge", "before_change", "prepare_event")
_STATE_CALLBACKS = ("entered", "exited")


class Boom(Exception):
    """What a callback raises when the script says so."""


class ScriptedModel:
    """A model whose conditions answer from a script and whose callbacks all log."""

    def __init__(self, spec: MachineSpec, answers: list[bool], raise_at: int | None) -> None:
        self.phase = spec.initial
        self.log: list[tuple[Any, ...]] = []
        self._answers: Iterator[bool] = iter(answers)
        self._raise_at = raise_at
        self._conditions = frozenset(spec.conditions)
        self._callbacks = frozenset(
            (*spec.handlers, "record_transition", *_EXTRA_CALLBACKS, *_STATE_CALLBACKS)
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._conditions | self._callbacks:
            raise AttributeError(name)
        if name in self._conditions:
            return lambda event_data: self._note("condition", name, event_data, answer=True)
        return lambda event_data: self._note("callback", name, event_data, answer=False)

    def _note(self, kind: str, name: str, event_data: Any, *, answer: bool) -> bool | None:
        transition = event_data.transition
        self.log.append(
            (
                kind,
                name,
                event_data.event.name,
                event_data.state.name,
                (transition.source, transition.dest) if transition is not None else None,
                self.phase,
                tuple(sorted(event_data.kwargs.items())),
            )
        )
        if self._raise_at is not None and len(self.log) == self._raise_at:
            raise Boom(f"{kind} {name} raised at call {len(self.log)}")
        return next(self._answers, False) if answer else None


def _options(spec: MachineSpec, extras: bool) -> dict[str, Any]:
    options = machine_options(spec)
    if extras:
        options["states"] = [
            {"name": state, "on_enter": "entered", "on_exit": "exited"} for state in spec.states
        ]
        options["transitions"] = [
            {**edge, "prepare": "prepare_edge", "before": "before_edge"}
            for edge in options["transitions"]
        ]
        options["before_state_change"] = "before_change"
        options["prepare_event"] = "prepare_event"
    return options


Outcome = tuple[str, Any]


def _fire(machine: Machine, model: ScriptedModel, trigger: str, epoch: int) -> Outcome:
    try:
        return ("returned", machine.events[trigger].trigger(model, epoch=epoch))
    except Exception as exc:  # compared, not swallowed: the other machine must raise the same
        return ("raised", (type(exc).__name__, str(exc)))


def run_both(
    spec: MachineSpec,
    lean_class: type[Machine],
    *,
    extras: bool,
    triggers: list[str],
    answers: list[bool],
    raise_at: int | None,
) -> list[str]:
    """Fire `triggers` on a lean and a stock machine; the differences found, as text."""
    lean = lean_class(**_options(spec, extras))
    stock = Machine(**_options(spec, extras))
    lean_model = ScriptedModel(spec, answers, raise_at)
    stock_model = ScriptedModel(spec, answers, raise_at)
    differences = []
    for step, trigger in enumerate(triggers):
        got = _fire(lean, lean_model, trigger, step)
        expected = _fire(stock, stock_model, trigger, step)
        if got != expected or lean_model.phase != stock_model.phase:
            differences.append(
                f"step {step} {trigger!r}: lean {got} in {lean_model.phase!r}, "
                f"stock {expected} in {stock_model.phase!r}"
            )
    if lean_model.log != stock_model.log:
        differences.append(f"callback logs differ:\n{lean_model.log}\n{stock_model.log}")
    return differences


@st.composite
def scripts(draw: st.DrawFn, spec: MachineSpec) -> dict[str, Any]:
    return {
        "extras": draw(st.booleans()),
        "triggers": draw(st.lists(st.sampled_from(spec.triggers), max_size=40)),
        "answers": draw(st.lists(st.booleans(), max_size=120)),
        "raise_at": draw(st.none() | st.integers(min_value=1, max_value=200)),
    }


@pytest.mark.parametrize("name", machine_names())
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_lean_and_stock_machines_agree_on_random_trigger_sequences(
    name: str, data: st.DataObject
) -> None:
    """Same states, return values, errors (illegal triggers, raising callbacks) and callback
    calls in the same order, for random triggers and condition outcomes."""
    spec = load_spec(name)
    script = data.draw(scripts(spec))
    assert run_both(spec, lean_machine_class(), **script) == []


def test_the_comparison_catches_a_lean_path_that_drifts() -> None:
    """A lean machine that skips one machine-wide callback is told apart from stock, and the
    unchanged one is not, on the same script (the comparison above can fail)."""
    lean = lean_machine_class()

    class Drifting(lean):  # type: ignore[valid-type,misc]
        def callbacks(self, funcs: Any, event_data: Any) -> None:
            super().callbacks([f for f in funcs if f != "before_change"], event_data)

    spec = load_spec("runtime")
    first = next(e for e in spec.edges if e.source == spec.initial)
    script: dict[str, Any] = {
        "extras": True,
        "triggers": [first.trigger],
        "answers": [True] * 8,
        "raise_at": None,
    }
    assert run_both(spec, lean, **script) == []
    assert run_both(spec, Drifting, **script) != []
