"""One worker process of the fleet tests: `python -m tests.fleet.route_worker REDIS_URL PREFIX`.

It keeps its own RedisRouteHealth (as a uvicorn worker would) and answers one JSON line per
command read from stdin: {"now": t, "up": bool, "retry_after": s | null} asks for the route
at time `now`; when admitted, the "call" to the route succeeds if `up`, else fails (with the
Retry-After, if given), and the outcome is reported. The reply says what the store decided.
"""

from __future__ import annotations

import asyncio
import json
import sys

from l0.routes.health import RouteHealthPolicy
from l0.routes.redis import RedisRouteHealth

POLICY = RouteHealthPolicy(failure_threshold=3, cool_down=5.0)


async def serve(url: str, prefix: str) -> None:
    store = RedisRouteHealth(url, POLICY, timeout=2.0, prefix=prefix)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        now = command["now"]
        admission = await store.admit("primary", now=now)
        if admission.allowed:
            outcome = "success" if command["up"] else "failure"
            await store.report(
                "primary", admission, outcome, now=now, retry_after=command.get("retry_after")
            )
        reply = {
            "allowed": admission.allowed,
            "probe": admission.probe,
            "reason": admission.reason,
            "shared": admission.epoch >= 0,
        }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
