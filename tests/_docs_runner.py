"""Run the Python examples of `docs/*.md` like doctests, against the local test provider.

A page is read top to bottom:

- every ```python block is an example: it is executed (top-level `await` allowed) and fails
  the test if it raises;
- a ```output block right after it is what the example must print, compared exactly (trailing
  spaces ignored);
- an HTML comment `<!-- setup ... -->` holds code that runs, hidden, right before the next
  example (typically scripting the server's next answers); the reader sees prose saying what
  it does;
- every other fence (```text, ```console, ```bash, ```mermaid, ...) is not executed.

All examples of a page share one namespace (a module object, so classes defined in examples
behave), in page order, so later examples use names defined by earlier ones; running an
example first runs the earlier ones that have not run. The namespace starts with the
environment the examples assume (`environment`, documented in docs/README.md): a running
`l0.testing.FaultServer` as `server`, a real `openai.AsyncOpenAI` pointed at it as `client`
(and `AsyncOpenAI()` finds it through `OPENAI_BASE_URL`), a `prompt`, and the stream
factories `my_stream`, `create_stream` (model "gpt-4o") and `backup_stream`
("gpt-4o-mini"). Before each example the server forgets its scripts, so every model gives
the default answer unless the example's setup says otherwise. Examples that mention LiteLLM
run on asyncio only (LiteLLM streams on asyncio only). What a page changes globally
(registered adapters, the `l0` logger, `AsyncOpenAI` clients left open) is undone when the
page is done.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import logging
import os
import re
import sys
import types
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from l0.testing import FaultServer, Reply, Step

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE_TIME_LIMIT = 30.0  # seconds; a hung example fails instead of hanging the suite
DEFAULT_ANSWER = ["Hello", "!", " How", " can", " I", " help", " you", " today?"]

_FENCE = re.compile(r"^(?P<marks>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


@dataclass(frozen=True)
class Snippet:
    """Code taken from a page, with the line its first line has in the file."""

    code: str
    line: int


@dataclass(frozen=True)
class Example:
    page: str
    line: int  # the line of the opening fence, 1-based
    code: Snippet
    setups: tuple[Snippet, ...] = ()
    expected_output: str | None = None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def uses_litellm(self) -> bool:
        return any("litellm" in s.code for s in (self.code, *self.setups))


@dataclass
class _Builder:
    page: str
    examples: list[Example] = field(default_factory=list)
    pending_setups: list[Snippet] = field(default_factory=list)
    last_was_example: bool = False


def parse_page(path: Path) -> list[Example]:
    """The examples of one Markdown page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    built = _Builder(path.name)
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            marks, info = fence["marks"], fence["info"].lower()
            end = index + 1
            while end < len(lines) and not (
                lines[end].startswith(marks[0] * len(marks))
                and lines[end].strip() == lines[end].strip()[0] * len(lines[end].strip())
            ):
                end += 1
            if end == len(lines):
                raise ValueError(f"{path.name}:{index + 1}: the fence is never closed")
            body = Snippet("\n".join(lines[index + 1 : end]) + "\n", index + 2)
            if info == "python":
                built.examples.append(
                    Example(built.page, index + 1, body, tuple(built.pending_setups))
                )
                built.pending_setups.clear()
                built.last_was_example = True
            elif info == "output":
                if not built.last_was_example:
                    raise ValueError(
                        f"{path.name}:{index + 1}: an ```output block must follow a ```python one"
                    )
                last = built.examples[-1]
                built.examples[-1] = Example(
                    last.page, last.line, last.code, last.setups, body.code
                )
                built.last_was_example = False
            else:
                built.last_was_example = False
            index = end + 1
            continue
        if line.startswith("<!-- setup"):
            end = index
            while "-->" not in lines[end]:
                end += 1
                if end == len(lines):
                    raise ValueError(f"{path.name}:{index + 1}: the setup comment is never closed")
            first = line[len("<!-- setup") :].strip()
            body_lines = ([first] if first and first != "-->" else []) + lines[index + 1 : end]
            if end > index:
                body_lines.append(lines[end].split("-->")[0])
            start = index + 1 if first and first != "-->" else index + 2
            built.pending_setups.append(Snippet("\n".join(body_lines).rstrip() + "\n", start))
            built.last_was_example = False  # an ```output block may not follow a setup
            index = end + 1
            continue
        if line.strip():
            built.last_was_example = False
        index += 1
    if built.pending_setups:
        raise ValueError(f"{path.name}: a setup comment is not followed by an example")
    return built.examples


def pages() -> list[Path]:
    """The docs pages, then the project README (its quick start runs too)."""
    return [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"]


def _compile(snippet: Snippet, path: Path) -> types.CodeType:
    # Padding keeps line numbers those of the Markdown file, so tracebacks point into it.
    source = "\n" * (snippet.line - 1) + snippet.code
    return compile(
        source, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )


class ExampleFailed(AssertionError):
    pass


class PageEnvironment:
    """One page's namespace and the provider its examples talk to (see the module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.examples = parse_page(path)
        self.module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
        self.namespace: dict[str, Any] = self.module.__dict__
        self.outcomes: dict[str, BaseException | None] = {}

    async def run(self, example: Example, *, backend: str) -> str | None:
        """Run `example`, after any earlier example of the page that has not run yet; raise
        what it raised. Returns the id of an earlier example that failed (then `example` is
        not run: the caller skips it)."""
        for earlier in self.examples:
            if earlier.id == example.id:
                break
            if earlier.id not in self.outcomes and not self.skipped(earlier, backend):
                await self._run_one(earlier)
            if self.outcomes.get(earlier.id) is not None:
                return earlier.id
        await self._run_one(example)
        error = self.outcomes[example.id]
        if error is not None:
            raise error
        return None

    @staticmethod
    def skipped(example: Example, backend: str) -> bool:
        return backend == "trio" and example.uses_litellm

    async def _run_one(self, example: Example) -> None:
        self.outcomes[example.id] = None
        server = self.namespace.get("server")
        if isinstance(server, DocsServer):
            server.forget_scripts()  # each example starts from the default answer
        try:
            with anyio.fail_after(EXAMPLE_TIME_LIMIT):
                for setup in example.setups:
                    await self._execute(setup)
                printed = io.StringIO()
                try:
                    with contextlib.redirect_stdout(printed):
                        await self._execute(example.code)
                finally:
                    sys.stdout.write(printed.getvalue())
            if example.expected_output is not None:
                _compare_output(example, printed.getvalue())
        except Exception as error:  # kept: the example's own test raises it
            self.outcomes[example.id] = error

    async def _execute(self, snippet: Snippet) -> None:
        code = _compile(snippet, self.path)
        result = eval(code, self.namespace)
        if code.co_flags & inspect.CO_COROUTINE:
            await result


def _compare_output(example: Example, printed: str) -> None:
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.rstrip().splitlines()]

    assert example.expected_output is not None
    if lines(printed) != lines(example.expected_output):
        raise ExampleFailed(
            f"{example.id} printed:\n{printed}\n--- but the page shows:\n{example.expected_output}"
        )


class DocsServer(FaultServer):
    """A FaultServer that can forget its scripts: every model answers the default again."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.scripted: set[str] = set()

    def script(self, model: str, steps: Sequence[Step], **options: Any) -> None:
        super().script(model, steps, **options)
        self.scripted.add(model)

    def forget_scripts(self) -> None:
        for model in self.scripted:
            super().script(model, [])
        self.scripted.clear()


@contextlib.contextmanager
def _environment_variables(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _tracked_openai_clients() -> Iterator[list[Any]]:
    """Every `AsyncOpenAI` made meanwhile (examples make their own and do not close them)."""
    import openai

    made: list[Any] = []
    original = openai.AsyncOpenAI.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    openai.AsyncOpenAI.__init__ = init  # type: ignore[method-assign]
    try:
        yield made
    finally:
        openai.AsyncOpenAI.__init__ = original  # type: ignore[method-assign]


@contextlib.contextmanager
def _global_state_restored() -> Iterator[None]:
    """Pages register adapters and switch debug logging on; the rest of the suite must not
    see it."""
    from l0.adapters import Adapters
    from l0.adapters.registry import _BUILTINS as _BUILTIN_ADAPTERS
    from l0.debug import LOGGER_NAME

    registered = [a for a in Adapters.all() if a not in _BUILTIN_ADAPTERS]
    logger = logging.getLogger(LOGGER_NAME)
    level, handlers = logger.level, list(logger.handlers)
    try:
        yield
    finally:
        Adapters.clear()
        for adapter in reversed(registered):  # register() puts the newest first
            Adapters.register(adapter)
        logger.setLevel(level)
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()


@contextlib.asynccontextmanager
async def environment(path: Path) -> AsyncIterator[PageEnvironment]:
    """A page's namespace with a running FaultServer and clients pointed at it."""
    import openai

    page = PageEnvironment(path)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_global_state_restored())
        server = stack.enter_context(DocsServer(default=Reply(DEFAULT_ANSWER)))
        stack.enter_context(
            _environment_variables(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test")
        )
        clients = stack.enter_context(_tracked_openai_clients())
        sys.modules[page.module.__name__] = page.module
        stack.callback(sys.modules.pop, page.module.__name__, None)
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        prompt = "Say hello"

        def my_stream() -> Any:
            return client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": prompt}], stream=True
            )

        def backup_stream() -> Any:
            return client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
            )

        page.namespace.update(
            server=server,
            client=client,
            prompt=prompt,
            my_stream=my_stream,
            create_stream=my_stream,
            backup_stream=backup_stream,
        )
        try:
            yield page
        finally:
            with anyio.CancelScope(shield=True):
                for made in clients:
                    await made.close()
