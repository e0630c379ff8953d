"""A streaming request answered by something that is not an event stream (issue 13, item 6).

A proxy, a login portal or a wrong `base_url` answers with an HTML page and status 200; a
server may ignore `stream=True` and send one JSON object. Both used to read as a stream that
"ended without a finish reason", retried in vain. Now the run fails at once with
PROVIDER_ERROR saying what came back: the status, the content type and, for a page, a short
excerpt. Real SDKs (openai on asyncio and trio, LiteLLM on asyncio) against FaultServer.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import l0
from l0.adapters.diagnosis import EXCERPT_CHARS
from l0.errors import ErrorCode
from l0.testing import FaultServer, PageReply
from tests.integration._support import Provider, consume

pytestmark = pytest.mark.anyio

RETRYING = l0.Retry(attempts=3, max_retries=3, base_delay=0.0)


async def test_an_html_page_with_status_200_is_a_provider_error_quoting_it(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """PROVIDER_ERROR naming the content type and quoting the page; not retried."""
    model = new_model("html-200")
    server.script(model, [], then=PageReply())
    client = provider.wrap(retry=RETRYING)
    outcome = await consume(await provider.create(client, model))
    error = outcome.error
    assert isinstance(error, l0.Error)
    assert error.code is ErrorCode.PROVIDER_ERROR
    assert "text/html" in str(error) and "Please sign in." in str(error)
    assert server.attempts(model) == 1


async def test_a_huge_html_page_is_quoted_briefly(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """A 200 kB page gives a message of a few hundred characters."""
    model = new_model("html-huge")
    page = "<html><body>" + "<p>lorem ipsum dolor sit amet</p>\n" * 6000 + "</body></html>"
    server.script(model, [], then=PageReply(page))
    outcome = await consume(await provider.create(provider.wrap(retry=RETRYING), model))
    assert isinstance(outcome.error, l0.Error)
    assert outcome.error.code is ErrorCode.PROVIDER_ERROR
    assert len(str(outcome.error)) < EXCERPT_CHARS + 400
    assert server.attempts(model) == 1


async def test_a_json_answer_to_a_streaming_request_names_its_content_type(
    provider: Provider, server: FaultServer, new_model: Callable[[str], str]
) -> None:
    """A server that ignored stream=True: PROVIDER_ERROR naming application/json."""
    model = new_model("json-200")
    body = json.dumps({"id": "x", "object": "chat.completion", "choices": []})
    server.script(model, [], then=PageReply(body, content_type="application/json"))
    outcome = await consume(await provider.create(provider.wrap(retry=RETRYING), model))
    assert isinstance(outcome.error, l0.Error), outcome
    assert outcome.error.code is ErrorCode.PROVIDER_ERROR
    assert "application/json" in str(outcome.error)
    assert server.attempts(model) == 1
