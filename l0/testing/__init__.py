"""Public test helpers: a local OpenAI-compatible server that injects faults on demand.

    from l0.testing import FaultServer, Reply, ErrorReply, ResetConnection, Stall, ToolCall

    with FaultServer() as server:
        server.script("gpt-4o", [ErrorReply(429, retry_after=1), Reply(["Hel", "lo"])])
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)

In-process scripted streams (no server, no network) for unit tests and demos:

    from l0.testing import Script, ScriptedFactory

    factory = ScriptedFactory(Script.tokens("Hello wor", fail_at=5), Script.tokens("Hello world"))
    result = await l0.run(stream=factory)   # the first attempt drops, the retry succeeds

Importing this package loads nothing heavy; aiohttp is imported when a server starts.
"""

from l0.testing.script import (
    ErrorReply,
    PageReply,
    RawReply,
    Reply,
    ResetConnection,
    Stall,
    Step,
    ToolCall,
)
from l0.testing.scripted import Script, ScriptedFactory, ScriptedStream
from l0.testing.server import PREFILL_REJECTION, FaultServer, RecordedRequest

__all__ = [
    "PREFILL_REJECTION",
    "ErrorReply",
    "FaultServer",
    "PageReply",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "ResetConnection",
    "Script",
    "ScriptedFactory",
    "ScriptedStream",
    "Stall",
    "Step",
    "ToolCall",
]
