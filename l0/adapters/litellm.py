"""The LiteLLM adapter: LiteLLM streams are OpenAI-shaped, so this is the OpenAI adapter
with LiteLLM's name and detection.

`litellm.acompletion(..., stream=True)` returns a `CustomStreamWrapper` whose chunks have
the OpenAI fields (`choices[i].delta.content`, `delta.tool_calls`, `finish_reason`,
`usage`, `model`). Detection looks at the stream's class module only: importing `litellm`
takes seconds, and l0 never does it.
"""

from __future__ import annotations

from l0.adapters.openai import OpenAIAdapter


class LiteLLMAdapter(OpenAIAdapter):
    """Adapter for LiteLLM streams (`litellm.acompletion(..., stream=True)`)."""

    name = "litellm"
    _package = "litellm"


__all__ = ["LiteLLMAdapter"]
