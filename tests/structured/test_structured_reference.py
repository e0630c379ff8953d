"""The reference's `structured` example, verbatim, with the real `openai.AsyncOpenAI` talking to
a local FaultServer, on asyncio and trio; then the same call when the model's answer needs
correcting, is cut short, drops mid-object, or comes as a tool call."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel, ValidationError
from typing_extensions import assert_type

import l0
from l0.jsonkit import CorrectionType
from l0.structured_output import (
    StructuredOutputError,
    StructuredPartial,
    StructuredResult,
    structured_stream,
)
from l0.testing import FaultServer, Reply, ToolCall

pytestmark = pytest.mark.anyio

ANSWER = '{"name": "Ada Lovelace", "age": 36, "email": "ada@example.com", "tags": ["math"]}'
QUICK = l0.Retry(base_delay=0.01, max_delay=0.05)  # real sockets: keep backoff short


class UserProfile(BaseModel):
    name: str
    age: int
    email: str
    tags: list[str] = []


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A server per test: the example's model name is always "gpt-4o"."""
    with FaultServer() as running:
        yield running


@pytest.fixture
async def client(server: FaultServer) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    yield sdk
    await sdk.close()


def chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def make_stream(client: openai.AsyncOpenAI) -> Any:
    return lambda: client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Generate user data as JSON"}],
        stream=True,
    )


async def test_reference_example_verbatim(
    server: FaultServer, client: openai.AsyncOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example as printed: type-safe access to a validated UserProfile."""
    server.script("gpt-4o", [Reply(chunks(ANSWER))])

    result = await l0.structured(
        schema=UserProfile,
        stream=lambda: client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Generate user data as JSON"}],
            stream=True,
        ),
        auto_correct=True,  # Fix common JSON errors
    )

    # Type-safe access
    print(result.data.name)    # str
    print(result.data.age)     # int
    print(result.data.email)   # str
    print(result.data.tags)    # list[str]

    assert capsys.readouterr().out == "Ada Lovelace\n36\nada@example.com\n['math']\n"
    assert_type(result.data, UserProfile)
    assert isinstance(result.data, UserProfile)
    assert result.raw == ANSWER and not result.corrected
    assert result.attempts == 1
    assert server.attempts("gpt-4o") == 1


async def test_the_example_corrects_a_fenced_answer_with_prose_and_a_trailing_comma(
    server: FaultServer, client: openai.AsyncOpenAI
) -> None:
    """auto_correct=True: the model's usual faults are repaired and reported, no retry."""
    answer = 'Sure! Here it is:\n```json\n{"name": "Ada", "age": 36, "email": "a@b.c",}\n```'
    server.script("gpt-4o", [Reply(chunks(answer))])
    seen: list[l0.AutoCorrectInfo] = []

    result = await l0.structured(
        schema=UserProfile,
        stream=make_stream(client),
        auto_correct=True,
        on_auto_correct=seen.append,
    )

    assert result.data == UserProfile(name="Ada", age=36, email="a@b.c")
    assert result.raw == answer
    assert result.json == '{"name": "Ada", "age": 36, "email": "a@b.c"}'
    assert set(result.corrections) == {
        CorrectionType.MARKDOWN_FENCE_REMOVED,
        CorrectionType.SURROUNDING_TEXT_REMOVED,
        CorrectionType.TRAILING_COMMA_REMOVED,
    }
    assert [info.attempt for info in seen] == [1]
    assert server.attempts("gpt-4o") == 1


async def test_an_answer_cut_short_by_the_length_limit_is_retried(
    server: FaultServer, client: openai.AsyncOpenAI
) -> None:
    """A stream that ends cleanly mid-object (finish_reason "length") is never balanced into
    a smaller object: it is refused as truncated, and the retry's complete object wins."""
    server.script(
        "gpt-4o",
        [Reply(chunks(ANSWER[:40]), finish_reason="length"), Reply(chunks(ANSWER))],
    )
    failures: list[tuple[int, ValidationError]] = []

    result = await l0.structured(
        schema=UserProfile,
        stream=make_stream(client),
        retry=QUICK,
        on_validation_error=lambda error, attempt: failures.append((attempt, error)),
    )

    assert result.data == UserProfile.model_validate_json(ANSWER)
    assert result.attempts == 2
    assert [(attempt, [d["type"] for d in e.errors()]) for attempt, e in failures] == [
        (1, ["json_truncated"])
    ]
    assert result.failures[0].raw == ANSWER[:40]
    assert server.attempts("gpt-4o") == 2


async def test_a_connection_dropped_mid_object_is_retried(
    server: FaultServer, client: openai.AsyncOpenAI
) -> None:
    """The network drop is the runtime's to retry; the half object is discarded (RESET)."""
    server.script("gpt-4o", [Reply(chunks(ANSWER), drop_after=4), Reply(chunks(ANSWER))])

    result = await l0.structured(schema=UserProfile, stream=make_stream(client), retry=QUICK)

    assert result.data.tags == ["math"]
    assert result.raw == ANSWER
    assert result.telemetry.network_retries == 1
    assert result.telemetry.validation_attempts == 1  # the cut attempt never reached the check
    assert server.attempts("gpt-4o") == 2


async def test_an_answer_given_as_a_tool_call_is_read_from_its_arguments(
    server: FaultServer, client: openai.AsyncOpenAI
) -> None:
    """No text and one tool call: the call's arguments are the JSON, parsed exactly."""
    call = ToolCall("user_profile", ['{"name": "Ada", ', '"age": 36, "email": "a@b.c"}'])
    server.script("gpt-4o", [Reply(tool_calls=[call])])

    result = await l0.structured(schema=UserProfile, stream=make_stream(client))

    assert result.data == UserProfile(name="Ada", age=36, email="a@b.c")
    assert result.raw == ""
    assert result.json == '{"name": "Ada", "age": 36, "email": "a@b.c"}'


async def test_tool_call_arguments_cut_short_are_an_error_never_repaired(
    server: FaultServer, client: openai.AsyncOpenAI
) -> None:
    """Broken tool-call arguments would be repairable text, but a repaired call is refused."""
    call = ToolCall("user_profile", ['{"name": "Ada", "age": 36, "email": "a@b'])
    server.script("gpt-4o", [Reply(tool_calls=[call])] * 2)

    with pytest.raises(StructuredOutputError) as caught:
        await l0.structured(
            schema=UserProfile,
            stream=make_stream(client),
            retry=l0.Retry(attempts=1, base_delay=0.01),
        )

    kinds = [[issue.kind for issue in error.errors] for error in caught.value.validation_errors]
    assert kinds == [["json_truncated"], ["json_truncated"]]
    assert "never auto-corrected" in caught.value.validation_errors[0].errors[0].message
    assert server.attempts("gpt-4o") == 2


async def test_structured_stream_previews_the_sdk_stream_then_validates(
    server: FaultServer, client: openai.AsyncOpenAI
) -> None:
    """The same request read with structured_stream: previews grow, then the result."""
    server.script("gpt-4o", [Reply(chunks(ANSWER, 5))])

    stream = await structured_stream(schema=UserProfile, stream=make_stream(client))
    items = [item async for item in stream]

    *previews, final = items
    assert isinstance(final, StructuredResult)
    assert final.data == UserProfile.model_validate_json(ANSWER)
    fields = [list(p.value) for p in previews if isinstance(p, StructuredPartial)]
    assert fields[0] == [] and fields[-1] == ["name", "age", "email", "tags"]
    assert all(a == b[: len(a)] for a, b in itertools.pairwise(fields))
