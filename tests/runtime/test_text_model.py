"""The text contract against a small reference model, under generated fault schedules.

The model: the provider has one answer `A` (distinct characters, so every repeat is
unambiguous). Each attempt is opened with the text l0 kept (`K`, the continuation), which
must be a prefix of `A` free of rejected text, and the provider then sends one of:

- a continuation: `A` from `len(K) - r` on, repeating the last `r` characters of `K`
  (`r` = 0, between `min_overlap` and `max_overlap`, or shorter than the overlap window
  when little is left);
- a restart: `A` from its beginning, however long `K` is (beyond `max_overlap` too; but
  at least `min_overlap`: a shorter repeat is kept, by the documented rule);
- on the last attempt only, a restart that differs after `k` characters (`k` from the
  restart threshold on): the answer becomes `A[:k] + B`.

Any attempt but the last may fail at any chunk: a dropped connection, or a chunk a
guardrail rejects (a rewind to the last checkpoint). The consumer prints TOKEN events and
applies RESETs, and may abort or leave early at any token.

What the consumer must end with: when the run completes, exactly the final answer (`A`, or
`A[:k] + B`), delivered once; whenever it stops, exactly `state.content`, and that text
(less any rejected chunk not yet taken back) is a prefix of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import looptime
import pytest
import trio.testing
from hypothesis import event, given, settings, strategies as st

import l0
from l0.testing.scripted import Script, ScriptedStream

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?+-*/=<>()[]{}"
REJECTED = "\u2620"  # a chunk the guardrail rejects: never part of an answer
OPTIONS = l0.DeduplicationOptions(min_overlap=2, max_overlap=8)
BACKENDS = {
    "asyncio": lambda: ("asyncio", {"loop_factory": looptime.new_event_loop}),
    "trio": lambda: ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}),
}


def reject_marked(state: l0.State) -> list[l0.GuardrailViolation]:
    if REJECTED in state.content:
        return [l0.GuardrailViolation(rule="marked", message="rejected", severity="error")]
    return []


def restart_threshold(kept: str) -> int:
    """From how many repeated characters a continuation that starts over is a restart."""
    return max(OPTIONS.min_overlap, min(len(kept), OPTIONS.max_overlap))


@dataclass(frozen=True)
class Attempt:
    behaviour: str  # "continue", "restart" or (last attempt only) "diverge"
    repeat: int  # r for a continuation, k for a divergent restart (clamped when opened)
    fault: str  # "ok", "drop" or "reject"
    at: int  # the chunk the fault happens at (clamped)
    size: int  # characters per chunk
    other: str = ""  # B, for a divergent restart


@dataclass
class Provider:
    """A stream factory that reads the kept text it is opened with (as the wrapped client
    does) and answers per the schedule; it checks the model's invariant on every open."""

    answer: str
    schedule: list[Attempt]
    final: str = ""

    def __post_init__(self) -> None:
        self.final = self.answer
        self.streams: list[ScriptedStream] = []
        self.kept: list[str] = []

    def __call__(self) -> ScriptedStream:
        return self.l0_open(continuation=None)

    def l0_open(self, *, continuation: str | None, **_: Any) -> ScriptedStream:
        kept = continuation or ""
        # The model's invariant: l0 resumes only after text of the answer, never rejected.
        assert self.answer.startswith(kept), (kept, self.answer)
        self.kept.append(kept)
        attempt = self.schedule[min(len(self.streams), len(self.schedule) - 1)]
        text = self._text(attempt, kept)
        chunks = [text[i : i + attempt.size] for i in range(0, len(text), attempt.size)]
        at = min(attempt.at, len(chunks))
        if attempt.fault == "drop":
            script = Script(chunks=chunks, fail_at=at)
        elif attempt.fault == "reject":
            script = Script(chunks=[*chunks[:at], REJECTED, *chunks[at:]])
        else:
            script = Script(chunks=chunks)
        stream = ScriptedStream(script)
        self.streams.append(stream)
        return stream

    def _text(self, attempt: Attempt, kept: str) -> str:
        answer = self.answer
        if attempt.behaviour == "diverge" and kept:
            k = min(attempt.repeat, len(kept) - 1)
            if k >= restart_threshold(kept):
                self.final = answer[:k] + attempt.other
                return self.final
            # No room for a detectable divergence: a plain restart, as below.
            return self._text(Attempt("restart", 0, "ok", 0, attempt.size), kept)
        if attempt.behaviour == "diverge":
            self.final = answer[: attempt.repeat] + attempt.other  # nothing kept: fresh
            return self.final
        if attempt.behaviour == "restart" and len(kept) >= OPTIONS.min_overlap:
            return answer  # (after less than min_overlap characters it would be new text)
        repeat = min(attempt.repeat, len(kept))
        if repeat < OPTIONS.min_overlap or (OPTIONS.max_overlap < repeat < len(kept)):
            repeat = 0  # a repeat the overlap rule could not see: the model sends none
        return answer[len(kept) - repeat :]


@st.composite
def schedules(draw: st.DrawFn) -> tuple[str, list[Attempt]]:
    letters = draw(st.permutations(ALPHABET))
    length = draw(st.integers(1, 40), label="answer length")
    answer, spare = "".join(letters[:length]), "".join(letters[length:])
    failing = draw(
        st.lists(
            st.builds(
                Attempt,
                behaviour=st.sampled_from(["continue", "continue", "restart"]),
                repeat=st.integers(0, 12),
                fault=st.sampled_from(["drop", "reject"]),
                at=st.integers(0, 40),
                size=st.integers(1, 6),
            ),
            max_size=4,
        ),
        label="failing attempts",
    )
    last = draw(
        st.builds(
            Attempt,
            behaviour=st.sampled_from(["continue", "restart", "diverge"]),
            repeat=st.integers(0, 40),
            fault=st.just("ok"),
            at=st.just(0),
            size=st.integers(1, 6),
            other=st.integers(0, 10).map(lambda n: spare[:n]),
        ),
        label="last attempt",
    )
    return answer, [*failing, last]


stops = st.one_of(
    st.none(), st.tuples(st.sampled_from(["abort", "break"]), st.integers(0, 30))
)


async def consume(result: l0.Stream, stop: tuple[str, int] | None) -> tuple[str, Any]:
    """Print tokens, apply RESETs; abort or leave after `stop` tokens."""
    seen = ""
    tokens = 0
    error: BaseException | None = None
    try:
        async for event in result:
            if event.is_token:
                seen += event.text or ""
                tokens += 1
            elif event.is_reset:
                assert event.data is not None
                seen = seen[: event.data["kept"]]
            if stop is not None and tokens >= stop[1]:
                if stop[0] == "break":
                    break
                result.abort()
    except l0.Error as exc:
        error = exc
    return seen, error


async def play(provider: Provider, interval: int, stop: tuple[str, int] | None) -> Any:
    result = await l0.run(
        stream=provider,
        continue_from_last_good_token=l0.ContinuationConfig(
            checkpoint_interval=interval, deduplication_options=OPTIONS
        ),
        guardrails=[l0.GuardrailRule(name="marked", check=reject_marked)],
        check_interval=1,
        retry=l0.Retry(attempts=8, max_retries=8, calculate_delay=lambda context: 0.0),
    )
    async with result:
        seen, error = await consume(result, stop)
    return result, seen, error


@settings(max_examples=200, deadline=None)
@given(
    case=schedules(),
    interval=st.integers(1, 3),
    stop=stops,
    backend=st.sampled_from(sorted(BACKENDS)),
)
def test_the_consumer_ends_with_what_the_text_model_says(
    case: tuple[str, list[Attempt]], interval: int, stop: Any, backend: str
) -> None:
    """Any schedule of drops, rewinds, resumes and restarts, any abort or early exit: the
    consumer's text is state.content, a prefix of the answer, and the whole answer, once,
    when the run completes."""
    answer, schedule = case
    provider = Provider(answer, schedule)
    name, options = BACKENDS[backend]()
    result, seen, error = anyio.run(
        play, provider, interval, stop, backend=name, backend_options=options
    )
    state = result.state
    event(f"run {'completed' if state.completed else 'stopped'}")
    event(f"resumed after more than max_overlap: {any(len(k) > 8 for k in provider.kept)}")
    event(f"answer changed by a restart: {provider.final != answer}")
    assert seen == state.content
    if state.completed:
        assert error is None
        assert seen == provider.final
    else:
        assert stop is not None, (error, provider.kept)  # only a consumer ends a run early
        shown = seen.replace(REJECTED, "")
        assert answer.startswith(shown) or provider.final.startswith(shown), (shown, answer)
        if stop[0] == "abort":
            assert isinstance(error, l0.Error) and error.code is l0.ErrorCode.STREAM_ABORTED


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_the_model_catches_a_restart_longer_than_the_window(backend: str) -> None:
    """One schedule spelled out: a drop after 30 characters, then a restart from scratch
    (30 > max_overlap = 8): delivered once."""
    answer = ALPHABET[:36]
    provider = Provider(
        answer,
        [Attempt("continue", 0, "drop", 10, 3), Attempt("restart", 0, "ok", 0, 4)],
    )
    name, options = BACKENDS[backend]()
    result, seen, error = anyio.run(play, provider, 1, None, backend=name, backend_options=options)
    assert provider.kept == ["", answer[:30]]
    assert error is None and seen == answer == result.state.content
