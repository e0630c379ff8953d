"""No API key and no prompt leaves through any sink: SQLite, OpenTelemetry, Sentry, logs.

Every sink is on at once, with the real openai SDK against a FaultServer whose 401 echoes the
key it was sent (as providers do). The keys have no known shape, or are shorter than any
pattern expects: only the exact value l0 was handed can catch them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from hypothesis import given, strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import l0
from l0.eventsourcing.sqlite import SQLiteEventStore
from l0.guardrails.content_rules import pattern_rule
from l0.monitoring import Monitoring, OpenTelemetryConfig, redact
from l0.monitoring.redact import scrub
from l0.testing import ErrorReply, FaultServer, Reply
from tests.monitoring.test_sentry import Capture, sent_events

pytestmark = pytest.mark.anyio

PROMPT = "Tell me everything about the zebra named Quentin"


def _sentry(*, send_default_pii: bool) -> None:
    """Sentry with or without the opt-in to personal and generative-AI data (spelled
    `data_collection` by this SDK; `send_default_pii` is its deprecated older name)."""
    Capture.sent = []
    sentry_sdk.init(
        dsn="https://public@example.invalid/1",
        transport=Capture,
        default_integrations=False,
        auto_enabling_integrations=False,
        data_collection={
            "gen_ai": {"inputs": send_default_pii, "outputs": send_default_pii},
            "stack_frame_variables": True,
        },
    )


@pytest.fixture
def sentry_off_after() -> Any:
    yield _sentry
    sentry_sdk.get_client().close()
    sentry_sdk.init(default_integrations=False)


class Sinks:
    """Every sink at once; `everything()` is all they hold, as text."""

    def __init__(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        self.database = tmp_path / "runs.db"
        self.store = SQLiteEventStore(self.database)
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.otel = Monitoring.opentelemetry(OpenTelemetryConfig(tracer_provider=provider))
        self.sentry = Monitoring.sentry()
        self.caplog = caplog
        caplog.set_level(logging.DEBUG, logger="l0")

    def on_event(self, secret: str) -> Callable[[l0.ObservabilityEvent], None]:
        def broken(event: l0.ObservabilityEvent) -> None:
            # a handler that fails quoting the key: its traceback is logged by l0
            if event.type is l0.ObservabilityEventType.ERROR:
                raise RuntimeError(f"handler saw key {secret}")

        return Monitoring.handler(self.otel, self.sentry, broken)

    def everything(self) -> str:
        with sqlite3.connect(self.database) as connection:
            rows = [
                row
                for table in ("events", "streams", "snapshots")
                for row in connection.execute(f"SELECT * FROM {table}")
            ]
        spans = [span.to_json() for span in self.exporter.get_finished_spans()]
        logs = self.caplog.text
        return "\n".join([json.dumps(rows), *spans, json.dumps(sent_events()), logs])


@pytest.mark.parametrize("secret", ["sk-test-9", "dev-token-for-local-tests"])
async def test_the_wrapped_clients_key_is_scrubbed_from_every_sink(
    secret: str,
    server: FaultServer,
    new_model: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    sentry_off_after: Callable[..., None],
) -> None:
    """A 401 echoing the wrapped client's key: the key is in no sink, the failure is."""
    import openai

    sentry_off_after(send_default_pii=False)
    sinks = Sinks(tmp_path, caplog)
    model = new_model("secret")
    server.script(model, [ErrorReply(401, message=f"Incorrect API key provided: {secret}.")])
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=secret) as sdk:
        client = l0.wrap(sdk, event_store=sinks.store, on_event=sinks.on_event(secret))
        stream = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        with pytest.raises(l0.Error):
            await stream.read()
    everything = sinks.everything()
    assert "Incorrect API key provided" in everything  # the sinks did get the failure
    assert "handler saw key" in everything  # and the handler's traceback
    assert secret not in everything
    assert "zebra" not in everything  # nor the prompt (Sentry frames' locals included)


async def test_the_key_behind_an_sdk_stream_given_to_run_is_scrubbed(
    server: FaultServer,
    new_model: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    sentry_off_after: Callable[..., None],
) -> None:
    """run() sees the client behind the first attempt's stream: its key, echoed by a later
    attempt's 401, is scrubbed too."""
    import openai

    secret = "local-key-7q"
    sentry_off_after(send_default_pii=False)
    sinks = Sinks(tmp_path, caplog)
    model = new_model("behind")
    server.script(
        model,
        [Reply("hello there", drop_after=1), ErrorReply(401, message=f"Bad key {secret}.")],
    )
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=secret, max_retries=0) as sdk:

        async def factory() -> Any:
            return await sdk.chat.completions.create(
                model=model, messages=[{"role": "user", "content": PROMPT}], stream=True
            )

        stream = await l0.run(
            stream=factory, event_store=sinks.store, on_event=sinks.on_event(secret)
        )
        with pytest.raises(l0.Error):
            await stream.read()
    everything = sinks.everything()
    assert "Bad key" in everything
    assert secret not in everything


async def test_sentry_keeps_frame_variables_only_with_send_default_pii(
    server: FaultServer,
    new_model: Callable[[str], str],
    sentry_off_after: Callable[..., None],
) -> None:
    """The SDK frames' locals (which hold the prompt) reach Sentry only when the
    application opted into personal data."""
    import openai

    seen: dict[bool, str] = {}
    for pii in (False, True):
        sentry_off_after(send_default_pii=pii)
        model = new_model("pii")
        server.script(model, [ErrorReply(401)])
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as sdk:
            client = l0.wrap(sdk, on_event=Monitoring.sentry())
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": PROMPT}], stream=True
            )
            with pytest.raises(l0.Error):
                await stream.read()
        seen[pii] = json.dumps(sent_events())
    assert '"vars"' not in seen[False] and "zebra" not in seen[False]
    assert '"vars"' in seen[True] and "zebra" in seen[True]


async def test_guardrail_content_reaches_otel_only_when_capture_is_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A violation quoting the model's output: left out of spans unless content capture is
    on (the config flag, or the GenAI conventions' environment variable)."""
    from l0.testing.scripted import Script, ScriptedFactory

    def spans_text(**config: Any) -> str:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        otel = Monitoring.opentelemetry(OpenTelemetryConfig(tracer_provider=provider, **config))
        rule = pattern_rule([r"Quentin"], severity="fatal")
        return otel, exporter, rule

    texts: dict[str, str] = {}
    for label, config, env in (
        ("off", {}, None),
        ("flag", {"capture_content": True}, None),
        ("env", {}, "true"),
    ):
        if env is None:
            monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
        else:
            monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", env)
        otel, exporter, rule = spans_text(**config)
        stream = await l0.run(
            stream=ScriptedFactory(Script.tokens("the zebra Quentin")),
            guardrails=[rule],
            on_event=otel,
        )
        with pytest.raises(l0.Error):
            await stream.read()
        texts[label] = "\n".join(s.to_json() for s in exporter.get_finished_spans())
    assert "Quentin" not in texts["off"]
    assert "content left out" in texts["off"]
    assert "Quentin" in texts["flag"] and "Quentin" in texts["env"]


@pytest.mark.parametrize(
    "text",
    [
        "key sk-a1b2",  # OpenAI, short
        "sk-ant-api03-" + "x" * 90,  # Anthropic
        "sk-proj-abc****wxyz",  # masked by the provider
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",  # Google
        "api-key 0123456789abcdef0123456789ABCDEF",  # Azure
        "Authorization: Bearer x",  # a bearer token of any length
        "Bearer abc",
    ],
)
def test_unknown_keys_are_scrubbed_by_shape(text: str) -> None:
    """Keys l0 never saw, by shape, of any length."""
    scrubbed = scrub(text)
    assert "[REDACTED]" in scrubbed
    for part in ("a1b2", "x" * 20, "wxyz", "1234567890abcdefghij", "0123456789abcdef0123"):
        assert part not in scrubbed
    assert not scrubbed.endswith((" x", " abc"))


@contextlib.contextmanager
def _own_secrets() -> Iterator[None]:
    """Secrets remembered inside are forgotten after (the registry is process-wide)."""
    saved = dict(redact._known), redact._known_pattern
    try:
        yield
    finally:
        with redact._known_lock:
            redact._known.clear()
            redact._known.update(saved[0])
            redact._known_pattern = saved[1]


@given(
    secret=st.text(alphabet=st.characters(codec="utf-8"), min_size=6, max_size=40).filter(
        lambda s: len(s.strip()) >= redact.MIN_SECRET_LENGTH
    ),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_a_remembered_secret_of_any_shape_is_scrubbed_wherever_it_appears(
    secret: str, before: str, after: str
) -> None:
    """Whatever its characters, a remembered key is gone from any text and any structure."""
    with _own_secrets():
        redact.remember_secret(secret)
        key = secret.strip()
        text = f"{before}{key}{after}"
        assert key not in scrub(text)
        assert key not in json.dumps(redact.redact({"message": text, "list": [text]}))


async def test_the_key_behind_a_litellm_stream_given_to_run_is_remembered(
    server: FaultServer, new_model: Callable[[str], str], anyio_backend: Any
) -> None:
    """litellm's stream carries its call's key: run() remembers it, scrub() removes it."""
    if "trio" in str(anyio_backend):
        pytest.skip("litellm streams on asyncio only")
    import litellm

    secret = "zz-litellm-key-9"
    model = new_model("litellm-key")
    server.script(model, [Reply(["a", "b"])])

    async def factory() -> Any:
        return await litellm.acompletion(
            model=f"openai/{model}",
            api_base=server.base_url,
            api_key=secret,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
        )

    with _own_secrets():
        assert scrub(f"echo {secret}") == f"echo {secret}"
        stream = await l0.run(stream=factory)
        assert await stream.read() == "ab"
        assert scrub(f"echo {secret}") == "echo [REDACTED]"
