"""One worker process running real l0 runs: `python -m tests.fleet.run_worker REDIS_URL
PREFIX BASE_URL PRIMARY BACKUP`.

Like a uvicorn worker, it has its own RedisRouteHealth and its own openai client (pointed at
the test's FaultServer). For each JSON line {"now": t} read from stdin it makes one l0 run
with the primary model and a fallback, route health in Redis, at virtual time `t` (the
store's clock), and answers which route served it.
"""

from __future__ import annotations

import asyncio
import json
import sys

import openai

import l0
import l0.runtime.routing
from l0.routes.health import RouteHealthPolicy
from l0.routes.redis import RedisRouteHealth

POLICY = RouteHealthPolicy(failure_threshold=2, cool_down=5.0)
USER = [{"role": "user", "content": "Say hello"}]

# The suite may run on a loaded machine: give store calls more than the runtime's 50 ms, so
# that a slow answer is never taken for "allowed" (that bound is tested in tests/routes).
l0.runtime.routing.STORE_CALL_LIMIT = 5.0  # type: ignore[misc]


async def serve(redis_url: str, prefix: str, base_url: str, primary: str, backup: str) -> None:
    now = [0.0]
    store = RedisRouteHealth(redis_url, POLICY, timeout=5.0, prefix=prefix, clock=lambda: now[0])
    client = openai.AsyncOpenAI(base_url=base_url, api_key="test")
    completions = l0.wrap(client).chat.completions
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        now[0] = json.loads(line)["now"]
        stream = await l0.run(
            stream=completions.factory(model=primary, messages=USER),
            fallbacks=[completions.factory(model=backup, messages=USER)],
            retry=l0.Retry(base_delay=0.01, max_delay=0.05),
            route_health=store,
        )
        text = await stream.read()
        reply = {"text": text, "fallback_index": stream.state.fallback_index}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await client.close()
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:6]))
