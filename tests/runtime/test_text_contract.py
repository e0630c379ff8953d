"""The text contract at the continuation seams, on asyncio and trio.

A consumer that prints TOKEN events and applies RESET events (keep the first `kept`
characters) must end with exactly `read()`/`state.content`, and a continuation's text must be
delivered once, however the resumed attempt ends and however much of the answer it repeats.
"""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

NO_DELAY = l0.Retry(attempts=3, calculate_delay=lambda context: 0.0)


async def consume(stream: l0.Stream) -> str:
    """What a consumer that prints tokens and applies RESETs ends with."""
    seen = ""
    async for event in stream:
        if event.is_token:
            seen += event.text or ""
        elif event.is_reset:
            assert event.data is not None
            seen = seen[: event.data["kept"]]
    return seen


# -- 1. a resumed attempt that ends while its text is held back for overlap matching ------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (["Hello", " world"], ["wor"], "Hello worldwor"),  # shorter than the overlap window
        (["Hello", " world"], ["wor", "l"], "Hello worldworl"),  # ends still matching
        (["Hello", " world"], ["o", "r"], "Hello worldor"),
        (["Hello", " world"], ["world"], "Hello world"),  # a pure repeat: nothing new
        (["Hello", " world"], ["ld", "!"], "Hello world!"),  # ends after the overlap
    ],
)
async def test_text_held_for_overlap_matching_is_delivered_when_the_attempt_ends(
    first: list[str], second: list[str], expected: str
) -> None:
    """Issue 13.1: a continuation that ends while held back is delivered before COMPLETE."""
    factory = ScriptedFactory(Script(chunks=first, fail_at=len(first)), Script(chunks=second))
    result = await l0.run(stream=factory, continue_from_last_good_token=True, retry=NO_DELAY)
    seen = await consume(result)
    assert result.state.content == expected
    assert seen == expected


async def test_held_text_is_delivered_when_the_stream_sends_complete() -> None:
    """Issue 13.1, through a COMPLETE event (as adapters end a stream): same contract."""
    done = l0.Event(type=l0.EventType.COMPLETE, data={"finish_reason": "stop"})
    factory = ScriptedFactory(
        Script(chunks=["Hello", " world"], fail_at=2), Script(chunks=["wor", done])
    )
    result = await l0.run(stream=factory, continue_from_last_good_token=True, retry=NO_DELAY)
    events = [event async for event in result]
    texts = [e.text for e in events if e.is_token]
    assert texts == ["Hello", " world", "wor"]
    assert events[-1].type is l0.EventType.COMPLETE
    assert result.state.content == "Hello worldwor"
    assert result.state.finish_reason == "stop"


# -- the suite-wide check (tests/_invariants.py) can fail ---------------------------------------


def test_the_consumer_check_catches_text_no_token_delivered() -> None:
    """The every-run check compares the consumer's text (RESETs applied) with the state's."""
    from types import SimpleNamespace

    from tests._invariants import ConsumerLog

    core: Any = SimpleNamespace(quiet=False, state=l0.State(content="Hello worldwor"))
    log = ConsumerLog(core)
    for event in [
        l0.Event(type=l0.EventType.TOKEN, text="Hello"),
        l0.Event(type=l0.EventType.TOKEN, text=" wor"),
        l0.Event(type=l0.EventType.RESET, data={"kept": 5}),
        l0.Event(type=l0.EventType.TOKEN, text=" world"),
    ]:
        log.see(event)
    assert log.text == "Hello world"
    with pytest.raises(AssertionError, match=r"differ from state\.content"):
        log.check()
    core.state = l0.State(content="Hello world")
    log.check()


# -- 2. a provider that starts its answer over, however long the repeat ------------------------

# 40 sentences, 1470 characters: far longer than the 500-character overlap window.
ANSWER = "".join(f"Sentence number {i} of a long answer. " for i in range(40))


async def resumed_run(first: Script, second: Script) -> tuple[str, l0.Stream, list[l0.Event]]:
    factory = ScriptedFactory(first, second)
    result = await l0.run(stream=factory, continue_from_last_good_token=True, retry=NO_DELAY)
    events = [event async for event in result]
    seen = ""
    for event in events:
        if event.is_token:
            seen += event.text or ""
        elif event.is_reset:
            assert event.data is not None
            seen = seen[: event.data["kept"]]
    return seen, result, events


async def test_a_restarted_answer_longer_than_the_overlap_window_is_delivered_once() -> None:
    """Issue 13.2: 700 characters kept, the retry answers from the beginning again: the
    repeat (longer than max_overlap) is removed, the answer arrives once, without RESET."""
    seen, result, events = await resumed_run(
        Script.tokens(ANSWER, size=7, fail_at=100), Script.tokens(ANSWER, size=7)
    )
    assert seen == ANSWER == result.state.content
    assert not any(e.is_reset for e in events)
    assert result.state.deduplication_applied is True
    assert result.state.overlap_removed == ANSWER[:700]


async def test_a_restarted_answer_that_differs_replaces_the_kept_text_with_a_reset() -> None:
    """Issue 13.2: the restart repeats 600 of the 700 kept characters, then says something
    else: the consumer is told to keep 600 (RESET, reason "restart"), then gets the rest of
    the restarted answer; it ends with that answer, once."""
    restarted = ANSWER[:600] + "But then something else entirely."
    seen, result, events = await resumed_run(
        Script.tokens(ANSWER, size=7, fail_at=100), Script.tokens(restarted, size=5)
    )
    assert seen == restarted == result.state.content
    (reset,) = [e for e in events if e.is_reset]
    assert reset.data == {
        "reason": "restart",
        "attempt": 1,
        "fallback_index": 0,
        "discarded": 100,
        "kept": 600,
    }
    after = events[events.index(reset) + 1 :]
    assert "".join(e.text or "" for e in after if e.is_token) == restarted[600:]


async def test_a_restarted_answer_that_ends_inside_the_kept_text_is_the_answer() -> None:
    """A restart that completes after 650 of the 700 kept characters: its answer is the
    one the run completed with, so the consumer keeps 650 (RESET)."""
    seen, result, events = await resumed_run(
        Script.tokens(ANSWER, size=7, fail_at=100), Script.tokens(ANSWER[:650], size=10)
    )
    assert seen == ANSWER[:650] == result.state.content
    assert [e.data["kept"] for e in events if e.is_reset and e.data] == [650]


async def test_a_continuation_after_a_long_checkpoint_is_still_deduplicated() -> None:
    """Not a restart: the model continues after a 700-character checkpoint, repeating its
    last words; the overlap rule removes them, as before."""
    seen, result, events = await resumed_run(
        Script.tokens(ANSWER, size=7, fail_at=100), Script.tokens(ANSWER[680:], size=4)
    )
    assert seen == ANSWER == result.state.content
    assert not any(e.is_reset for e in events)
    assert result.state.overlap_removed == ANSWER[680:700]


async def test_a_restart_with_a_reset_replays_to_the_same_events() -> None:
    """The RESET and text a restart's token releases are recorded where the driver
    delivered them, and a replay hands them over in the same order."""
    from l0.eventsourcing import EventReplayer, InMemoryEventStore
    from l0.eventsourcing.codec import event_to_dict

    store = InMemoryEventStore()
    restarted = ANSWER[:600] + "But then something else entirely."
    factory = ScriptedFactory(
        Script.tokens(ANSWER, size=7, fail_at=100), Script.tokens(restarted, size=5)
    )
    result = await l0.run(
        stream=factory, continue_from_last_good_token=True, retry=NO_DELAY, event_store=store
    )
    events = [event async for event in result]
    assert any(e.is_reset for e in events)
    (stream_id,) = await store.list_streams()
    replay = EventReplayer.replay_envelopes(await store.read(stream_id))
    assert [event_to_dict(e) for e in replay.events] == [event_to_dict(e) for e in events]
    assert replay.state.content == restarted == result.state.content
