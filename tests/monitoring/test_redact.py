"""Redaction: credentials never leave the process, whatever carries them."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum

import pytest

from l0.monitoring.redact import REDACTED, is_secret_key, redact, scrub, url_without_password


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "API-KEY",
        "apiKey".lower(),
        "Authorization",
        "authorization",
        "x-api-key",
        "X-Api-Key",
        "openai_api_key",
        "client_secret",
        "password",
        "Cookie",
        "proxy-authorization",
    ],
)
def test_credential_keys_are_recognised(key: str) -> None:
    """Names of credentials, in any case, with - or _."""
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["token_count", "initial_token", "first_token_at", "request_id", "model", "tokens"]
)
def test_ordinary_keys_are_left_alone(key: str) -> None:
    """Run data that merely mentions tokens is not a credential."""
    assert not is_secret_key(key)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("headers={'authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "dXNlcjpwYXNzd29yZA=="),
        ("GET /v1/models?api_key=hunter2hunter2&x=1", "hunter2hunter2"),
        ('{"x-api-key": "k-1234567890"}', "k-1234567890"),
        ("key sk-proj-ABCDEFGHIJKLMNOPQRSTUV was rejected", "ABCDEFGHIJKLMNOPQRSTUV"),
    ],
)
def test_credentials_inside_text_are_scrubbed(text: str, secret: str) -> None:
    """Bearer/basic values, key=value assignments and key-shaped tokens."""
    cleaned = scrub(text)
    assert secret not in cleaned and REDACTED in cleaned


class Color(Enum):
    RED = "red"


@dataclasses.dataclass
class Settings:
    api_key: str
    model: str


def test_redact_makes_plain_json_safe_data_at_any_depth() -> None:
    """Mappings, lists, dataclasses, enums, exceptions and bytes become JSON-safe and clean."""
    value = {
        "headers": {"Authorization": "Bearer abcdefghijkl", "Accept": "json"},
        "items": (1, 2.5, None, True, Color.RED),
        "settings": Settings(api_key="sk-abcdefghijklmnopqrstu", model="gpt"),
        "error": RuntimeError("failed with api_key=abcdef123456"),
        "blob": b"\x00\x01",
        "nested": [{"password": "p"}],
    }
    plain = redact(value)
    text = json.dumps(plain)
    assert "abcdefghijkl" not in text and "abcdef123456" not in text and '"p"' not in text
    assert plain["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert plain["items"] == [1, 2.5, None, True, "red"]
    assert plain["settings"] == {"api_key": REDACTED, "model": "gpt"}
    assert plain["error"]["type"] == "RuntimeError"
    assert plain["blob"] == "<2 bytes>"
    assert plain["nested"] == [{"password": REDACTED}]


def test_exceptions_are_written_down_by_the_error_writer_given() -> None:
    """By default an exception becomes its class and scrubbed message; a caller's
    `write_error` (any callable, at any depth) decides the form instead."""
    error = ValueError("bad api_key=abcdef123456")
    assert redact({"e": error}) == {
        "e": {
            "type": "ValueError",
            "module": "builtins",
            "message": f"bad api_key={REDACTED}",
        }
    }
    seen: list[BaseException] = []

    def writer(exc: BaseException, /) -> str:
        seen.append(exc)
        return "written"

    assert redact({"deep": [(error,)]}, write_error=writer) == {"deep": [["written"]]}
    assert seen == [error]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgresql://ada:hunter2@db.local/runs", "postgresql://ada:***@db.local/runs"),
        ("postgresql://ada:p%40ss@[::1]:5432/runs", "postgresql://ada:***@[::1]:5432/runs"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
        ("postgresql://ada@db.local/runs", "postgresql://ada@db.local/runs"),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str) -> None:
    """What the Redis and PostgreSQL stores log and repr: the URL, its password starred."""
    assert url_without_password(url) == shown
