"""Integration fixtures: the real SDKs pointed at the module's FaultServer (tests/conftest.py).

Tests that take the `provider` fixture run three times: the openai SDK on asyncio and on
trio, and LiteLLM on asyncio (its streaming works on asyncio only). `provider.wrap(...)` is
`l0.wrap(AsyncOpenAI(...))` or `l0.wrap(litellm.acompletion)`; `provider.request(model)` is
the keyword arguments of `create(...)` for that SDK (LiteLLM needs the `openai/` prefix and
the server's address on every call). Every run a test makes is checked against the runtime's
lifecycle invariants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from l0.testing import FaultServer
from tests._invariants import LifecycleLog, lifecycle_invariants  # noqa: F401
from tests.integration._support import Provider

_COMBINATIONS = [("openai", "asyncio"), ("openai", "trio"), ("litellm", "asyncio")]


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "provider_name" in metafunc.fixturenames:
        metafunc.parametrize(
            ("provider_name", "anyio_backend"),
            _COMBINATIONS,
            ids=[f"{sdk}-{backend}" for sdk, backend in _COMBINATIONS],
        )


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants(lifecycle_invariants: list[LifecycleLog]) -> None:  # noqa: F811
    """Checked at teardown for every run core created by the test."""


@pytest.fixture
async def provider(provider_name: str, server: FaultServer) -> AsyncIterator[Provider]:
    made = Provider(provider_name, server, [])
    yield made
    for client in made.clients:
        await client.close()


