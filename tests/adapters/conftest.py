"""Shared fixtures for adapter tests: one fault server per module, fresh model names."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from l0.testing import FaultServer

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
