"""Every async test runs on asyncio and on trio (anyio's pytest plugin).

Tests marked `virtual_time` run on a virtual clock that jumps ahead whenever every task is
waiting: looptime's event loop on asyncio, `trio.testing.MockClock(autojump_threshold=0)` on
trio. Timeouts and backoff then take no real time and are exact. Tests that talk to a real
socket must not use it (the clock would jump while bytes are in flight).

Tests that talk HTTP get `server`, one FaultServer per module, and `new_model`, model names
no other test uses (so scripts never collide on the shared server).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from l0.testing import FaultServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "virtual_time: run on a virtual, auto-jumping clock")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    if request.node.get_closest_marker("virtual_time") is None:
        return request.param
    if request.param == "asyncio":
        import looptime

        return ("asyncio", {"loop_factory": looptime.new_event_loop})
    import trio.testing

    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def new_model() -> Callable[[str], str]:
    """A model name no other test uses, so scripts never collide on the shared server."""

    def fresh(prefix: str = "model") -> str:
        return f"{prefix}-{next(_names)}"

    return fresh


# Every run any test makes keeps the lifecycle order invariants (see tests/_invariants.py).
pytest_plugins = ["tests._invariants"]

# No per-example deadlines: a busy CI machine must not turn a slow example into a failure.
settings.register_profile(
    "l0", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("l0")
