"""Every Python example in `docs/*.md` runs, on asyncio and on trio (see tests/_docs_runner.py).

One test per example, with the id `page.md:line`. The examples of a page share one
namespace and one event loop (a module-scoped async fixture per page and backend), so an
example can read a stream an earlier one started. They talk to a local
`l0.testing.FaultServer` through the real `openai` SDK (and LiteLLM, on asyncio only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests._docs_runner import Example, PageEnvironment, environment, pages, parse_page

BACKENDS = ("asyncio", "trio")

_CASES: list[tuple[Path, Example]] = [
    (path, example) for path in pages() for example in parse_page(path)
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "example" in metafunc.fixturenames:
        metafunc.parametrize(
            ("doc_page", "example"),
            _CASES,
            ids=[example.id for _, example in _CASES],
            indirect=["doc_page"],
            scope="module",
        )


@pytest.fixture(scope="module", params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """One event loop per page and backend: module scope keeps it across a page's examples."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="module")
def doc_page(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture(scope="module")
async def page(doc_page: Path, anyio_backend: str) -> AsyncIterator[PageEnvironment]:
    async with environment(doc_page) as env:
        yield env


@pytest.mark.anyio
async def test_example(page: PageEnvironment, example: Example, anyio_backend: str) -> None:
    """The example runs without error and prints what the page shows."""
    if page.skipped(example, anyio_backend):
        pytest.skip("LiteLLM streams on asyncio only")
    await page.run(example, backend=anyio_backend)


def test_every_page_is_indexed() -> None:
    """docs/README.md links every page."""
    index = (pages()[0].parent / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in pages() if p.name != "README.md" and f"({p.name})" not in index]
    assert missing == []
