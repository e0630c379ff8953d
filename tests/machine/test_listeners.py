"""Subscribers of a machine model: told of each state change, in the order they subscribed,
each `unsubscribe` removing one subscription, even from inside a notification."""

from __future__ import annotations

from l0.machine.view import StateMachine
from l0.types import RuntimeState as S


def test_listeners_are_told_in_order_and_may_unsubscribe_while_told() -> None:
    machine = StateMachine()
    told: list[tuple[str, S]] = []
    unsubscribers = {}

    def first(state: S) -> None:
        told.append(("first", state))
        unsubscribers["first"]()  # leaves while being told: the others are still told

    def second(state: S) -> None:
        told.append(("second", state))

    unsubscribers["first"] = machine.subscribe(first)
    unsubscribers["second"] = machine.subscribe(second)
    again = machine.subscribe(second)  # the same listener twice: told twice
    machine.transition(S.STREAMING)
    assert told == [("first", S.STREAMING), ("second", S.STREAMING), ("second", S.STREAMING)]
    told.clear()
    again()
    unsubscribers["first"]()  # unsubscribing twice is harmless
    machine.transition(S.FINALIZING)
    assert told == [("second", S.FINALIZING)]
    unsubscribers["second"]()
    machine.transition(S.COMPLETE)
    assert told == [("second", S.FINALIZING)]
    assert machine.get_history()[-1].to_state is S.COMPLETE
