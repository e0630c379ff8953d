"""SerializedError: any exception as data and back, classified exactly as the original."""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
from typing import Any

import pytest
from hypothesis import given, strategies as st

import l0
from l0.errors import ErrorCode, NetworkErrorType
from l0.eventsourcing import SerializedError
from l0.runtime import policy


class APIConnectionError(Exception):
    """Named like the OpenAI SDK's: l0 recognises it by name."""


class ReadError(Exception):
    """Named like httpx's."""


class RateLimitError(Exception):
    def __init__(self, message: str, status_code: int, retry_after: float) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class _Response:
    status_code = 503

    def __init__(self) -> None:
        self.headers = {"retry-after-ms": "1500"}


class ServerError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.response = _Response()


def chained() -> BaseException:
    try:
        raise ReadError("peer closed connection")
    except ReadError as inner:
        outer = APIConnectionError("Connection error.")
        outer.__cause__ = inner
        return outer


def json_error() -> BaseException:
    try:
        json.loads("{broken")
    except json.JSONDecodeError as exc:
        return exc
    raise AssertionError("unreachable")


ERRORS: dict[str, Any] = {
    "reset": lambda: ConnectionResetError("connection reset by peer"),
    "oserror": lambda: ConnectionRefusedError(111, "Connection refused"),
    "dns": lambda: socket.gaierror(-2, "Name or service not known"),
    "ssl": lambda: ssl.SSLError("certificate verify failed"),
    "json": json_error,
    "keyerror": lambda: KeyError("missing"),
    "typeerror": lambda: TypeError("bad call"),
    "by name": lambda: APIConnectionError("Connection error."),
    "chained": chained,
    "429": lambda: RateLimitError("slow down", 429, 2.5),
    "503 headers": lambda: ServerError("unavailable"),
    "message only": lambda: RuntimeError("socket error while reading"),
    "model": lambda: ValueError("the model refused"),
    "empty": lambda: RuntimeError(),
    "l0 timeout": lambda: l0.TimeoutError(
        "silent", timeout_type="inter_token", timeout_seconds=2.0
    ),
    "l0 network": lambda: l0.NetworkError("dropped", network_type=NetworkErrorType.SSE_ABORTED),
    "l0 violation": lambda: l0.Error(
        "Guardrail violation: x",
        code=ErrorCode.GUARDRAIL_VIOLATION,
        violations=[l0.GuardrailViolation(rule="x", message="bad", severity="error")],
    ),
    "l0 category": lambda: l0.Error(
        "provider said no",
        code=ErrorCode.PROVIDER_ERROR,
        category=l0.ErrorCategory.FATAL,
        status_code=403,
    ),
}


def classification(error: BaseException) -> tuple[Any, ...]:
    failure = policy.classify(error)
    return (
        failure.category,
        failure.failure_type,
        failure.retry_type,
        failure.counts_toward_attempts,
        failure.retryable,
        failure.fallback_ok,
        failure.reason,
        failure.network_type,
        failure.retry_after,
        failure.prefer_fallback,
        l0.errors.status_code_of(error),
    )


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_a_rebuilt_error_is_classified_and_printed_like_the_original(name: str) -> None:
    """Category, failure type, reason, network type, retry-after and message survive."""
    original = ERRORS[name]()
    serialized = SerializedError.from_exception(original)
    through_json = SerializedError.from_dict(json.loads(json.dumps(serialized.to_dict())))
    assert through_json == serialized
    rebuilt = through_json.rebuild()
    assert classification(rebuilt) == classification(original)
    assert str(rebuilt) == str(original)
    assert type(rebuilt).__name__ == type(original).__name__
    assert SerializedError.from_exception(rebuilt) == serialized


def test_l0_errors_come_back_as_their_own_class_with_their_details() -> None:
    """An l0.TimeoutError is rebuilt as an l0.TimeoutError with its code and timings."""
    rebuilt = SerializedError.from_exception(ERRORS["l0 timeout"]()).rebuild()
    assert isinstance(rebuilt, l0.TimeoutError)
    assert (rebuilt.code, rebuilt.timeout_type, rebuilt.timeout_seconds) == (
        ErrorCode.INTER_TOKEN_TIMEOUT,
        "inter_token",
        2.0,
    )
    violation = SerializedError.from_exception(ERRORS["l0 violation"]()).rebuild()
    assert isinstance(violation, l0.Error)
    assert [v.rule for v in violation.violations] == ["x"]


def test_a_foreign_error_keeps_its_standard_library_base() -> None:
    """A rebuilt ConnectionResetError is still a ConnectionResetError."""
    rebuilt = SerializedError.from_exception(ConnectionResetError("reset")).rebuild()
    assert isinstance(rebuilt, ConnectionResetError)
    assert type(rebuilt).__module__ == "builtins"


def test_credentials_in_messages_are_scrubbed() -> None:
    """A bearer token or API key in an error message never reaches the serialized form."""
    error = RuntimeError(
        "401 for https://api.example/v1?api_key=abc123secret with Authorization: Bearer "
        "sk-proj-abcdefghijklmnopqrstuvwx"
    )
    text = json.dumps(SerializedError.from_exception(error).to_dict())
    assert "abc123secret" not in text and "abcdefghijklmnop" not in text
    assert "[REDACTED]" in text


# -- every exception the real SDKs raise ----------------------------------------------------------


def _sdk_exceptions() -> list[BaseException]:
    """An instance of every exception class openai and litellm define, built through its
    own constructor with a real httpx request/response (429 with Retry-After)."""
    import inspect

    import httpx
    import litellm.exceptions
    import openai

    request = httpx.Request("POST", "https://api.example.invalid/v1/chat/completions")
    values: dict[str, Any] = {
        "message": "upstream said no (key sk-test-abc)",
        "model": "gpt-x",
        "llm_provider": "openai",
        "status_code": 429,
        "request": request,
        "response": httpx.Response(429, headers={"retry-after": "3"}, request=request),
        "body": {"error": {"message": "slow down", "type": "rate_limit", "code": None}},
        "original_exception": ConnectionResetError("reset"),
        "entity_type": "email",
        "current_cost": 2.0,
        "max_budget": 1.0,
        "raw_response": "{}",
        "schema": "{}",
        "request_data": {"model": "gpt-x"},
        "route_to_model": "gpt-y",
        "session_id": "s1",
        "failures": [],
    }
    made: list[BaseException] = []
    for module in (openai, litellm.exceptions):
        for name in dir(module):
            kind = getattr(module, name)
            if not (inspect.isclass(kind) and issubclass(kind, BaseException)):
                continue
            if not kind.__module__.startswith(("openai", "litellm")):
                continue
            parameters = inspect.signature(kind.__init__).parameters
            arguments = {
                key: values[key]
                for key, parameter in parameters.items()
                if key in values and parameter.kind is not parameter.VAR_KEYWORD
            }
            try:
                made.append(kind(**arguments))
            except (TypeError, AttributeError):
                continue  # a constructor asking for something this table has not
    return made


SDK_EXCEPTIONS = _sdk_exceptions()
SDK_IDS = [f"{type(e).__module__}.{type(e).__name__}" for e in SDK_EXCEPTIONS]


def test_the_sdk_exception_table_is_broad() -> None:
    """Most of both SDKs' exception classes were built (a guard on the table above)."""
    assert len(SDK_EXCEPTIONS) >= 40, [type(e).__name__ for e in SDK_EXCEPTIONS]


@pytest.mark.parametrize(
    "error",
    SDK_EXCEPTIONS,
    ids=[f"{type(e).__module__}.{type(e).__name__}" for e in SDK_EXCEPTIONS],
)
def test_every_sdk_exception_replays_identically(error: BaseException) -> None:
    """Serialized, rebuilt and serialized again: the same record (so a replay emits the
    same lifecycle events), classified the same, printed the same, no key in it."""
    first = SerializedError.from_exception(error)
    rebuilt = first.rebuild()
    again = SerializedError.from_exception(rebuilt)
    assert again.to_dict() == first.to_dict()
    assert json.loads(json.dumps(first.to_dict())) == first.to_dict()
    replayed, live = policy.classify(rebuilt), policy.classify(error)
    assert dataclasses.replace(replayed, error=None) == dataclasses.replace(live, error=None)
    assert str(rebuilt) == first.message
    assert "sk-test-abc" not in json.dumps(first.to_dict())


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_argument = _plain | st.builds(ValueError, st.text()) | st.builds(object) | st.binary()


@given(st.lists(_argument, max_size=4), st.sampled_from([OSError, ValueError, RuntimeError]))
def test_any_arguments_serialize_to_a_fixed_point(args: list[Any], base: type) -> None:
    """Whatever an exception's arguments are (objects, exceptions, bytes, nested data),
    its record survives a rebuild unchanged."""
    kind = type("ProviderError", (base,), {"__module__": "someprovider"})
    error = kind(*args)
    first = SerializedError.from_exception(error)
    assert SerializedError.from_exception(first.rebuild()).to_dict() == first.to_dict()
