"""The adapter registry: which adapter reads a given stream.

Lookup order is the user's adapters, most recently registered first, then the built-ins
(LiteLLM, OpenAI). `detect` asks each adapter in that order; `get` finds one by name;
`resolve` is what the runtime calls with the `adapter=` argument of `run`/`wrap`: None
means detect, a string means a name, anything else must be an adapter instance.
"""

from __future__ import annotations

from types import AsyncGeneratorType
from typing import Any, ClassVar

from l0.adapters.base import Adapter, check_adapter
from l0.adapters.litellm import LiteLLMAdapter
from l0.adapters.openai import OpenAIAdapter
from l0.errors import Error, ErrorCode

_BUILTINS: tuple[Adapter, ...] = (LiteLLMAdapter(), OpenAIAdapter())


def _describe(stream: Any) -> str:
    klass = type(stream)
    return f"{klass.__module__}.{klass.__qualname__}"


class Adapters:
    """Register, find and detect adapters (class-level registry shared by the process)."""

    _registered: ClassVar[list[Adapter]] = []

    @classmethod
    def register(cls, adapter: Adapter) -> None:
        """Add an adapter; it takes priority over built-ins and earlier registrations.

        Registering an adapter with the name of a registered one replaces it.
        """
        checked = check_adapter(adapter)
        cls._registered = [
            checked,
            *(known for known in cls._registered if known.name != checked.name),
        ]

    @classmethod
    def unregister(cls, name: str) -> bool:
        """Remove a registered adapter by name; False when none had that name."""
        before = len(cls._registered)
        cls._registered = [known for known in cls._registered if known.name != name]
        return len(cls._registered) != before

    @classmethod
    def clear(cls) -> None:
        """Remove every registered adapter (the built-ins stay)."""
        cls._registered = []

    @classmethod
    def all(cls) -> list[Adapter]:
        """Every adapter, in the order `detect` tries them."""
        return [*cls._registered, *_BUILTINS]

    @classmethod
    def registered(cls) -> list[Adapter]:
        """The user's adapters (no built-ins), in the order `detect` tries them."""
        return list(cls._registered)

    @classmethod
    def names(cls) -> list[str]:
        return [adapter.name for adapter in cls.all()]

    @classmethod
    def get(cls, name: str) -> Adapter:
        """The adapter called `name` (a registered one shadows a built-in)."""
        for adapter in cls.all():
            if adapter.name == name:
                return adapter
        raise Error(
            f"no adapter is named {name!r}; known adapters: {', '.join(cls.names())}. "
            "Register yours with l0.Adapters.register(adapter) or pass the instance.",
            code=ErrorCode.ADAPTER_NOT_FOUND,
        )

    @classmethod
    def find(cls, stream: Any) -> Adapter | None:
        """The first adapter whose `detect(stream)` is true, or None."""
        if not cls._registered and type(stream) is AsyncGeneratorType:
            return None  # no built-in adapter reads plain async generators
        for adapter in cls.all():
            if adapter.detect(stream):
                return adapter
        return None

    @classmethod
    def detect(cls, stream: Any) -> Adapter:
        """The first adapter whose `detect(stream)` is true; raises when none is."""
        found = cls.find(stream)
        if found is not None:
            return found
        hint = ""
        if not hasattr(stream, "__aiter__") and hasattr(stream, "__iter__"):
            hint = (
                " It is a synchronous iterator: l0 reads async streams, e.g. from "
                "openai.AsyncOpenAI or litellm.acompletion."
            )
        elif hasattr(stream, "__await__"):
            hint = " It is an awaitable: await it to get the stream."
        raise Error(
            f"no adapter recognises a stream of type {_describe(stream)} (tried "
            f"{', '.join(cls.names())}).{hint} Pass adapter='openai' (or an Adapter "
            "instance) if it yields OpenAI-shaped chunks, or register an adapter with "
            "l0.Adapters.register(...).",
            code=ErrorCode.ADAPTER_NOT_FOUND,
        )

    @classmethod
    def resolve(cls, stream: Any, adapter: str | Adapter | None = None) -> Adapter:
        """The adapter for `stream` given the `adapter=` argument of run/wrap."""
        if adapter is None:
            return cls.detect(stream)
        if isinstance(adapter, str):
            return cls.get(adapter)
        return check_adapter(adapter)


def check_adapter_name(adapter: object) -> None:
    """An adapter given by name must be registered now, rather than the first attempt
    failing over it (ADAPTER_NOT_FOUND names the known ones)."""
    if isinstance(adapter, str):
        Adapters.get(adapter)


__all__ = ["Adapters", "check_adapter_name"]
