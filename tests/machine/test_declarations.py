"""The machine declarations: loaded into transitions, matched by the code, drawn fresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import l0
from l0.machine.diagram import diagram_markdown, render_mermaid
from l0.machine.engine import build_machine
from l0.machine.spec import load_spec, machine_names
from l0.runtime.core import RunCore

ROOT = Path(__file__).resolve().parents[2]


def test_runtime_declares_the_eleven_reference_states() -> None:
    """l0/machine/declarations/runtime.toml declares exactly the RuntimeState states."""
    spec = load_spec("runtime")
    assert set(spec.states) == {s.value for s in l0.RuntimeState}
    assert spec.initial == "init"
    assert set(spec.terminal) == {"complete", "error"}


def test_the_machine_is_built_once_and_rejects_undeclared_triggers() -> None:
    """One shared transitions.Machine, auto transitions off, invalid triggers raising."""
    machine = build_machine("runtime")
    assert build_machine("runtime") is machine
    assert "to_streaming" not in machine.events  # no auto transitions
    assert machine.ignore_invalid_triggers is False


def test_every_named_condition_and_handler_exists_on_the_run_core() -> None:
    """The declaration's handler and condition names are methods of RunCore."""
    spec = load_spec("runtime")
    for name in (*spec.handlers, *spec.conditions, "record_transition"):
        assert callable(getattr(RunCore, name, None)), name


def test_the_named_edges_invoke_the_named_handlers() -> None:
    """retrying, fallback, continuation, finalizing and checkpoint edges carry their handlers."""
    spec = load_spec("runtime")
    handler_into = {(e.dest, e.after) for e in spec.edges if e.after}
    assert ("retrying", "schedule_backoff") in handler_into
    assert ("fallback", "switch_fallback") in handler_into
    assert ("continuation_matching", "begin_overlap_matching") in handler_into
    assert ("streaming", "deduplicate") in handler_into
    assert ("finalizing", "run_final_checks") in handler_into
    assert ("checkpoint_verifying", "verify_checkpoint") in handler_into
    fail_edges = [e for e in spec.edges if e.trigger == "fail" and e.source == "streaming"]
    assert [(e.dest, e.conditions) for e in fail_edges] == [
        ("fallback", ("leave_route",)),  # Retry.failover: the next route, without backoff
        ("retrying", ("retry_allowed",)),
        ("fallback", ("fallback_available",)),
        ("error", ()),
    ]


def test_an_illegal_transition_on_a_run_core_raises() -> None:
    """Firing a trigger that has no edge from the current state raises INVALID_TRANSITION."""
    from l0.event_bus import EventBus
    from l0.runtime.plan import make_plan

    plan = make_plan(lambda: None)
    core = RunCore(plan, now=0.0, epoch=0.0, bus=EventBus(plan.on_event, plan.context))
    with pytest.raises(l0.Error) as caught:
        core.fire("finalized", now=0.0, epoch=0.0)
    assert caught.value.code is l0.ErrorCode.INVALID_TRANSITION


@pytest.mark.parametrize("name", machine_names())
def test_committed_diagrams_are_current(name: str) -> None:
    """diagrams/<name>.md is what `make diagrams` would write now."""
    page = ROOT / "diagrams" / f"{name}.md"
    assert page.read_text(encoding="utf-8") == diagram_markdown(name), "run `make diagrams`"


def test_python_m_l0_diagram_prints_the_runtime_machine() -> None:
    """`python -m l0 diagram runtime` prints the mermaid diagram."""
    out = subprocess.run(
        [sys.executable, "-m", "l0", "diagram", "runtime"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == render_mermaid("runtime")
    assert "stateDiagram-v2" in out and "streaming --> finalizing: end / run_final_checks" in out


def test_a_model_reads_no_clock_of_its_own() -> None:
    """A model's transitions carry the epoch they are given; fired without one, the base model
    refuses (it has no clock to guess with), while the standalone view uses wall time."""
    import time
    from typing import Any

    from l0.machine.models import MachineModel

    class Bare(MachineModel):
        def __getattr__(self, name: str) -> Any:  # every condition holds, handlers do nothing
            return lambda event_data: True

    model = Bare()
    model.fire("start", now=0.0, epoch=123.0)
    assert [t.timestamp for t in model.history] == [123.0]
    with pytest.raises(l0.Error) as caught:
        model.fire("abort", now=0.0)
    assert caught.value.code is l0.ErrorCode.INTERNAL_ERROR
    before = time.time()
    machine = l0.StateMachine()
    machine.transition(l0.RuntimeState.WAITING_FOR_TOKEN)
    (step,) = machine.get_history()
    assert before <= step.timestamp <= time.time()
