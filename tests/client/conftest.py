"""Every run these tests make keeps the lifecycle order invariants (tests/_invariants.py)."""

from __future__ import annotations

import pytest

from tests._invariants import LifecycleLog, lifecycle_invariants  # noqa: F401


@pytest.fixture(autouse=True)
def _every_run_keeps_lifecycle_invariants(lifecycle_invariants: list[LifecycleLog]) -> None:  # noqa: F811
    """Checked at teardown for every run core created by the test."""
