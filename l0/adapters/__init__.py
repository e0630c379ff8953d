"""Adapters turn a provider's stream into l0 events (see `base` for the protocol).

Built in: `OpenAIAdapter` for `openai` SDK streams and `LiteLLMAdapter` for LiteLLM
streams, both detected from the stream's class without importing the provider package.
"""

from l0.adapters.base import AdaptedEvent, Adapter, close_stream
from l0.adapters.litellm import LiteLLMAdapter
from l0.adapters.openai import OpenAIAdapter, OpenAIAdapterOptions
from l0.adapters.registry import Adapters
from l0.adapters.tool_calls import ToolCallAccumulator

__all__ = [
    "AdaptedEvent",
    "Adapter",
    "Adapters",
    "LiteLLMAdapter",
    "OpenAIAdapter",
    "OpenAIAdapterOptions",
    "ToolCallAccumulator",
    "close_stream",
]
