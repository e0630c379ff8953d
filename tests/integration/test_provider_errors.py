"""What each real SDK exception means to l0: `policy.classify` on what the SDKs raise.

The exceptions come from the real openai SDK and LiteLLM talking to a FaultServer (with
their own retries off), so the table pins classification by type, status and provider code
to what the SDKs actually raise, including LiteLLM's statuses for network failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from l0.errors import FailureType, NetworkErrorType, categorize_error, provider_error_code
from l0.runtime.policy import Failure, classify
from l0.testing import ErrorReply, FaultServer, Reply, ResetConnection, Stall, Step
from l0.types import ErrorCategory
from tests.integration._support import USER, Provider

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Expected:
    category: ErrorCategory
    failure_type: FailureType
    retryable: bool
    fallback_ok: bool
    reason: str
    network_type: NetworkErrorType | None = None
    retry_after: float | None = None


def transient(reason: str = "server_error", retry_after: float | None = None) -> Expected:
    kind = FailureType.RATE_LIMIT if reason == "rate_limit" else FailureType.SERVER_ERROR
    return Expected(ErrorCategory.TRANSIENT, kind, True, True, reason, None, retry_after)


def network(kind: NetworkErrorType) -> Expected:
    failure = FailureType.TIMEOUT if kind is NetworkErrorType.TIMEOUT else FailureType.NETWORK
    return Expected(ErrorCategory.NETWORK, failure, True, True, kind.value, kind)


CASES: dict[str, tuple[Step, Expected]] = {
    "429 retry-after": (ErrorReply(429, retry_after=2), transient("rate_limit", 2.0)),
    "429 retry-after-ms": (ErrorReply(429, retry_after_ms=1500), transient("rate_limit", 1.5)),
    "500": (ErrorReply(500), transient()),
    "503": (ErrorReply(503), transient()),
    "401": (
        ErrorReply(401),
        Expected(ErrorCategory.FATAL, FailureType.FATAL, False, True, "invalid_api_key"),
    ),
    "403": (
        ErrorReply(403),
        Expected(
            ErrorCategory.FATAL,
            FailureType.FATAL,
            False,
            True,
            "unsupported_country_region_territory",
        ),
    ),
    "400 context_length_exceeded": (
        ErrorReply(400, code="context_length_exceeded"),
        Expected(ErrorCategory.PROVIDER, FailureType.MODEL, False, True, "context_length_exceeded"),
    ),
    "400 content_policy_violation": (
        ErrorReply(400, code="content_policy_violation"),
        Expected(
            ErrorCategory.PROVIDER, FailureType.MODEL, False, False, "content_policy_violation"
        ),
    ),
    "reset before headers": (ResetConnection(), network(NetworkErrorType.CONNECTION_DROPPED)),
    "stall past the SDK timeout": (
        Reply(["a"], stall=Stall(10.0, before_headers=True)),
        network(NetworkErrorType.TIMEOUT),
    ),
    "drop mid-stream": (
        Reply(["a", "b", "c"], drop_after=1),
        network(NetworkErrorType.CONNECTION_DROPPED),
    ),
    "malformed chunk": (
        Reply(["a", "b"], malformed_after=1),
        network(NetworkErrorType.PARTIAL_CHUNKS),
    ),
    "stall among tokens past the SDK timeout": (
        Reply(["a", "b"], stall=Stall(10.0, after=1)),
        network(NetworkErrorType.TIMEOUT),
    ),
}


async def raised_by_the_sdk(provider: Provider, model: str) -> BaseException:
    """What the raw SDK raises (at create or while streaming), its own retries off."""
    request: dict[str, Any] = {"messages": USER, "stream": True, "timeout": 0.5}
    try:
        if provider.name == "openai":
            client = provider.sdk_client().with_options(max_retries=0)
            stream = await client.chat.completions.create(model=model, **request)
        else:
            import litellm

            stream = await litellm.acompletion(
                **provider.request(model, **request), num_retries=0
            )
        async for _chunk in stream:
            pass
    except Exception as error:
        return error
    raise AssertionError("the SDK raised nothing")


@pytest.mark.parametrize("case", list(CASES))
async def test_each_sdk_exception_is_classified_by_type_status_and_code(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str], case: str
) -> None:
    step, expected = CASES[case]
    model = new_model("classify")
    server.script(model, [step])
    error = await raised_by_the_sdk(provider, model)
    failure: Failure = classify(error)
    got = Expected(
        failure.category,
        failure.failure_type,
        failure.retryable,
        failure.fallback_ok,
        failure.reason,
        failure.network_type,
        failure.retry_after,
    )
    assert got == expected, (type(error), error)
    assert categorize_error(error) is expected.category
    assert not failure.counts_toward_attempts


async def test_a_prefill_rejection_carries_its_code(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    model = new_model("prefill")
    server.script(model, [Reply(["a"])], accept_prefill=False)
    prefill = [*USER, {"role": "assistant", "content": "Hel"}]
    try:
        if provider.name == "openai":
            client = provider.sdk_client().with_options(max_retries=0)
            await client.chat.completions.create(model=model, messages=prefill, stream=True)
        else:
            import litellm

            await litellm.acompletion(**provider.request(model, messages=prefill), num_retries=0)
    except Exception as error:
        assert provider_error_code(error) == "prefill_not_supported"
        assert getattr(error, "status_code", None) == 400
    else:
        raise AssertionError("the prefill was accepted")
