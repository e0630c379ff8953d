"""SerializedError: any exception as data and back, classified exactly as the original."""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import pytest

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


def test_recordings_write_nested_exceptions_as_serialized_errors() -> None:
    """`redact_record` (what the recorder, codec and snapshots use) turns an exception
    anywhere in a value into the `SerializedError` dict that replay rebuilds."""
    from l0.eventsourcing.errors import redact_record

    error = l0.Error("stopped api_key=abcdef123456", code=ErrorCode.STREAM_ABORTED)
    plain = redact_record({"context": {"why": [error]}})
    (written,) = plain["context"]["why"]
    assert written == SerializedError.from_exception(error).to_dict()
    assert "abcdef123456" not in json.dumps(plain)
    rebuilt = SerializedError(**{**written, "cause": None}).rebuild()
    assert isinstance(rebuilt, l0.Error) and rebuilt.code is ErrorCode.STREAM_ABORTED
