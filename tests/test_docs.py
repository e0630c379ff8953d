"""Every Python example in `docs/*.md` and the README runs, on asyncio and on trio
(see tests/_docs_runner.py).

One test per example and backend, with the id `page.md:line-backend`. The examples of a page
share one namespace and one event loop: each page runs, per backend, in an event loop of its
own (an anyio blocking portal: the loop lives in a thread for as long as the page's examples
run, so an example can read a stream an earlier one started). They talk to a local
`l0.testing.FaultServer` through the real `openai` SDK (and LiteLLM, on asyncio only).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests._docs_runner import Example, PageEnvironment, environment, pages, parse_page

BACKENDS = ("asyncio", "trio")

# Page by page, backend by backend, examples in page order: each page's environment is set
# up once per backend.
_CASES: list[tuple[Path, str, Example]] = [
    (path, backend, example)
    for path in pages()
    for backend in BACKENDS
    for example in parse_page(path)
]


class _OpenPages:
    """The page environment in use, in its event loop; a new page closes the previous one."""

    def __init__(self) -> None:
        self._key: tuple[Path, str] | None = None
        self._stack = contextlib.ExitStack()
        self.portal: BlockingPortal | None = None
        self.page: PageEnvironment | None = None

    def open(self, path: Path, backend: str) -> tuple[BlockingPortal, PageEnvironment]:
        if self._key != (path, backend) or self.portal is None or self.page is None:
            self.close()
            self.portal = self._stack.enter_context(start_blocking_portal(backend))
            self.page = self._stack.enter_context(
                self.portal.wrap_async_context_manager(environment(path))
            )
            self._key = (path, backend)
        return self.portal, self.page

    def close(self) -> None:
        self._stack.close()
        self._key, self.portal, self.page = None, None, None


@pytest.fixture(scope="module")
def open_pages() -> Iterator[_OpenPages]:
    pages_in_use = _OpenPages()
    yield pages_in_use
    pages_in_use.close()


@pytest.mark.parametrize(
    ("path", "backend", "example"),
    _CASES,
    ids=[f"{example.id}-{backend}" for _, backend, example in _CASES],
)
def test_example(open_pages: _OpenPages, path: Path, backend: str, example: Example) -> None:
    """The example runs without error (in an async function on `backend`) and prints what
    the page shows."""
    if PageEnvironment.skipped(example, backend):
        pytest.skip("LiteLLM streams on asyncio only")
    portal, page = open_pages.open(path, backend)
    run: Any = page.run
    failed_before = portal.call(lambda: run(example, backend=backend))
    if failed_before is not None:
        pytest.skip(f"an earlier example of the page failed: {failed_before}")


def test_every_page_is_indexed() -> None:
    """docs/README.md links every page."""
    index = (pages()[0].parent / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in pages() if p.name != "README.md" and f"({p.name})" not in index]
    assert missing == []


_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in _HEADING.findall(text)
    }


def test_links_between_pages_resolve() -> None:
    """Every relative link in docs/ names an existing file, and an existing heading."""
    broken = []
    for page in pages():
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            name, _, anchor = target.partition("#")
            linked = (page.parent / name).resolve() if name else page
            if not linked.exists() or (
                anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
            ):
                broken.append(f"{page.name}: {target}")
    assert broken == []
