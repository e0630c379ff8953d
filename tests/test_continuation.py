"""Checkpoint continuation: overlap detection, de-duplication and the streaming matcher."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import assume, example, given, settings, strategies as st

import l0
from l0 import Continuation, ContinuationConfig, DeduplicationOptions, OverlapResult
from l0.continuation import OverlapMatcher, deduplicate, detect_overlap

# -- the reference's examples, verbatim -------------------------------------------------------


def test_reference_detect_overlap_full_result() -> None:
    result = Continuation.detect_overlap("Hello world", "world is great")
    assert result == OverlapResult(
        has_overlap=True, overlap_length=5, overlap_text="world", deduplicated=" is great"
    )


def test_reference_deduplicate_returns_only_the_new_text() -> None:
    text = Continuation.deduplicate("Hello world", "world is great")
    assert text == " is great"


def test_reference_detect_overlap_with_options() -> None:
    options = DeduplicationOptions(case_sensitive=False, min_overlap=3)
    result = Continuation.detect_overlap("Hello World", "world test", options)
    assert result.has_overlap
    assert result.overlap_text == "world"
    assert result.deduplicated == " test"


def test_reference_how_it_works_hello_world() -> None:
    # Checkpoint "Hello world", continuation "world is great" -> "Hello world is great".
    checkpoint = "Hello world"
    assert checkpoint + deduplicate(checkpoint, "world is great") == "Hello world is great"


def test_reference_case_insensitive_example() -> None:
    config = ContinuationConfig(
        enabled=True,
        deduplication_options=DeduplicationOptions(case_sensitive=False),
    )
    checkpoint = "Hello World"
    new = deduplicate(checkpoint, "world is great", config.deduplication_options)
    assert checkpoint + new == "Hello World is great"


def test_reference_multi_word_overlap_example() -> None:
    checkpoint = "The quick brown fox"
    assert checkpoint + deduplicate(checkpoint, "brown fox jumps over") == (
        "The quick brown fox jumps over"
    )


def test_reference_continuation_config_fields_and_defaults() -> None:
    config = ContinuationConfig(
        enabled=True,
        checkpoint_interval=5,
        deduplicate=True,
        deduplication_options=DeduplicationOptions(
            min_overlap=2,
            max_overlap=500,
            case_sensitive=True,
            normalize_whitespace=False,
        ),
        validate_checkpoint=True,
    )
    assert config == ContinuationConfig()
    assert DeduplicationOptions() == DeduplicationOptions(
        min_overlap=2, max_overlap=500, case_sensitive=True, normalize_whitespace=False
    )
    assert ContinuationConfig(deduplicate=False).deduplicate is False


def test_exported_from_l0() -> None:
    assert l0.Continuation is Continuation
    assert l0.ContinuationConfig is ContinuationConfig
    assert l0.DeduplicationOptions is DeduplicationOptions
    assert l0.OverlapResult is OverlapResult


# -- each option ------------------------------------------------------------------------------


def test_min_overlap_ignores_shorter_repeats() -> None:
    # "d" is a one-character repeat: below the default min_overlap of 2, it stays.
    assert detect_overlap("Good", "day").has_overlap is False
    options = DeduplicationOptions(min_overlap=1)
    assert deduplicate("Good", "day", options) == "ay"


def test_min_overlap_counts_exactly() -> None:
    options = DeduplicationOptions(min_overlap=3)
    assert deduplicate("abcxy", "xyz", options) == "xyz"  # "xy" is 2 < 3
    assert deduplicate("abcxyz", "xyz!", options) == "!"  # "xyz" is 3


def test_max_overlap_limits_the_search() -> None:
    checkpoint = "one two three four"
    continuation = "two three four five"
    assert deduplicate(checkpoint, continuation) == " five"
    # With max_overlap=5 the 14-character repeat is beyond reach; "four" alone is not a
    # prefix of the continuation, so nothing is removed.
    assert deduplicate(checkpoint, continuation, DeduplicationOptions(max_overlap=5)) == (
        continuation
    )
    # A repeat that fits within max_overlap is still found.
    assert deduplicate("one two", "two more", DeduplicationOptions(max_overlap=5)) == " more"


def test_case_sensitive_by_default() -> None:
    assert detect_overlap("Hello World", "world is great").has_overlap is False


def test_case_insensitive_keeps_the_continuations_own_text() -> None:
    options = DeduplicationOptions(case_sensitive=False)
    result = detect_overlap("I like CATS", "cats and dogs", options)
    assert result.overlap_text == "cats"
    assert result.deduplicated == " and dogs"


def test_case_insensitive_handles_final_sigma_and_expanding_lowercase() -> None:
    options = DeduplicationOptions(case_sensitive=False)
    # Greek final sigma: "ΟΔΟΣ" ends in ς when lower-cased alone, σ mid-word.
    assert deduplicate("ΣΤΗΝ ΟΔΟΣ", "οδοσ και", options) == " και"
    # "İ" lower-cases to two characters; it is kept as it is, positions stay right.
    assert deduplicate("xİstanbul", "İSTANBUL city", options) == " city"


def test_normalize_whitespace_matches_different_runs() -> None:
    options = DeduplicationOptions(normalize_whitespace=True)
    # The reference: "hello world" matches "hello   world".
    result = detect_overlap("say hello world", "hello   world and more", options)
    assert result.overlap_text == "hello   world"
    assert result.deduplicated == " and more"
    assert detect_overlap("say hello world", "hello   world and more").has_overlap is False


def test_normalize_whitespace_removes_a_trailing_run_whole() -> None:
    options = DeduplicationOptions(normalize_whitespace=True)
    result = detect_overlap("end of line\n", "line \n\t next", options)
    assert result.overlap_text == "line \n\t "
    assert result.deduplicated == "next"


def test_no_overlap_and_empty_inputs() -> None:
    assert detect_overlap("Hello", "world") == OverlapResult(False, 0, "", "world")
    assert detect_overlap("", "world") == OverlapResult(False, 0, "", "world")
    assert detect_overlap("Hello", "") == OverlapResult(False, 0, "", "")


def test_whole_continuation_can_be_a_repeat() -> None:
    assert detect_overlap("Hello world", "world") == OverlapResult(True, 5, "world", "")


def test_tie_breaking_prefers_the_longest_overlap() -> None:
    # "abab" and "ab" are both suffixes of the checkpoint that start the continuation. The
    # documented rule takes the longest, even though the model might have meant "ab".
    result = detect_overlap("xabab", "ababc")
    assert result.overlap_text == "abab"
    assert result.deduplicated == "c"
    assert deduplicate("xabab", "abc") == "c"  # only "ab" fits here


def test_overlap_is_a_suffix_of_the_checkpoint_not_any_substring() -> None:
    # "quick" occurs in the checkpoint, but not at its end: it is not an overlap.
    assert detect_overlap("The quick brown fox", "quick thinking").has_overlap is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_overlap": 0}, "min_overlap"),
        ({"min_overlap": 5, "max_overlap": 4}, "max_overlap"),
        ({"min_overlap": "2"}, "min_overlap must be an int"),
        ({"max_overlap": 2.5}, "max_overlap must be an int"),
    ],
)
def test_bad_deduplication_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(l0.Error, match=message) as caught:
        DeduplicationOptions(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("interval", [0, -1, 1.5, True])
def test_bad_checkpoint_interval_is_rejected(interval: object) -> None:
    with pytest.raises(l0.Error, match="checkpoint_interval") as caught:
        ContinuationConfig(checkpoint_interval=interval)  # type: ignore[arg-type]
    assert caught.value.code is l0.ErrorCode.INVALID_ARGUMENT


def test_bad_deduplication_options_type_is_rejected() -> None:
    with pytest.raises(l0.Error, match="deduplication_options"):
        ContinuationConfig(deduplication_options={"min_overlap": 2})  # type: ignore[arg-type]


def test_from_option_normalizes_the_run_argument() -> None:
    assert ContinuationConfig.from_option(None) is None
    assert ContinuationConfig.from_option(False) is None
    assert ContinuationConfig.from_option(True) == ContinuationConfig()
    custom = ContinuationConfig(checkpoint_interval=3)
    assert ContinuationConfig.from_option(custom) is custom
    assert ContinuationConfig.from_option(ContinuationConfig(enabled=False)) is None
    with pytest.raises(l0.Error, match="continue_from_last_good_token"):
        ContinuationConfig.from_option("yes")  # type: ignore[arg-type]


# -- the streaming matcher --------------------------------------------------------------------


def play(matcher: OverlapMatcher, tokens: list[str]) -> str:
    """What a consumer sees: nothing until the verdict, then its text, then each token."""
    return resume(matcher, "", tokens)


def resume(matcher: OverlapMatcher, kept: str, tokens: list[str]) -> str:
    """The text a consumer holding `kept` (the checkpoint) ends with: a restart that differs
    from the checkpoint takes it back to `rewind_to` characters first."""
    out: list[str] = []
    for token in tokens:
        verdict = matcher.feed(token)
        if verdict is not None:
            out.append(verdict.deduplicated)
    if not matcher.decided:
        out.append(matcher.finish().deduplicated)
    if matcher.rewind_to is not None:
        kept = kept[: matcher.rewind_to]
    return kept + "".join(out)


def test_matcher_buffers_an_overlap_spanning_many_tokens() -> None:
    checkpoint = "The quick brown fox"
    matcher = OverlapMatcher(checkpoint)
    assert matcher.feed("bro") is None
    assert matcher.feed("wn") is None
    assert matcher.feed(" f") is None
    verdict = matcher.feed("ox")
    assert verdict == OverlapResult(True, 9, "brown fox", "")
    assert matcher.decided
    # From now on tokens are new text, passed through unchanged.
    assert matcher.feed(" jumps") == OverlapResult(False, 0, "", " jumps")


def test_matcher_decides_as_soon_as_the_overlap_cannot_grow() -> None:
    matcher = OverlapMatcher("Hello world")
    assert matcher.feed("wor") is None  # could still become "world"
    verdict = matcher.feed("k")  # "work": the only possible overlap is gone
    assert verdict == OverlapResult(False, 0, "", "work")


def test_matcher_releases_new_text_with_the_verdict() -> None:
    matcher = OverlapMatcher("Hello world")
    assert matcher.feed("wor") is None
    verdict = matcher.feed("ld is great")
    assert verdict is not None
    assert verdict.overlap_text == "world"
    assert verdict.deduplicated == " is great"


def test_matcher_finish_decides_a_stream_that_ended_early() -> None:
    matcher = OverlapMatcher("go go")
    assert matcher.feed("go") is None  # could still grow into "go go"
    assert matcher.finish() == OverlapResult(True, 2, "go", "")

def test_matcher_finish_is_idempotent_and_handles_no_input() -> None:
    matcher = OverlapMatcher("Hello world")
    first = matcher.finish()
    assert first == OverlapResult(False, 0, "", "")
    assert matcher.finish() is first


def test_matcher_with_empty_checkpoint_passes_everything() -> None:
    matcher = OverlapMatcher("")
    assert matcher.feed("anything") == OverlapResult(False, 0, "", "anything")


def test_matcher_waits_for_the_end_of_a_whitespace_run() -> None:
    options = DeduplicationOptions(normalize_whitespace=True)
    matcher = OverlapMatcher("Hello world ", options)
    assert matcher.feed("world ") is None  # the run may go on
    assert matcher.feed("  ") is None
    verdict = matcher.feed("is")
    assert verdict is not None
    assert verdict.overlap_text == "world   "
    assert verdict.deduplicated == "is"


def test_matcher_removes_a_restart_longer_than_the_window() -> None:
    """Issue 13.2: the whole kept text again, longer than max_overlap: removed, no rewind."""
    kept = "Alpha beta gamma delta epsilon."
    matcher = OverlapMatcher(kept, DeduplicationOptions(max_overlap=8))
    assert matcher.feed("Alpha beta ") is None  # repeats the start: held, compared in place
    verdict = matcher.feed("gamma delta epsilon. Zeta")
    assert verdict == OverlapResult(True, len(kept), kept, " Zeta")
    assert matcher.rewind_to is None


def test_matcher_rewinds_to_where_a_restart_differs() -> None:
    options = DeduplicationOptions(max_overlap=8, normalize_whitespace=True)
    matcher = OverlapMatcher("Alpha  beta gamma delta", options)
    assert matcher.feed("Alpha beta ") is None
    verdict = matcher.feed("omega")
    assert verdict == OverlapResult(True, 11, "Alpha beta ", "omega")
    assert matcher.rewind_to == 12  # "Alpha  beta " in the kept text's own spacing


def test_matcher_leaves_a_short_repeat_of_the_start_to_the_overlap_rule() -> None:
    """A continuation that begins like the kept text for fewer than max_overlap characters
    (a new sentence with the same first word) is not a restart."""
    matcher = OverlapMatcher("The cat sat down. ", DeduplicationOptions(max_overlap=8))
    assert matcher.feed("The ") is None
    assert matcher.feed("dog ran.") == OverlapResult(False, 0, "", "The dog ran.")
    assert matcher.rewind_to is None


def test_matcher_uses_the_options() -> None:
    options = DeduplicationOptions(case_sensitive=False)
    assert play(OverlapMatcher("Hello World", options), ["wo", "RLD", " is great"]) == (
        " is great"
    )


# -- properties: checkpoint + de-duplicated continuation == the original text ------------------
#
# A generated case is: a text, a cut point (the checkpoint is text[:cut]), and an overlap k:
# the model repeats the checkpoint's last k characters (possibly with other case or other
# whitespace runs, under the matching options) before going on with text[cut:]. The rule
# "longest suffix of the checkpoint that prefixes the continuation" recovers the text only
# when the answer is determined: the intended repeat must be the *longest* match (a
# self-overlapping text such as checkpoint "xabab" + "ababc" is ambiguous) and at least
# min_overlap long (a shorter repeat is kept, by design). An independent brute-force oracle
# below decides that, and such cases are set aside with `assume`; the tie-breaking and the
# min_overlap cases have their own tests above.

_WS_RUN = re.compile(r"\s+")
OPTIONS = st.builds(
    DeduplicationOptions,
    min_overlap=st.integers(1, 4),
    max_overlap=st.integers(8, 40),
    case_sensitive=st.booleans(),
    normalize_whitespace=st.booleans(),
)
TEXT = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP0123456789 .,\n\t"),
    min_size=1,
    max_size=80,
)
LONG_TEXT = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP0123456789 .,\n\t"),
    min_size=8,
    max_size=80,
)


def naive_prepare(text: str, options: DeduplicationOptions) -> str:
    """Character by character, nothing clever: the oracle's view of the matching rules."""
    out: list[str] = []
    in_run = False
    for ch in text:
        if options.normalize_whitespace and ch.isspace():
            if not in_run:
                out.append(" ")
            in_run = True
            continue
        in_run = False
        out.append(ch.lower() if not options.case_sensitive else ch)
    return "".join(out)


def naive_overlaps(checkpoint: str, continuation: str, options: DeduplicationOptions) -> list[int]:
    tail = naive_prepare(checkpoint, options)[-options.max_overlap :]
    head = naive_prepare(continuation, options)
    top = min(len(tail), len(head))
    return [k for k in range(options.min_overlap, top + 1) if tail[len(tail) - k :] == head[:k]]


def variant(repeat: str, options: DeduplicationOptions, data: st.DataObject) -> str:
    """The repeat as the model might write it: other case, other whitespace runs."""
    if not options.case_sensitive and data.draw(st.booleans(), label="swapcase"):
        repeat = repeat.swapcase()
    if options.normalize_whitespace:
        runs = st.text(alphabet=" \t\n", min_size=1, max_size=3)
        repeat = _WS_RUN.sub(lambda _: data.draw(runs, label="run"), repeat)
    return repeat


@st.composite
def tokenizations(draw: st.DrawFn, text: str) -> list[str]:
    """`text` split into tokens at arbitrary points."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@st.composite
def resumed(draw: st.DrawFn) -> tuple[str, int, str, DeduplicationOptions]:
    options = draw(OPTIONS, label="options")
    text = draw(LONG_TEXT, label="text")
    cut = draw(st.integers(1, len(text)), label="cut")
    repeats = cut >= options.min_overlap and draw(st.integers(0, 3), label="repeats") > 0
    overlap = draw(st.integers(options.min_overlap, cut), label="k") if repeats else 0
    checkpoint = text[:cut]
    repeat = variant(checkpoint[cut - overlap :], options, draw(st.data()))
    continuation = repeat + text[cut:]
    # Determined: the intended repeat is exactly the longest match (or there is none).
    matches = naive_overlaps(checkpoint, continuation, options)
    intended = len(naive_prepare(repeat, options)) if overlap else 0
    assume(max(matches, default=0) == intended)
    assume(intended <= options.max_overlap)
    if options.normalize_whitespace and overlap and cut < len(text):
        # A cut inside a whitespace run: the repeat's last run and text[cut:]'s first run
        # are one run to the matcher, which then removes both (only whitespace differs).
        assume(not (text[cut - 1].isspace() and text[cut].isspace()))
    return text, cut, continuation, options


@settings(max_examples=150, deadline=None)
@given(resumed())
@example(("The quick brown fox jumps", 19, "brown fox jumps", DeduplicationOptions()))
def test_checkpoint_plus_deduplicated_continuation_is_the_text(
    case: tuple[str, int, str, DeduplicationOptions],
) -> None:
    text, cut, continuation, options = case
    assert text[:cut] + deduplicate(text[:cut], continuation, options) == text


@settings(max_examples=150, deadline=None)
@given(resumed(), st.data())
def test_matcher_over_any_tokenization_gives_the_same_text(
    case: tuple[str, int, str, DeduplicationOptions], data: st.DataObject
) -> None:
    text, cut, continuation, options = case
    tokens = data.draw(tokenizations(continuation), label="tokens")
    assert text[:cut] + play(OverlapMatcher(text[:cut], options), tokens) == text


def naive_original_length(text: str, prepared: int, options: DeduplicationOptions) -> int:
    """The shortest prefix of `text` that prepares to `prepared` characters, with a
    whitespace run it ends in taken whole (the oracle's view)."""
    end = 0
    while len(naive_prepare(text[:end], options)) < prepared:
        end += 1
    if options.normalize_whitespace and end and text[end - 1].isspace():
        while end < len(text) and text[end].isspace():
            end += 1
    return end


def naive_resume(checkpoint: str, continuation: str, options: DeduplicationOptions) -> str:
    """The reference model of a resumed stream: the text a consumer ends with.

    A continuation that repeats the checkpoint from its beginning for at least
    max(min_overlap, min(len(checkpoint), max_overlap)) prepared characters restarted the
    answer: the repeat is dropped, and where the restart differs from the checkpoint (or
    ends before it) the restarted answer replaces the kept text. Otherwise the longest
    overlap rule (`deduplicate`) applies."""
    head = naive_prepare(checkpoint, options)
    body = naive_prepare(continuation, options)
    repeated = 0
    while repeated < min(len(head), len(body)) and head[repeated] == body[repeated]:
        repeated += 1
    if head and repeated >= max(options.min_overlap, min(len(head), options.max_overlap)):
        new_text = continuation[naive_original_length(continuation, repeated, options) :]
        if repeated == len(head):
            return checkpoint + new_text
        return checkpoint[: naive_original_length(checkpoint, repeated, options)] + new_text
    return checkpoint + deduplicate(checkpoint, continuation, options)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT, st.integers(0, 80), OPTIONS, st.data())
def test_matcher_agrees_with_the_resume_model_on_any_input(
    checkpoint: str,
    other: str,
    restart: int,
    options: DeduplicationOptions,
    data: st.DataObject,
) -> None:
    """Whatever the input (ambiguous or not; any text, or a restart that repeats the
    checkpoint's first characters and then differs or ends), the streaming matcher ends
    with the text of the reference model: `detect_overlap`'s rule, or a restart's."""
    continuation = data.draw(st.sampled_from([other, checkpoint[:restart] + other]))
    tokens = data.draw(tokenizations(continuation), label="tokens")
    streamed = resume(OverlapMatcher(checkpoint, options), checkpoint, tokens)
    assert streamed == naive_resume(checkpoint, continuation, options)


@settings(max_examples=150, deadline=None)
@given(LONG_TEXT, st.integers(0, 80), TEXT, OPTIONS, st.data())
def test_a_restarted_answer_of_any_length_is_delivered_once(
    answer: str, cut: int, ending: str, options: DeduplicationOptions, data: st.DataObject
) -> None:
    """Issue 13.2: the provider starts over and repeats the checkpoint whole, however long
    (beyond `max_overlap` too), then goes on: the consumer ends with the answer once."""
    cut = max(options.min_overlap, min(cut, len(answer)))
    assume(cut <= len(answer))
    checkpoint = answer[:cut]
    assume(len(naive_prepare(checkpoint, options)) >= options.min_overlap)
    full = answer + ending
    if options.normalize_whitespace and cut < len(full):
        # A cut inside a whitespace run: to the matcher the run goes on (as in `resumed`).
        assume(not (full[cut - 1].isspace() and full[cut].isspace()))
    tokens = data.draw(tokenizations(full), label="tokens")
    assert resume(OverlapMatcher(checkpoint, options), checkpoint, tokens) == full


@settings(max_examples=150, deadline=None)
@given(TEXT, TEXT, OPTIONS)
def test_detect_overlap_matches_the_brute_force_oracle(
    checkpoint: str, continuation: str, options: DeduplicationOptions
) -> None:
    result = detect_overlap(checkpoint, continuation, options)
    matches = naive_overlaps(checkpoint, continuation, options)
    assert result.has_overlap == bool(matches)
    assert result.overlap_text + result.deduplicated == continuation
    if matches:
        assert len(naive_prepare(result.overlap_text, options)) == max(matches)
        # The removed text ends where the match ends: no partial whitespace run is left.
        assert not (result.deduplicated[:1].isspace() and result.overlap_text[-1:].isspace()
                    and options.normalize_whitespace)


# -- through l0.run: the reference's checkpoint resumption and state fields --------------------

NO_DELAY = l0.Retry(attempts=3, calculate_delay=lambda context: 0.0)


async def run_resumed(
    first: list[str], second: list[str], option: bool | ContinuationConfig
) -> tuple[str, l0.State]:
    from l0.testing.scripted import Script, ScriptedFactory

    factory = ScriptedFactory(Script(chunks=first, fail_at=len(first)), Script(chunks=second))
    stream = await l0.run(stream=factory, continue_from_last_good_token=option, retry=NO_DELAY)
    text = await stream.read()
    return text, stream.state


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_run_resumes_after_hello_wor_and_removes_the_repeat() -> None:
    """The reference: fails after "Hello wor"; checkpoint "Hello wor"; the retry's repeat of
    "wor" is removed; the state fields say so."""
    text, state = await run_resumed(["Hel", "lo", " wor"], ["wor", "ld is great"], True)
    assert text == "Hello world is great"
    assert state.resumed is True
    assert state.checkpoint == "Hello wor"
    assert state.continuation_used is True
    assert state.deduplication_applied is True
    assert state.overlap_removed == "wor"


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_run_with_deduplicate_false_keeps_the_repeat() -> None:
    config = ContinuationConfig(enabled=True, checkpoint_interval=5, deduplicate=False)
    text, state = await run_resumed(["Hello", " world"], ["world", " is great"], config)
    assert text == "Hello worldworld is great"
    assert state.deduplication_applied is False


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_run_case_insensitive_config_example() -> None:
    config = ContinuationConfig(
        enabled=True,
        deduplication_options=DeduplicationOptions(case_sensitive=False),
    )
    text, state = await run_resumed(["Hello", " World"], ["wor", "ld", " is great"], config)
    assert text == "Hello World is great"
    assert state.overlap_removed == "world"


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_run_multi_word_overlap_over_many_tokens() -> None:
    text, state = await run_resumed(
        ["The", " quick", " brown", " fox"], ["b", "ro", "wn", " f", "o", "x", " jumps", " over"],
        True,
    )
    assert text == "The quick brown fox jumps over"
    assert state.overlap_removed == "brown fox"


# On trio, the openai SDK leaves its inner async generators unexhausted when a stream ends
# (or drops); trio warns when they are collected. The SDK's behaviour, not ours.
@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Async generator '(openai|httpx|httpcore):ResourceWarning")
async def test_run_with_an_openai_client_and_a_continuation_config() -> None:
    """The reference's `l0.run(stream=lambda: client.chat.completions.create(..., stream=True),
    continue_from_last_good_token=config)`, against a local OpenAI-compatible server whose
    first answer drops mid-stream."""
    from openai import AsyncOpenAI

    from l0.testing import FaultServer, Reply

    config = ContinuationConfig(
        enabled=True,
        checkpoint_interval=5,
        deduplication_options=DeduplicationOptions(
            min_overlap=2, max_overlap=500, case_sensitive=True, normalize_whitespace=False
        ),
    )
    with FaultServer() as server:
        server.script("gpt-4o", [
            Reply(["Hello", " wor", "ld", ", the", " sky"], drop_after=5),
            Reply(["the", " sky", " is", " blue"]),
        ])
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        result = await l0.run(
            stream=lambda: client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
            ),
            continue_from_last_good_token=config,
            retry=NO_DELAY,
        )
        text = await result.read()
        await client.close()
    assert text == "Hello world, the sky is blue"
    assert result.state.overlap_removed == "the sky"
