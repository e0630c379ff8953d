"""INFO logging on the `l0` logger: each retry, fallback and timeout once, nothing per token.

The property test drives generated fault schedules (tests/runtime/test_fault_schedules.py)
and checks the INFO lines against a model computed from what the scripted providers did: one
retry line per re-call of a factory, one fallback line per switch, one timeout line per
stall that was reached.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import l0
from l0.run_log import log_event
from l0.testing.scripted import Script, ScriptedFactory
from tests.runtime.test_fault_schedules import BACKENDS, Attempt, play, retries, schedules


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def info(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno == logging.INFO]

    def kinds(self) -> list[str]:
        return [str(getattr(r, "l0_event", "")) for r in self.info()]


@contextlib.contextmanager
def l0_logs(level: int = logging.INFO) -> Iterator[Records]:
    """The `l0` logger at `level`, its records collected (the logger restored after)."""
    logger = logging.getLogger("l0")
    handler, saved = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)


def _model(schedule: list[list[Attempt]], factories: list[ScriptedFactory]) -> dict[str, int]:
    """The lines the run must log, from what each scripted provider was asked to do."""
    played = [
        [plan[min(i, len(plan) - 1)] for i in range(factory.calls)]
        for plan, factory in zip(schedule, factories, strict=True)
    ]
    used = [attempts for attempts in played if attempts]
    return {
        "RETRY_ATTEMPT": sum(len(attempts) - 1 for attempts in used),
        "FALLBACK_START": len(used) - 1,
        "ERROR": sum(a.fault == "stall" for attempts in played for a in attempts),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=schedules, retry=retries, backend=st.sampled_from(sorted(BACKENDS)))
def test_each_retry_fallback_and_timeout_is_logged_once_at_info(
    schedule: list[list[Attempt]], retry: l0.Retry, backend: str
) -> None:
    """For any fault schedule the INFO lines are exactly the model's: one per retry, per
    fallback, per timeout; none per token. Each names its reason and route."""
    name, options = BACKENDS[backend]()
    with l0_logs() as logs:
        outcome = anyio.run(play, schedule, retry, False, backend=name, backend_options=options)
    kinds = logs.kinds()
    counted = {kind: kinds.count(kind) for kind in ("RETRY_ATTEMPT", "FALLBACK_START", "ERROR")}
    assert counted == _model(schedule, outcome["factories"])
    assert len(kinds) == sum(counted.values())  # nothing else at INFO
    for record in logs.info():
        assert record.name == "l0"
        assert getattr(record, "l0_reason", None) and record.getMessage()
        assert isinstance(getattr(record, "l0_route", None), int)
        assert getattr(record, "l0_stream_id", None) == outcome["result"].stream_id




@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_timeout_then_a_fallback_read_as_two_lines() -> None:
    """A silent primary: the timeout line (with its limit in ms), then the fallback line."""

    async def silent() -> AsyncIterator[str]:
        await anyio.sleep(3600)
        yield "never"

    with l0_logs() as logs:
        result = await l0.run(
            stream=silent,
            fallbacks=[ScriptedFactory(Script.tokens("fine"))],
            timeout=l0.Timeout(initial_token=2000),
            retry=l0.Retry(max_retries=0),
        )
        assert await result.read() == "fine"
    timeout, fallback = (r.getMessage() for r in logs.info())
    assert timeout.startswith("timed out (initial_token_timeout) on route 0 (primary)")
    assert "2000 ms" in timeout
    assert fallback.startswith("falling back to route 1 (fallback 1) after initial_token_timeout")


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_a_retry_line_gives_attempt_reason_delay_and_route() -> None:
    """One dropped connection: one INFO line with the retry's number, reason and delay."""
    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello world"))
    with l0_logs() as logs:
        result = await l0.run(
            stream=factory, retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.5)
        )
        assert await result.read() == "Hello world"
    (line,) = logs.info()
    assert line.getMessage().startswith(
        "retry 1 after econnreset (network error), in 0.500s, on route 0 (primary)"
    )
    assert (line.l0_retry, line.l0_delay, line.l0_route) == (1, 0.5, 0)  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_at_warning_nothing_is_attached_or_logged() -> None:
    """The default (the `l0` logger at WARNING): no handler on the bus, no records."""
    factory = ScriptedFactory(Script.tokens("ab", fail_at=1), Script.tokens("ab"))
    with l0_logs(logging.WARNING) as logs:
        result = await l0.run(stream=factory, retry=l0.Retry(base_delay=0.001))
        await result.read()
    assert logs.records == []
    assert result._core is not None
    assert log_event not in result._core.bus._handlers
