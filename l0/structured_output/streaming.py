"""`StructuredStreamResult`: previews of the object while its JSON streams in, then the
validated object.

Tokens feed a `PartialJSONParser` (O(delta) per token, throttled reads). Each value it reads
is checked with `UnifiedSchema.validate_partial` (Pydantic's partial validation, or JSON
Schema with pending issues set apart); only values valid so far are yielded, as
`StructuredPartial`s holding plain JSON data. When the run's stream ends, the `schema` rule
validates the complete text strictly, and the last item yielded is the `StructuredResult`;
a preview is never yielded as the result. A RESET from the runtime (a retry or fallback
discarding text) starts the previews over from the text that was kept, and the previews
that follow carry the new attempt number.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from l0.errors import Error, ErrorCode
from l0.jsonkit.partial import PartialJSON, PartialJSONParser
from l0.structured_output.results import StructuredPartial, StructuredResult, StructuredState
from l0.types import EventType

if TYPE_CHECKING:
    from l0.runtime.stream import Stream
    from l0.structured_output.run import StructuredRun
    from l0.types import State

T = TypeVar("T")

_TEXT = (EventType.TOKEN, EventType.MESSAGE)


class StructuredStreamResult(Generic[T]):
    """A structured run read as it streams: `async for item in result` yields
    `StructuredPartial` previews, then the `StructuredResult` (`item.is_final`).
    `await result.result()` skips to the end. Use `async with` to close it early."""

    def __init__(
        self, run: StructuredRun[T], stream: Stream, *, include_pending_string: bool = False
    ) -> None:
        self._run = run
        self._stream = stream
        self._include_pending = include_pending_string
        self._items: AsyncGenerator[StructuredPartial | StructuredResult[T], None] | None = None
        self._result: StructuredResult[T] | None = None

    # -- reading ------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[StructuredPartial | StructuredResult[T]]:
        if self._items is None:
            self._items = self._generate()
        return self._items

    async def result(self) -> StructuredResult[T]:
        """Read to the end (previews not yet read are skipped) and return the result."""
        async for _item in self:
            pass
        if self._result is None:
            raise Error(
                "This structured stream has already ended without a result (its error was "
                "raised when it was read)",
                code=ErrorCode.STREAM_CONSUMED,
            )
        return self._result

    def _parser(self) -> PartialJSONParser:
        return PartialJSONParser(include_pending_string=self._include_pending)

    async def _generate(self) -> AsyncGenerator[StructuredPartial | StructuredResult[T], None]:
        run, stream = self._run, self._stream
        parser = self._parser()
        try:
            try:
                async for event in stream:
                    kind = event.type
                    if kind in _TEXT:
                        if event.text:
                            partial = parser.feed(event.text)
                            if partial is not None:
                                preview = self._preview(partial)
                                if preview is not None:
                                    yield preview
                    elif kind is EventType.RESET:
                        parser = self._parser()  # the previews start over...
                        kept = stream.state.content
                        if kept:
                            parser.feed(kept)  # ...from the text the runtime kept
            except Exception as exc:
                run.reraise(exc)
            self._result = run.result(stream)
            yield self._result
        finally:
            await stream.aclose()
            await run.close()

    def _preview(self, partial: PartialJSON) -> StructuredPartial | None:
        if partial.repaired and not self._run.check.auto_correct:
            return None  # only exact JSON will pass at the end: do not preview repairs
        verdict = self._run.schema.validate_partial(partial)
        if not verdict.valid:
            return None  # the final check will refuse it; nothing valid to show
        structured_state = self._run.check.state
        structured_state.partial = verdict.value
        structured_state.partials += 1
        return StructuredPartial(
            verdict.value,
            self._run.check.attempt,
            verdict.pending,
            partial.pending_string,
        )

    # -- control ------------------------------------------------------------------------------

    @property
    def stream(self) -> Stream:
        """The underlying `l0.Stream` (its events are read by this result)."""
        return self._stream

    @property
    def state(self) -> State:
        """The run's `l0.State`, live."""
        return self._stream.state

    @property
    def structured_state(self) -> StructuredState:
        """What the structured run knows, live (latest preview, refused attempts...)."""
        return self._run.check.state

    def abort(self) -> None:
        """Stop the run; the next read raises `l0.Error(code=STREAM_ABORTED)`."""
        self._stream.abort()

    async def aclose(self) -> None:
        """Stop reading and close the provider stream (idempotent)."""
        if self._items is None:  # never read: a generator that never ran has no finally
            self._items = self._generate()
            await self._items.aclose()  # later reads end at once
            await self._stream.aclose()
            await self._run.close()
        else:
            await self._items.aclose()

    async def __aenter__(self) -> StructuredStreamResult[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        await self.aclose()
        return False


__all__ = ["StructuredStreamResult"]
