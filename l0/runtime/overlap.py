"""Overlap matching of a resumed attempt (continuation with deduplication).

When an attempt resumes after text the consumer already has, the provider often repeats
the end of it. Its first tokens go to an `OverlapMatcher` (state `continuation_matching`)
until the overlap is known; `_resolve_overlap` then delivers only the new text. A provider
that started its answer over and differs from the kept text after some characters has the
rest replaced: a RESET, then its text, in that order, through `take_events()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from l0.continuation import OverlapMatcher, OverlapResult
from l0.errors import Error, ErrorCode
from l0.runtime.failures import FailurePolicy
from l0.types import Event, EventType

if TYPE_CHECKING:
    from transitions import EventData

_TOKEN = EventType.TOKEN


class OverlapMatching(FailurePolicy):
    """The overlap of a resumed attempt with the text kept (module docstring)."""

    _matcher: OverlapMatcher | None = None

    @property
    def _dedup_enabled(self) -> bool:
        continuation = self.plan.continuation
        return continuation is not None and continuation.deduplicate

    def _require_matcher(self) -> OverlapMatcher:
        if self._matcher is None:
            raise Error(
                "No overlap matcher in continuation_matching", code=ErrorCode.INTERNAL_ERROR
            )
        return self._matcher

    def _resolve_overlap(
        self, verdict: OverlapResult, now: float, *, streaming: bool = False
    ) -> Event | None:
        """Deliver what the overlap left of the new text. `streaming`: a token released it,
        and the streaming checks see the text before the consumer does."""
        rewind_to = self._require_matcher().rewind_to
        self._fire("overlap_resolved", now, verdict=verdict)
        if rewind_to is not None:
            # The provider started its answer over and it differs from the kept text after
            # `rewind_to` characters: the restarted answer replaces the rest (RESET first).
            checkpoint = min(rewind_to, self.state.checkpoint_length)
            self._rewind(rewind_to, now, reason="restart", attempt=self.attempt)
            self.state._set_checkpoint_length(checkpoint)  # the kept part stays checked
        text = verdict.deduplicated
        if not text:
            return None
        stamp = self.epoch(now)
        self._append(text)
        self.state.last_token_at = stamp
        engine = self.engine
        if streaming and engine is not None:
            # A boundary: the rules run over the released text (it is not a step of the
            # interval, which counts the tokens streamed after the overlap is settled), and
            # a violation in it withholds it, as for a token at the interval.
            found = engine.check_streaming(self.state, self._ts(now))
            error = self._apply_violations(found, now)
            if error is not None:
                self.state.truncate(self.state.content_length - len(text))
                self._failed(error, now)
                return None
        event = Event(_TOKEN, text, None, None, None, stamp)
        if rewind_to is not None:
            self._put(event)  # after its RESET, in order
            return None
        return event

    def begin_overlap_matching(self, event_data: EventData) -> None:
        continuation = self.plan.continuation
        assert continuation is not None and self._resume_text is not None
        self._matcher = OverlapMatcher(self._resume_text, continuation.deduplication_options)
        now = event_data.kwargs["now"]
        state = self.state
        if state.first_token_at is None:
            state.first_token_at = self.epoch(now)
        self._output_at, state._longest_gap = self.epoch(now), 0.0  # gaps of this attempt
        self._note_recovery(now)

    def deduplicate(self, event_data: EventData) -> None:
        verdict: OverlapResult = event_data.kwargs["verdict"]
        if verdict.has_overlap:
            self.state.deduplication_applied = True
            self.state.overlap_removed = verdict.overlap_text
        self._matcher = None
        self._enter_streaming()


__all__ = ["OverlapMatching"]
