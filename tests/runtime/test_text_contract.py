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
