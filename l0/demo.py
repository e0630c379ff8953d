"""`make demo`: five ways a provider fails, and what l0 does about each, printed live.

Without `--live` the demo starts `l0.testing.FaultServer` (a local OpenAI-compatible server
that misbehaves on cue) and talks to it through the real `openai` SDK, wrapped by l0. Each
chapter scripts the server's next answers, then makes an ordinary request:

1. a 429 whose Retry-After is honoured;
2. a stream dropped mid-answer, continued from its checkpoint without repeating text;
3. a primary that never sends a first token, replaced by the fallback model;
4. a reply that is not JSON, caught by a guardrail and retried;
5. a structured object that fails validation once, then is repaired and validated.

Tokens print as they arrive; the run's lifecycle events (`on_event`) print between them in
brackets, stamped with the seconds since the chapter began. With `--diagram PATH` (which
`make demo` passes as `diagrams/last-demo.md`) the path every chapter's run took through the
runtime machine is written to PATH; without it the demo writes no file, so running it from an
installed wheel leaves the current directory alone.

With `--live` (and `OPENAI_API_KEY` set) the same requests go to the real API. Nothing can
be injected there, so each chapter shows what the real service did (usually: no failure).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
from pydantic import BaseModel

import l0
from l0.errors import retry_after_of

MODEL = "gpt-4o-mini"
FALLBACK_MODEL = "gpt-4.1-mini"

Obs = l0.ObservabilityEventType


class City(BaseModel):
    """Chapter 5's schema."""

    name: str
    country: str
    population: int


# What the local provider streams, token by token. Chapter 2's continuation repeats the end
# of the checkpoint (" where it"), as models do; l0 removes the overlap.
RATE_LIMITED_ANSWER = ["A 429 ", "is a request ", "to wait, ", "not a failure."]
DROPPED_TOKENS = ["Checkpoints ", "let a ", "broken ", "stream ", "resume ", "where ", "it ",
                  "stopped, ", "without ", "repeating ", "a word."]  # fmt: skip
DROP_AFTER = 7
CONTINUED_TOKENS = ["where ", "it ", "stopped, ", "without ", "repeating ", "a word."]
CONTINUED_ANSWER = "".join(DROPPED_TOKENS)
FALLBACK_ANSWER = ["The ", "fallback ", "model ", "answered ", "instead."]
NOT_JSON = ["Sure! ", "Here is ", "the JSON: ", '{"city": "Paris", ', '"country": "France"}']
ONLY_JSON = ['{"city": "Paris", ', '"country": "France"}']
INVALID_CITY = ['{"name": "Paris", ', '"country": "France", ', '"population": "about 2M"}']
FENCED_CITY = ["```json\n", '{"name": "Paris", ', '"country": "France", ',
               '"population": 2102650,}\n', "```"]  # fmt: skip
EXPECTED_CITY = City(name="Paris", country="France", population=2102650)

PROMPTS = {
    1: "In one sentence: what does an HTTP 429 mean for a client?",
    2: "In one sentence: why do streaming checkpoints matter?",
    3: "In one sentence: what is a fallback model?",
    4: "Give the capital of France as a JSON object with the keys city and country. "
    "Reply with the JSON object only.",
    5: "Describe the city of Paris as a JSON object with the keys name, country and "
    "population (an integer). Reply with the JSON object only.",
}


@dataclass
class Chapter:
    """What one chapter's run did: its lifecycle events, final state and diagram."""

    number: int
    title: str
    events: list[l0.ObservabilityEvent] = field(default_factory=list)
    resets: list[dict[str, Any]] = field(default_factory=list)
    state: l0.State | None = None
    diagram: str | None = None
    path: list[str] = field(default_factory=list)  # the states the run went through
    data: Any = None  # chapter 5: the validated object
    structured: Any = None  # chapter 5: the l0.StructuredResult
    error: BaseException | None = None

    def of_type(self, kind: l0.ObservabilityEventType) -> list[dict[str, Any]]:
        return [event.meta for event in self.events if event.type is kind]


@dataclass
class DemoResult:
    live: bool
    chapters: list[Chapter]
    diagram_path: Path | None

    @property
    def ok(self) -> bool:
        return all(chapter.error is None for chapter in self.chapters)


class Printer:
    """Writes tokens inline and notes (recovery events) on their own lines between them."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.color = out.isatty() and "NO_COLOR" not in os.environ
        self.at_line_start = True
        self.started = time.monotonic()
        self.state: l0.State | None = None  # the current run's, for checkpoint notes

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def title(self, text: str) -> None:
        self._end_line()
        self._write("\n" + self._paint(f"== {text} ", "1") + "=" * max(3, 70 - len(text)) + "\n")
        self.started = time.monotonic()

    def token(self, text: str) -> None:
        if self.at_line_start:
            self._write("    ")
        self._write(text.replace("\n", "\n    "))
        self.at_line_start = False

    def note(self, text: str, *, code: str = "33") -> None:
        self._end_line()
        stamp = f"{time.monotonic() - self.started:5.2f}s"
        self._write(self._paint(f"  [{stamp}] {text}", code) + "\n")

    def line(self, text: str) -> None:
        self._end_line()
        self._write(f"    {text}\n")

    def outcome(self, text: str) -> None:
        self._end_line()
        self._write(self._paint(f"  => {text}", "32") + "\n")

    def _end_line(self) -> None:
        if not self.at_line_start:
            self._write("\n")
        self.at_line_start = True


def describe(event: l0.ObservabilityEvent, state: l0.State | None) -> str | None:
    """The line a recovery event gets in the demo's output (None: not shown)."""
    meta = event.meta
    kind = event.type
    if kind is Obs.NETWORK_ERROR:
        return f"network error ({meta['network_type']}): {meta['error']}"
    # Network failures and guardrail violations have events of their own that say more.
    shown_elsewhere = ("network", "content")
    if kind is Obs.ERROR and not meta.get("final") and meta.get("category") not in shown_elsewhere:
        wait = retry_after_of(meta["exception"]) if "exception" in meta else None
        asked = f" Retry-After: {wait:g}s" if wait is not None else ""
        return f"{meta['error']}{asked}"
    if kind is Obs.GUARDRAIL_RULE_RESULT and not meta["passed"]:
        return f"guardrail {meta['rule']} failed: {'; '.join(meta['violations'])}"
    if kind is Obs.RETRY_ATTEMPT:
        return f"retry {meta['attempt']} in {meta['delay']:.2f}s ({meta['reason']})"
    if kind is Obs.FALLBACK_START:
        return f"switching to fallback {meta['index']} ({meta['reason']})"
    if kind is Obs.CHECKPOINT_SAVED:
        return f"checkpoint: {meta['token_count']} tokens, {meta['checkpoint_length']} chars"
    if kind is Obs.STREAM_INIT and (meta["attempt"] or meta["fallback_index"]):
        index = meta["fallback_index"]
        where = f"attempt {meta['attempt'] + 1}, " + (f"fallback {index}" if index else "primary")
        if meta["continuation"] and state is not None:
            return f"{where}, resuming after the checkpoint {state.checkpoint!r}"
        return where
    if kind is Obs.COMPLETE:
        return (
            f"complete: {meta['token_count']} tokens in {meta['attempts']} attempt(s), "
            f"answered by {meta['model']}"
        )
    return None


class Demo:
    """Runs the chapters against one wrapped client (see the module docstring)."""

    def __init__(
        self,
        raw_client: Any,
        server: Any,
        printer: Printer,
        *,
        model: str = MODEL,
        fallback_model: str = FALLBACK_MODEL,
    ) -> None:
        self.server = server  # a FaultServer, None when live
        self.printer = printer
        self.model, self.fallback_model = model, fallback_model
        self.chapter: Chapter | None = None
        # One wrapped client; each chapter changes only what it shows off (`with_options`).
        self.client = l0.wrap(
            raw_client,
            retry=l0.Retry(base_delay=0.25, strategy=l0.BackoffStrategy.FIXED),
            on_event=self.on_event,
        )

    @property
    def live(self) -> bool:
        return self.server is None

    def on_event(self, event: l0.ObservabilityEvent) -> None:
        if self.chapter is not None:
            self.chapter.events.append(event)
        text = describe(event, self.printer.state)
        if text is not None:
            self.printer.note(text, code="36" if event.type is Obs.COMPLETE else "33")

    def script(self, model: str, steps: Sequence[Any], *, accept_prefill: bool = False) -> None:
        if self.server is not None:
            self.server.script(model, list(steps), accept_prefill=accept_prefill)

    def messages(self, number: int) -> list[dict[str, str]]:
        return [{"role": "user", "content": PROMPTS[number]}]

    async def show(self, stream: l0.Stream, chapter: Chapter) -> None:
        """Print the run's tokens live (and its resets), then keep what it did."""
        self.printer.state = stream.state
        async for event in stream:
            if event.is_token:
                self.printer.token(event.text or "")
            elif event.is_reset and event.data is not None:
                chapter.resets.append(event.data)
                self.printer.note(
                    f"RESET ({event.data['reason']}): drop the last {event.data['discarded']} "
                    f"chars printed, keep {event.data['kept']}",
                    code="35",
                )
        self.finish(stream, chapter)

    def finish(self, stream: l0.Stream, chapter: Chapter) -> None:
        history = stream.state_machine.get_history()
        chapter.path = [history[0].from_state.value] + [step.to_state.value for step in history]
        chapter.state = stream.state
        chapter.diagram = stream.diagram()
        self.printer.note("path: " + " -> ".join(chapter.path), code="2")

    # -- the chapters -------------------------------------------------------------------------

    async def rate_limit(self, chapter: Chapter) -> None:
        from l0.testing import ErrorReply, Reply

        self.script(self.model, [ErrorReply(429, retry_after=1), Reply(RATE_LIMITED_ANSWER)])
        stream = await self.client.chat.completions.create(
            model=self.model, messages=self.messages(1), stream=True
        )
        await self.show(stream, chapter)
        for meta in chapter.of_type(Obs.RETRY_ATTEMPT):
            self.printer.outcome(f"waited {meta['delay']:g}s before retry {meta['attempt']}")
        self.printer.outcome(f"final text: {stream.state.content!r}")

    async def dropped_stream(self, chapter: Chapter) -> None:
        from l0.testing import Reply

        self.script(
            self.model,
            [Reply(DROPPED_TOKENS, drop_after=DROP_AFTER), Reply(CONTINUED_TOKENS)],
            accept_prefill=True,  # the continuation request ends with the checkpoint
        )
        client = self.client.with_options(continue_from_last_good_token=True)
        stream = await client.chat.completions.create(
            model=self.model, messages=self.messages(2), stream=True
        )
        await self.show(stream, chapter)
        state = stream.state
        self.printer.outcome(
            f"overlap removed: {state.overlap_removed!r}; final text: {state.content!r}"
        )
        if not self.live:
            same = state.content == CONTINUED_ANSWER
            self.printer.outcome(f"equal to the expected answer: {same}")

    async def stall(self, chapter: Chapter) -> None:
        from l0.testing import Reply, Stall

        self.script(self.model, [Reply(["never", " sent"], stall=Stall(60.0))])
        self.script(self.fallback_model, [Reply(FALLBACK_ANSWER)])
        messages = self.messages(3)
        completions = self.client.chat.completions
        stream = await l0.run(
            stream=completions.factory(model=self.model, messages=messages),
            fallbacks=[completions.factory(model=self.fallback_model, messages=messages)],
            timeout=l0.Timeout(initial_token=10_000 if self.live else 600),
            on_event=self.on_event,
        )
        await self.show(stream, chapter)
        self.printer.outcome(
            f"fallback_index={stream.state.fallback_index}, model={stream.state.model}"
        )

    async def bad_json(self, chapter: Chapter) -> None:
        from l0.testing import Reply

        self.script(self.model, [Reply(NOT_JSON), Reply(ONLY_JSON)])
        client = self.client.with_options(guardrails=l0.Guardrails.json_only())
        stream = await client.chat.completions.create(
            model=self.model, messages=self.messages(4), stream=True
        )
        await self.show(stream, chapter)
        self.printer.outcome(f"parsed: {json.loads(stream.state.content)}")

    async def structured(self, chapter: Chapter) -> None:
        from l0.testing import Reply

        self.script(self.model, [Reply(INVALID_CITY), Reply(FENCED_CITY)])
        printer = self.printer
        result = await l0.structured_stream(
            City,
            self.client.chat.completions.factory(model=self.model, messages=self.messages(5)),
            retry=l0.Retry(attempts=2, base_delay=0.25, strategy=l0.BackoffStrategy.FIXED),
            on_event=self.on_event,
            on_auto_correct=lambda info: printer.note(
                f"auto-corrected: {', '.join(c.value for c in info.corrections)}"
            ),
        )
        self.printer.state = result.state
        shown = None
        async with result:
            async for item in result:
                if isinstance(item, l0.StructuredPartial):
                    if item.value != shown:  # the object as far as it has arrived
                        printer.line(f"preview: {item.value}")
                        shown = item.value
                else:
                    chapter.structured, chapter.data = item, item.data
        self.finish(result.stream, chapter)
        self.printer.outcome(f"validated: {chapter.data!r}")

    async def run(self) -> list[Chapter]:
        steps: list[tuple[str, Callable[[Chapter], Awaitable[None]]]] = [
            ("1. A rate limit, honoured", self.rate_limit),
            ("2. A dropped stream, continued without repeating itself", self.dropped_stream),
            ("3. A silent model, replaced by the fallback", self.stall),
            ("4. Not JSON: a guardrail catches it and retries", self.bad_json),
            ("5. A structured object, validated", self.structured),
        ]
        chapters = []
        for number, (title, play) in enumerate(steps, start=1):
            self.chapter = chapter = Chapter(number, title)
            chapters.append(chapter)
            self.printer.title(title)
            try:
                await play(chapter)
            except Exception as exc:  # shown, and the story goes on (live, anything happens)
                chapter.error = exc
                self.printer.note(f"failed: {type(exc).__name__}: {exc}", code="31")
        self.chapter = None
        return chapters


def diagram_page(chapters: Sequence[Chapter], *, live: bool) -> str:
    """A markdown page with each chapter's path through the runtime machine."""
    where = "the real API" if live else "the local fault-injecting provider"
    lines = [
        "# The paths the last demo took",
        "",
        f"Written by `make demo` (`python -m l0.demo`) against {where}; every run rewrites",
        "this page (it is not committed). Each chapter's run through the `runtime` machine:",
        "visited states are shaded, the edges taken carry their count, the final state is",
        "highlighted. See `diagrams/runtime.md` for the machine itself.",
        "",
    ]
    for chapter in chapters:
        lines += [f"## {chapter.title}", ""]
        if chapter.diagram is None:
            lines += [f"The run did not finish: {chapter.error!r}", ""]
        else:
            lines += ["```mermaid", chapter.diagram.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m l0.demo",
        description=(
            "Five provider failures and how l0 recovers from each, printed live. By default "
            "it runs offline against l0.testing.FaultServer, a local OpenAI-compatible server "
            "that injects the failures, through the real openai SDK."
        ),
        epilog=(
            "--live sends the same requests to the real OpenAI API (needs OPENAI_API_KEY; "
            "OPENAI_BASE_URL is honoured). Failures cannot be injected into a real service, "
            "so each chapter shows what the real API did: usually a clean answer, and no "
            "retry, fallback or reset."
        ),
    )
    parser.add_argument("--live", action="store_true", help="use the real OpenAI API")
    parser.add_argument("--model", default=MODEL, help=f"model (default: {MODEL})")
    parser.add_argument(
        "--fallback-model",
        default=FALLBACK_MODEL,
        help=f"chapter 3's fallback model (default: {FALLBACK_MODEL})",
    )
    parser.add_argument(
        "--diagram",
        type=Path,
        default=None,
        help="write the runs' paths through the state machine to this Markdown file "
        "(default: no file; `make demo` writes diagrams/last-demo.md)",
    )
    return parser.parse_args(argv)


async def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> DemoResult:
    """Run the demo; returns each chapter's outcome (raises SystemExit on a bad command)."""
    args = parse_args(argv)
    out = out if out is not None else sys.stdout
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        raise SystemExit("--live needs OPENAI_API_KEY in the environment")
    missing = [name for name in ("openai", "aiohttp") if importlib.util.find_spec(name) is None]
    if missing:  # aiohttp serves the local provider
        needed = " and ".join(missing)
        raise SystemExit(f"the demo needs {needed}: pip install 'l0[openai,testing]'")
    import openai

    printer = Printer(out)
    async with AsyncExitStack() as stack:
        if args.live:
            server = None
            raw = openai.AsyncOpenAI()
            out.write("Live: the real API; no failure is injected, so expect clean answers.\n")
        else:
            from l0.testing import FaultServer

            server = await stack.enter_async_context(FaultServer())
            raw = openai.AsyncOpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
        await stack.enter_async_context(raw)
        demo = Demo(raw, server, printer, model=args.model, fallback_model=args.fallback_model)
        chapters = await demo.run()
    path: Path | None = args.diagram
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(diagram_page(chapters, live=args.live), encoding="utf-8")
        out.write(f"\nThe path of each run through the runtime machine: {path}\n")
    else:
        out.write("\nPass --diagram PATH to write the path of each run as mermaid diagrams.\n")
    return DemoResult(live=args.live, chapters=chapters, diagram_path=path)


def cli(argv: Sequence[str] | None = None) -> int:
    result = anyio.run(main, argv)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(cli())
