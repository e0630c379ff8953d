"""Route keys and the route_health option of the wrapped client (no request is sent)."""

from __future__ import annotations

import openai
import pytest

import l0
from l0.routes import InMemoryRouteHealth, route_of


def client(base_url: str = "http://127.0.0.1:9/v1") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key="test")


def test_wrapped_client_requests_name_their_route() -> None:
    """factory() requests carry model@base_url; another model or endpoint is another route."""
    completions = l0.wrap(client()).chat.completions
    a = completions.factory(model="m1", messages=[])
    assert route_of(a) == "m1@http://127.0.0.1:9/v1"
    assert route_of(completions.factory(model="m2", messages=[])) != route_of(a)
    other = l0.wrap(client("http://127.0.0.1:10/v1")).chat.completions
    assert route_of(other.factory(model="m1", messages=[])) != route_of(a)


def test_a_litellm_style_request_uses_its_api_base() -> None:
    """A wrapped acompletion function keys by model and the request's api_base."""

    async def acompletion(**kwargs: object) -> object:
        raise AssertionError("not called")

    completions = l0.wrap(acompletion).chat.completions
    request = completions.factory(model="openai/m", api_base="http://h/v1", messages=[])
    assert route_of(request) == "openai/m@http://h/v1"


def test_the_route_health_option_is_checked_and_passed_on() -> None:
    """wrap(route_health=...) is validated at once and reaches every run's arguments."""
    store = InMemoryRouteHealth()
    wrapped = l0.wrap(client(), route_health=store)
    assert wrapped.options.route_health is store
    assert wrapped.with_options(route_health=False).options.route_health is False
    with pytest.raises(l0.Error) as info:
        l0.wrap(client(), route_health="on")  # type: ignore[arg-type]
    assert info.value.code is l0.ErrorCode.INVALID_ARGUMENT
