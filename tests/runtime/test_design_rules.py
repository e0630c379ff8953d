"""The design's rules, enforced: an import graph without cycles, layered, whose sans-I/O core
reaches no clock, I/O, event store or provider SDK; and deadlines that cost nothing per token.

The import graph is read from the source (tests/_import_graph.py: every import counts,
including those inside functions and TYPE_CHECKING blocks). docs/architecture.md explains
the layers; `LAYERS` below is their one definition.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

import l0
from l0.testing import Script, ScriptedFactory
from tests._import_graph import cycles, external_imports, graph, l0_edges, modules, reach

# The sans-I/O core: what decides a run. It is handed facts and the time; it never reads a
# clock, awaits, opens a socket or a file, or touches a recording or an SDK.
SANS_IO_CORE = (
    "l0.runtime.core",
    "l0.runtime.core_base",
    "l0.runtime.facts",
    "l0.runtime.telemetry",
    "l0.runtime.verdicts",
    "l0.runtime.failures",
    "l0.runtime.overlap",
    "l0.runtime.racing",
    "l0.runtime.tokens",
    "l0.runtime.policy",
    "l0.runtime.plan",
    "l0.runtime.options",
    "l0.continuation",
    "l0.guardrails.engine",
)
# Modules outside l0 that mean a clock, an event loop, threads, I/O or a provider SDK.
FORBIDDEN_IN_CORE = frozenset(
    {
        "time", "datetime", "uuid", "threading", "multiprocessing", "concurrent",
        "asyncio", "anyio", "trio", "sniffio", "selectors",
        "socket", "ssl", "http", "urllib", "subprocess", "os", "io", "shutil", "tempfile",
        "pathlib", "sqlite3", "logging",
        "httpx", "aiohttp", "openai", "litellm", "tiktoken", "psycopg", "redis",
        "opentelemetry", "sentry_sdk",
    }
)  # fmt: skip
# l0's own modules that own a clock, do I/O, record runs or speak to providers.
FORBIDDEN_L0_IN_CORE = (
    "l0.eventsourcing",
    "l0.event_bus",
    "l0.breaker",
    "l0.adapters",
    "l0.client",
    "l0.testing",
    "l0.monitoring",
    "l0.runtime.driver",
    "l0.runtime.stream",
    "l0.runtime.watchdog",
    "l0.runtime.api",
)
# Reads l0's own machine declarations (package data) once per process, cached: loading
# configuration, not I/O during a run. The one exception to FORBIDDEN_IN_CORE.
READS_PACKAGE_DATA = {"l0.machine.spec": {"pathlib"}}

# The layers, lowest first: a module may import its own layer and those below, never above.
# A module belongs to the layer of its longest matching prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "vocabulary",
        (
            "l0._version", "l0.types", "l0.error_analysis", "l0.errors", "l0.observability",
            "l0.timeout", "l0.retry", "l0.continuation", "l0.metrics", "l0.progress",
            "l0.callbacks",
        ),
    ),
    (
        "tools",
        (
            "l0.machine", "l0.guardrails", "l0.drift", "l0.jsonkit", "l0._utils", "l0.compare",
            "l0.text", "l0.format", "l0.multimodal", "l0.stream_utils", "l0.monitoring.redact",
            "l0.routes.keys",
        ),
    ),
    ("core", ("l0.runtime.facts", "l0.runtime.core_base", "l0.runtime.telemetry",
              "l0.runtime.verdicts", "l0.runtime.failures", "l0.runtime.overlap",
              "l0.runtime.racing", "l0.runtime.tokens", "l0.runtime.core",
              "l0.runtime.policy", "l0.runtime.plan", "l0.runtime.options")),
    (
        "services",
        (
            "l0.event_bus", "l0.breaker", "l0.monitoring", "l0.debug", "l0.adapters",
            "l0.testing", "l0.concurrency", "l0.routes", "l0.run_log",
        ),
    ),
    ("recording", ("l0.eventsourcing",)),
    ("driver", ("l0.runtime.driver", "l0.runtime.stream", "l0.runtime.watchdog",
                "l0.runtime.chunks", "l0.runtime.routing", "l0.runtime.hedge",
                "l0.runtime.interrupts", "l0.runtime.sdk_retries",
                "l0.runtime.closing")),
    ("client", ("l0.client",)),
    ("entry", ("l0.runtime.api", "l0.runtime")),
    ("composites", ("l0.structured_output", "l0.pipeline", "l0.pool", "l0.voting",
                    "l0.window")),
    ("application", ("l0", "l0.__main__", "l0.demo")),
)  # fmt: skip


def layer_of(module: str) -> int:
    """The index in LAYERS of the module's longest matching prefix."""
    best = (-1, -1)
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # "l0" names the package's own __init__ only, not everything below it.
            if module == prefix or (prefix != "l0" and module.startswith(prefix + ".")):
                best = max(best, (len(prefix), index))
    if best[1] < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and the docs)")
    return best[1]


def test_the_import_graph_of_l0_has_no_cycle() -> None:
    """No two modules of l0 import each other, directly or through others (counting lazy
    and TYPE_CHECKING imports)."""
    assert len(modules()) > 100  # the graph really is the package
    assert cycles(l0_edges()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    """The check above can fail: a two-module loop and a longer one are reported."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert cycles(edges) == [["a", "b"], ["c", "d", "e"]]


def test_the_sans_io_core_reaches_no_clock_io_event_store_or_sdk() -> None:
    """Everything the core loads (transitively, lazy imports included) imports no clock,
    event loop, thread, socket, file, recording or provider SDK."""
    reached = reach(SANS_IO_CORE)
    bad = [
        " -> ".join(path)
        for module, path in reached.items()
        if module.startswith(FORBIDDEN_L0_IN_CORE)
    ]
    for module, path in reached.items():
        forbidden = external_imports(module) & FORBIDDEN_IN_CORE
        forbidden -= READS_PACKAGE_DATA.get(module, set())
        bad.extend(" -> ".join([*path, name]) for name in sorted(forbidden))
    assert bad == []
    assert "l0.machine.models" in reached  # the machine is part of the core


# What reaches process-wide state: the global metrics counters, the process's route health.
PROCESS_WIDE = frozenset({"get_global", "get_global_metrics", "default_route_health", "_global"})


def _process_wide_names(source: str) -> set[str]:
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PROCESS_WIDE:
            found.add(node.attr)
        elif isinstance(node, ast.Name) and node.id in PROCESS_WIDE:
            found.add(node.id)
    return found


def test_the_run_core_touches_no_process_wide_state() -> None:
    """The core's modules never reach for the global metrics or other process-wide state:
    the driver injects what a run counts into (`MetricsSink`)."""
    core_modules = [m for m in SANS_IO_CORE if m.startswith("l0.runtime.")]
    found = {m: _process_wide_names(modules()[m].read_text()) for m in core_modules}
    assert {m: names for m, names in found.items() if names} == {}
    # the check can fail: the stream, which injects the global counters, is seen to
    assert _process_wide_names(modules()["l0.runtime.stream"].read_text()) == {"get_global"}


def test_the_reach_check_sees_through_lazy_imports() -> None:
    """The driver, which must do I/O, is seen to: anyio is reached, and the recorder through
    the stream's lazy import."""
    reached = reach(["l0.runtime.stream"])
    assert "l0.eventsourcing.recorder" in reached
    assert any("anyio" in external_imports(module) for module in reached)


def test_lower_layers_never_import_higher_ones() -> None:
    """Every module is in a layer, and every import (lazy and TYPE_CHECKING ones too) goes to
    the module's own layer or one below."""
    for module in modules():
        layer_of(module)  # raises for a module in no layer
    upward = []
    for module, targets in l0_edges().items():
        for target in targets:
            if layer_of(target) > layer_of(module):
                upward.append(
                    f"{module} ({LAYERS[layer_of(module)][0]}) imports "
                    f"{target} ({LAYERS[layer_of(target)][0]})"
                )
    assert sorted(upward) == []


def test_the_architecture_page_lists_the_layers_in_order() -> None:
    """docs/architecture.md names every layer, lowest first, as LAYERS defines them."""
    page = (Path(l0.__file__).parents[1] / "docs" / "architecture.md").read_text()
    positions = [page.find(f"| {name} |") for name, _prefixes in LAYERS]
    assert -1 not in positions, positions
    assert positions == sorted(positions)


def test_every_import_edge_is_read() -> None:
    """The reader sees a lazy import and a TYPE_CHECKING one, and tells them apart."""
    stream_edges = {edge.target: edge.runs for edge in graph()["l0.runtime.stream"]}
    assert stream_edges["l0.eventsourcing.recorder"] is True  # inside a method
    api_edges = {edge.target: edge.runs for edge in graph()["l0.runtime.api"]}
    assert api_edges["l0.drift"] is False  # only under TYPE_CHECKING


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
