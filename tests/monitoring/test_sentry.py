"""Sentry breadcrumbs and captured failures, read back from a capturing transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

import l0
from l0.monitoring import Monitoring, SentryConfig
from l0.testing.scripted import Script, ScriptedFactory

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz"


class Capture(Transport):  # type: ignore[misc]
    """Keeps every envelope the client would have sent."""

    sent: list[Any] = []  # noqa: RUF012 - one list per test, set by the fixture

    def capture_envelope(self, envelope: Any) -> None:
        type(self).sent.append(envelope)


@pytest.fixture
def sentry_client() -> Iterator[None]:
    """Sentry initialized with the capturing transport (read back with `sent_events()`)."""
    Capture.sent = []
    sentry_sdk.init(
        dsn="https://public@example.invalid/1",
        transport=Capture,
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    sentry_sdk.get_isolation_scope().clear_breadcrumbs()  # earlier tests left theirs
    sentry_sdk.get_current_scope().clear_breadcrumbs()
    yield
    sentry_sdk.get_client().close()
    # back to a disabled client; without default integrations, which would patch openai
    sentry_sdk.init(default_integrations=False)


def sent_events() -> list[dict[str, Any]]:
    sentry_sdk.flush()
    return [
        item.payload.json
        for envelope in Capture.sent
        for item in envelope.items
        if item.type == "event"
    ]


class Unauthorized(Exception):
    status_code = 401


async def test_a_failed_run_is_captured_with_its_context_and_breadcrumbs(
    sentry_client: None,
) -> None:
    """One Sentry event: the run's exception, its l0 context and a breadcrumb per event."""
    sentry = Monitoring.sentry(SentryConfig(tags={"service": "chat"}))
    seen: list[l0.ObservabilityEvent] = []
    factory = ScriptedFactory(
        Script.tokens("ab", fail_at=1),
        Script(chunks=["x"], fail_at=0, error=Unauthorized(f"bad key {SECRET}")),
    )
    stream = await l0.run(
        stream=factory,
        retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.5),
        on_event=Monitoring.handler(sentry, seen.append),
        context={"request_id": "req-9", "Authorization": f"Bearer {SECRET}"},
    )
    with pytest.raises(l0.Error):
        await stream.read()
    (event,) = sent_events()
    (exception,) = event["exception"]["values"][-1:]
    assert exception["type"] == "Error"
    assert "Unauthorized" in exception["value"]
    assert event["tags"]["l0.stream_id"] == stream.stream_id
    assert event["tags"]["service"] == "chat"
    l0_context = event["contexts"]["l0"]
    assert l0_context["stream_id"] == stream.stream_id
    assert l0_context["context"] == {"request_id": "req-9", "Authorization": "[REDACTED]"}
    assert l0_context["meta"]["final"] is True
    crumbs = [c for c in event["breadcrumbs"]["values"] if c["category"] == "l0"]
    assert [c["message"] for c in crumbs] == [e.type.value for e in seen]
    levels = {c["message"]: c["level"] for c in crumbs}
    assert levels["NETWORK_ERROR"] == "error" and levels["RETRY_ATTEMPT"] == "warning"
    assert levels["STREAM_INIT"] == "info"
    retry = next(c for c in crumbs if c["message"] == "RETRY_ATTEMPT")
    assert retry["data"]["attempt"] == 1 and retry["data"]["stream_id"] == stream.stream_id
    assert SECRET not in json.dumps(event)


async def test_a_completed_run_leaves_breadcrumbs_and_captures_nothing(
    sentry_client: None,
) -> None:
    """Breadcrumbs land on the scope, so a later error shows how the stream went."""
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("fine")), on_event=Monitoring.sentry()
    )
    assert await stream.read() == "fine"
    assert sent_events() == []
    sentry_sdk.capture_message("later problem")
    (event,) = sent_events()
    messages = [c["message"] for c in event["breadcrumbs"]["values"] if c["category"] == "l0"]
    assert messages[0] == "SESSION_START" and messages[-1] == "COMPLETE"


async def test_config_limits_breadcrumbs_and_can_capture_retried_failures(
    sentry_client: None,
) -> None:
    """breadcrumb_types filters; capture_retried_errors reports each retried failure too."""
    sentry = Monitoring.sentry(
        SentryConfig(
            breadcrumb_types={l0.ObservabilityEventType.ERROR},
            capture_errors=False,
            capture_retried_errors=True,
        )
    )
    stream = await l0.run(
        stream=ScriptedFactory(Script.tokens("ab", fail_at=1), Script.tokens("ok")),
        retry=l0.Retry(strategy=l0.BackoffStrategy.FIXED, base_delay=0.1),
        on_event=sentry,
    )
    assert await stream.read() == "ok"
    (event,) = sent_events()
    assert event["exception"]["values"][-1]["type"] == "ConnectionResetError"
    crumbs = [c for c in event["breadcrumbs"]["values"] if c["category"] == "l0"]
    assert [c["message"] for c in crumbs] == ["ERROR"]
