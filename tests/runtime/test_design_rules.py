"""The design's rules, enforced: a core that does no I/O, and deadlines that cost nothing
per token."""

from __future__ import annotations

import ast
from pathlib import Path

import anyio
import pytest

import l0
from l0.testing import Script, ScriptedFactory

RUNTIME = Path(l0.__file__).parent / "runtime"
SANS_IO = ["core.py", "policy.py", "plan.py"]
FORBIDDEN = {"anyio", "asyncio", "trio", "time", "socket", "threading"}


@pytest.mark.parametrize("module", SANS_IO)
def test_the_core_modules_import_no_io_or_clock(module: str) -> None:
    """The sans-I/O core never imports an event loop, threads, sockets or a clock."""
    tree = ast.parse((RUNTIME / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported & FORBIDDEN == set()


@pytest.mark.anyio
async def test_no_cancel_scope_or_task_is_created_per_token(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: object
) -> None:
    """A 500-token stream creates a bounded number of cancel scopes and tasks on asyncio
    (the watchdog needs none per token); on trio each read has its own scope."""
    created: list[str] = []
    backend_scope = type(anyio.CancelScope())  # anyio hands out a backend's subclass
    original_scope = backend_scope.__init__

    def counting_scope(self: anyio.CancelScope, *args: object, **kwargs: object) -> None:
        created.append("scope")
        original_scope(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backend_scope, "__init__", counting_scope)
    factory = ScriptedFactory(Script.tokens("x" * 500, delay=0.0))
    result = await l0.run(stream=factory, timeout=l0.Timeout(initial_token=5000, inter_token=500))
    assert await result.read() == "x" * 500
    if anyio_backend == "asyncio":
        assert len(created) <= 2  # at most the shielded close of the attempt
    else:
        assert len(created) >= 500  # documented: trio reads each chunk under its own scope
