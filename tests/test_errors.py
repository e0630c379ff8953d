"""Error classification: our codes, HTTP statuses, exception types, then message patterns."""

from __future__ import annotations

import builtins
import json
import socket
import ssl

import pytest

import l0
from l0.errors import (
    NetworkErrorType,
    categorize_error,
    network_error_type,
    retry_after_of,
)
from l0.types import ErrorCategory


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Connection reset by peer", NetworkErrorType.ECONNRESET),
        ("connection was refused", NetworkErrorType.ECONNREFUSED),
        ("connection timeout while reading", NetworkErrorType.TIMEOUT),
        ("request timed out", NetworkErrorType.TIMEOUT),
        ("operation timeout", NetworkErrorType.TIMEOUT),
        ("DNS lookup failed", NetworkErrorType.DNS_ERROR),
        ("temporary failure in name resolution", NetworkErrorType.DNS_ERROR),
        ("socket error 104", NetworkErrorType.CONNECTION_DROPPED),
        ("SSL handshake error", NetworkErrorType.SSL_ERROR),
        ("EOF occurred in violation of protocol", NetworkErrorType.CONNECTION_DROPPED),
        ("broken pipe", NetworkErrorType.CONNECTION_DROPPED),
        ("network is unreachable", NetworkErrorType.FETCH_ERROR),
        ("no route: host unreachable", NetworkErrorType.FETCH_ERROR),
    ],
)
def test_the_network_patterns_table(message: str, kind: NetworkErrorType) -> None:
    """Every pattern of the reference's table marks a plain exception as a network error."""
    error = RuntimeError(message)
    assert network_error_type(error) is kind
    assert categorize_error(error) is ErrorCategory.NETWORK


def test_types_are_recognised_before_messages() -> None:
    """Builtin connection errors, SSL, DNS, malformed JSON and HTTP client errors by type."""
    assert network_error_type(ConnectionResetError()) is NetworkErrorType.ECONNRESET
    assert network_error_type(ssl.SSLError()) is NetworkErrorType.SSL_ERROR
    assert network_error_type(socket.gaierror()) is NetworkErrorType.DNS_ERROR
    assert network_error_type(json.JSONDecodeError("x", "{", 0)) is NetworkErrorType.PARTIAL_CHUNKS

    class RemoteProtocolError(Exception):
        """Named like httpx's, which l0 never imports to recognise."""

    assert (
        network_error_type(RemoteProtocolError("peer closed"))
        is NetworkErrorType.CONNECTION_DROPPED
    )


def test_a_network_cause_makes_a_wrapper_a_network_error() -> None:
    """An SDK error raised `from` a dropped connection is classified by its cause."""

    class APIError(Exception):
        pass

    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise APIError("request failed") from inner
    except APIError as outer:
        assert categorize_error(outer) is ErrorCategory.NETWORK


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (429, ErrorCategory.TRANSIENT),
        (500, ErrorCategory.TRANSIENT),
        (503, ErrorCategory.TRANSIENT),
        (599, ErrorCategory.TRANSIENT),
        (401, ErrorCategory.FATAL),
        (403, ErrorCategory.FATAL),
        (400, ErrorCategory.PROVIDER),
        (404, ErrorCategory.PROVIDER),
    ],
)
def test_status_codes(status: int, category: ErrorCategory) -> None:
    """The HTTP status table: 429 and 5xx transient, 401/403 fatal, other 4xx provider."""

    class HTTPError(Exception):
        pass

    error = HTTPError("connection reset")  # a status wins over any message pattern
    error.status_code = status  # type: ignore[attr-defined]
    assert categorize_error(error) is category


def test_l0_timeout_error_is_also_the_builtin() -> None:
    """`except TimeoutError` (builtin) catches l0.TimeoutError too."""
    error = l0.TimeoutError("late", timeout_type="inter_token", timeout_seconds=2.0)
    assert isinstance(error, builtins.TimeoutError) and isinstance(error, l0.Error)
    assert error.code is l0.ErrorCode.INTER_TOKEN_TIMEOUT
    assert str(error) == "late"
    assert categorize_error(error) is ErrorCategory.NETWORK


def test_network_error_analysis() -> None:
    """NetworkError.check/analyze say what failed and whether retrying helps."""
    assert l0.NetworkError.check(ConnectionResetError())
    assert not l0.NetworkError.check(ValueError("nope"))
    analysis = l0.NetworkError.analyze(ssl.SSLError("certificate verify failed"))
    assert analysis.type is NetworkErrorType.SSL_ERROR
    assert analysis.retryable is False
    assert analysis.counts_toward_limit is False
    assert "certificate" in analysis.suggestion.lower() or "TLS" in analysis.suggestion


def test_retry_after_headers() -> None:
    """retry-after-ms wins over retry-after; numbers only."""

    class Response:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    class RateLimited(Exception):
        status_code = 429

    error = RateLimited()
    error.response = Response({"retry-after": "2", "retry-after-ms": "1500"})  # type: ignore[attr-defined]
    assert retry_after_of(error) == 1.5
    error.response = Response({"retry-after": "4"})  # type: ignore[attr-defined]
    assert retry_after_of(error) == 4.0
    error.response = Response({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})  # type: ignore[attr-defined]
    assert retry_after_of(error) is None


def test_error_to_dict_and_context() -> None:
    """An l0.Error describes itself as plain data."""
    error = l0.Error("boom", code=l0.ErrorCode.ZERO_OUTPUT, context=l0.ErrorContext(token_count=3))
    assert error.to_dict()["code"] == "ZERO_OUTPUT"
    assert error.to_dict()["category"] == "transient"
    assert error.context.token_count == 3
    assert not error.has_checkpoint
