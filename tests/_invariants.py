"""Order invariants of a run's lifecycle events, checked for every run a test makes.

`check_lifecycle(events, finished=...)` asserts what any run's `ObservabilityEvent`s must
satisfy (see its docstring). The `lifecycle_invariants` fixture attaches a recorder to the
event bus of every `RunCore` created while a test runs (runs through `l0.run`/`l0.wrap`,
cores built by hand, recording and replaying cores alike) and checks each one at teardown:
fully for runs that ended, as a prefix for runs left unfinished.

Opting in:

- one module: `from tests._invariants import lifecycle_invariants` and mark the module
  `pytestmark = pytest.mark.usefixtures("lifecycle_invariants")`;
- a whole directory: an autouse fixture in its conftest that requests `lifecycle_invariants`;
- the whole suite: `pytest -p tests._invariants`, or `pytest_plugins = ["tests._invariants"]`
  in the root conftest (the `_every_run_keeps_lifecycle_invariants` fixture below is autouse
  wherever this module is loaded as a plugin).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from l0.observability import ObservabilityEvent, ObservabilityEventType as Obs
from l0.runtime.core import RunCore

TERMINAL_PHASES = ("complete", "error")


def _is_final(event: ObservabilityEvent) -> bool:
    return event.type is Obs.COMPLETE or (event.type is Obs.ERROR and event.meta.get("final"))


def _is_uuid7(value: str) -> bool:
    parts = value.split("-")
    if [len(p) for p in parts] != [8, 4, 4, 4, 12]:
        return False
    try:
        int("".join(parts), 16)
    except ValueError:
        return False
    return parts[2][0] == "7" and parts[3][0] in "89ab"


def _check_meta(event: ObservabilityEvent) -> None:
    meta = event.meta
    kind = event.type
    if kind is Obs.STREAM_INIT or kind is Obs.STREAM_READY:
        assert isinstance(meta["attempt"], int) and meta["attempt"] >= 0, meta
        assert isinstance(meta["fallback_index"], int), meta
    elif kind is Obs.RETRY_ATTEMPT:
        assert isinstance(meta["attempt"], int) and meta["attempt"] >= 1, meta
        assert isinstance(meta["delay"], float) and meta["delay"] >= 0, meta
        assert isinstance(meta["reason"], str), meta
    elif kind is Obs.FALLBACK_START:
        assert isinstance(meta["index"], int) and meta["index"] >= 1, meta
    elif kind is Obs.CHECKPOINT_SAVED:
        assert isinstance(meta["token_count"], int) and meta["token_count"] > 0, meta
    elif kind is Obs.NETWORK_ERROR or kind is Obs.ERROR:
        assert isinstance(meta["error"], str) and meta["error"], meta
    elif kind is Obs.COMPLETE:
        duration = meta["duration"]
        assert isinstance(duration, float) and duration >= 0, meta


def check_lifecycle(
    events: Sequence[ObservabilityEvent], *, finished: bool, left: bool = False
) -> None:
    """Assert the order invariants of one run's lifecycle events.

    - SESSION_START exactly once, first; one UUIDv7 `stream_id`; one `context`;
      timestamps (epoch ms) finite and non-decreasing; documented meta present.
    - Attempts are numbered 0, 1, 2, ... Every attempt after the first is announced: by a
      RETRY_ATTEMPT (same stream) or a FALLBACK_START (the next stream, index + 1), each
      following the ERROR of the failure that caused it. A hedge (`hedge=True`, the next
      stream racing a slow first token) announces itself; when it wins the race, a
      FALLBACK_START with reason "hedge" (no failure needed) makes it the current stream.
    - RETRY_START opens a retry sequence before its first RETRY_ATTEMPT; RETRY_END and
      RETRY_GIVE_UP close one that is open.
    - Guardrail phases are balanced: START, rule results, END.
    - A finished run ends with SESSION_END then COMPLETE or ERROR(final=True), once; an
      unfinished one has neither, unless it stopped short (`left`): then its last event is
      a SESSION_END with the outcome.
    """
    # the recorder's own trouble, reported on the run's bus, is not part of the run
    events = [e for e in events if not e.meta.get("recording")]
    if not events:
        assert not finished, "a finished run emitted no lifecycle events"
        return
    assert events[0].type is Obs.SESSION_START, [e.type.value for e in events]
    assert sum(e.type is Obs.SESSION_START for e in events) == 1
    stream_ids = {e.stream_id for e in events}
    assert len(stream_ids) == 1, stream_ids
    assert _is_uuid7(events[0].stream_id), events[0].stream_id
    context = events[0].context
    assert all(e.context == context for e in events)
    stamps = [e.ts for e in events]
    assert all(isinstance(t, float) and math.isfinite(t) for t in stamps), stamps
    assert all(a <= b for a, b in itertools.pairwise(stamps)), stamps

    attempt = -1
    fallback = 0
    announced: str | None = None  # what announced the next attempt
    failed_since_init = False
    retrying = False
    guardrail_phase: str | None = None
    hedge: int | None = None  # the stream racing the current one
    for event in events:
        _check_meta(event)
        kind, meta = event.type, event.meta
        if kind is Obs.STREAM_INIT and meta.get("hedge"):
            assert meta["attempt"] == attempt + 1 and announced is None, (meta, attempt)
            assert meta["fallback_index"] == fallback + 1, (meta, fallback)
            attempt, hedge = meta["attempt"], meta["fallback_index"]
        elif kind is Obs.FALLBACK_START and meta.get("reason") == "hedge":
            assert meta["index"] == hedge, (meta, hedge)
            fallback, hedge = meta["index"], None
        elif kind is Obs.STREAM_INIT:
            assert meta["attempt"] == attempt + 1, (meta, attempt)
            if attempt >= 0:
                assert announced is not None, "a new attempt started unannounced"
            expected = fallback + (1 if announced == "fallback" else 0)
            assert meta["fallback_index"] == expected, (meta, fallback, announced)
            attempt, fallback, announced, failed_since_init = (
                meta["attempt"],
                meta["fallback_index"],
                None,
                False,
            )
        elif kind is Obs.ERROR and not meta.get("final"):
            failed_since_init = True
        elif kind is Obs.RETRY_START:
            assert not retrying, "RETRY_START inside an open retry sequence"
            retrying = True
        elif kind is Obs.RETRY_ATTEMPT:
            assert retrying, "RETRY_ATTEMPT without RETRY_START"
            assert failed_since_init, "RETRY_ATTEMPT without a failure before it"
            assert announced is None
            announced = "retry"
        elif kind is Obs.RETRY_END or kind is Obs.RETRY_GIVE_UP:
            assert retrying, f"{kind.value} without RETRY_START"
            retrying = False
        elif kind is Obs.FALLBACK_START:
            assert failed_since_init, "FALLBACK_START without a failure before it"
            assert meta["index"] == fallback + 1, (meta, fallback)
            assert announced is None
            announced = "fallback"
        elif kind is Obs.GUARDRAIL_PHASE_START:
            assert guardrail_phase is None
            guardrail_phase = meta["phase"]
        elif kind is Obs.GUARDRAIL_RULE_RESULT or kind is Obs.DRIFT_CHECK_RESULT:
            assert guardrail_phase == meta["phase"], (guardrail_phase, meta)
        elif kind is Obs.GUARDRAIL_PHASE_END:
            assert guardrail_phase == meta["phase"], (guardrail_phase, meta)
            guardrail_phase = None
    assert guardrail_phase is None, "a guardrail phase never ended"

    finals = [i for i, e in enumerate(events) if _is_final(e)]
    ends = [i for i, e in enumerate(events) if e.type is Obs.SESSION_END]
    if finished:
        assert finals == [len(events) - 1], [e.type.value for e in events]
        assert ends == [len(events) - 2], [e.type.value for e in events]
        if events[-1].type is Obs.COMPLETE:
            assert events[-2].meta["completed"] is True
    elif left:
        # stopped short (cancelled, closed, a BaseException): one SESSION_END, last
        assert finals == [] and ends == [len(events) - 1], [e.type.value for e in events]
        assert events[-1].meta["outcome"] in ("cancelled", "failed"), events[-1].meta
    else:
        assert finals == [] and ends == [], [e.type.value for e in events]


class LifecycleLog:
    """An `on_event` handler that keeps the events of one run."""

    def __init__(self, core: RunCore | None = None) -> None:
        self.core = core
        self.events: list[ObservabilityEvent] = []

    def __call__(self, event: ObservabilityEvent) -> None:
        self.events.append(event)

    @property
    def types(self) -> list[Obs]:
        return [e.type for e in self.events]

    def check(self, *, finished: bool | None = None) -> None:
        if finished is None:
            finished = self.core is not None and self.core.phase in TERMINAL_PHASES
        left = self.core is not None and self.core.left_as is not None
        check_lifecycle(self.events, finished=finished, left=left)


@pytest.fixture
def lifecycle_invariants(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LifecycleLog]]:
    """Record the lifecycle events of every run core created during the test; check them."""
    logs: list[LifecycleLog] = []
    original = RunCore.__init__

    def init(self: RunCore, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        log = LifecycleLog(self)
        self.bus.add_handler(log)
        logs.append(log)

    monkeypatch.setattr(RunCore, "__init__", init)
    yield logs
    for log in logs:
        log.check()


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants(lifecycle_invariants: list[LifecycleLog]) -> None:
    """Autouse where this module is loaded as a plugin (`-p tests._invariants`)."""
