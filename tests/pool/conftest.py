"""Every l0 run these tests make keeps the runtime's lifecycle invariants (tests/_invariants.py),
including the runs a pipeline timeout or a pool's close cancels."""

from __future__ import annotations

import pytest

from tests._invariants import lifecycle_invariants

__all__ = ["lifecycle_invariants"]


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants(lifecycle_invariants: object) -> None:
    return None
