"""Route health shared by a fleet of processes through Redis (`pip install 'l0[redis]'`).

    health = RedisRouteHealth("redis://cache:6379/0", RouteHealthPolicy(cool_down=30.0))

Every route's breaker is one Redis hash (`prefix + route`) that only a Lua script changes, so
each `admit` and `report` is one atomic step for the whole fleet: failures counted by any
worker trip the route for all of them, exactly one worker wins the half-open probe after a
cool-down, and a Retry-After seen by one worker holds every worker back until it has passed.
The rules are `InMemoryRouteHealth`'s (the in-process default), step for step; the tests
hold the script to it. Every write sets the key's expiry (`ttl`, longer while a hold lasts),
so routes nobody calls any more leave nothing behind; a healthy route is read, not written.

`now` is the callers' wall clock (`time.time()`): the fleet's machines must keep their clocks
in sync (NTP), as Retry-After holds and cool-downs are compared across them.

Each call is bounded by `timeout` (40 ms by default: under the runtime's own 50 ms bound on
store calls, `STORE_CALL_LIMIT`, so that the store, not the runtime, decides what a slow
Redis means, and says so). When Redis does not answer in time or cannot be reached, the call
is served from this process's own `InMemoryRouteHealth` instead, one warning goes to the
`l0` logger, and Redis is tried again after `retry_interval` seconds; when it answers again
an info line says so. A stream never waits on Redis longer than `timeout`. Admissions served
locally carry epochs -2, -3, ... so that their reports go back to the local store (-1 is
`UNKNOWN`'s, which matches nothing anywhere).

redis-py's asyncio client runs on asyncio only; on trio the store raises `l0.Error`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import sniffio

from l0.errors import Error, ErrorCode
from l0.monitoring.redact import url_without_password
from l0.routes.health import (
    UNKNOWN,
    Admission,
    InMemoryRouteHealth,
    Outcome,
    RouteHealthPolicy,
    check_outcome,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("l0")

# KEYS[1] is the route's hash. ARGV: op, now, failure_threshold, cool_down, probe_timeout,
# max_retry_after, ttl (ms), then for "report": epoch, probe ("1"/"0"), outcome, retry_after
# ("" for none). Times are stored as '%.17g' strings (exact round trips); a missing field
# reads as nil. The steps mirror InMemoryRouteHealth and the breaker machine's edges
# (machines/breaker.toml): the epoch counts state changes.
_SCRIPT = """
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local cool = tonumber(ARGV[4])
local probe_timeout = tonumber(ARGV[5])
local max_hold = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])

if op == 'reset' then
  redis.call('DEL', key)
  return 0
end

local f = redis.call('HMGET', key, 'state', 'failures', 'retry_at', 'epoch', 'hold', 'probe_at')
local exists = f[1] ~= false
local state = f[1] or 'closed'
local failures = tonumber(f[2]) or 0
local retry_at = tonumber(f[3])
local epoch = tonumber(f[4]) or 0
local hold = tonumber(f[5])
local probe_at = tonumber(f[6])

local function num(x)
  if x then return string.format('%.17g', x) end
  return ''
end

local function save()
  redis.call('HSET', key, 'state', state, 'failures', failures, 'retry_at', num(retry_at),
             'epoch', epoch, 'hold', num(hold), 'probe_at', num(probe_at))
  local keep = ttl
  if hold and (hold - now) * 1000 + 1000 > keep then
    keep = math.ceil((hold - now) * 1000) + 1000
  end
  redis.call('PEXPIRE', key, keep)
end

if op == 'admit' then
  if not exists then
    return {1, 0, 0, '', 'closed'}
  end
  local changed = false
  if state == 'half_open' then
    if probe_at == nil or now - probe_at < probe_timeout then
      local at = ''
      if probe_at then at = num(probe_at + probe_timeout) end
      return {0, 0, epoch, at, 'half_open_busy'}
    end
    -- its worker never reported: the probe is abandoned, the next call may probe
    state = 'open'
    epoch = epoch + 1
    retry_at = now
    changed = true
  end
  if state == 'open' then
    if retry_at == nil or now < retry_at then
      if changed then save() end
      return {0, 0, epoch, num(retry_at), 'open'}
    end
    state = 'half_open'
    epoch = epoch + 1
    probe_at = now
    hold = nil
    save()
    return {1, 1, epoch, '', 'probe'}
  end
  if hold and now < hold then
    return {0, 0, epoch, num(hold), 'retry_after'}
  end
  return {1, 0, epoch, '', 'closed'}
end

if op == 'report' then
  local seen = tonumber(ARGV[8])
  local probe = ARGV[9] == '1'
  local outcome = ARGV[10]
  local after = tonumber(ARGV[11])
  if not exists and outcome ~= 'failure' then
    return 0  -- a healthy route nobody has seen fail needs no key
  end
  local changed = not exists
  if outcome == 'failure' and after and after > 0 then
    local until_ = now + math.min(after, max_hold)
    if not hold or until_ > hold then hold = until_ end
    changed = true
  end
  local expected = 'closed'
  if probe then expected = 'half_open' end
  -- only a call admitted in the route's current state says something about it now
  if seen == epoch and state == expected then
    if outcome == 'success' then
      if hold or probe_at then changed = true end
      hold = nil
      probe_at = nil
      if state ~= 'closed' or failures ~= 0 then
        if state ~= 'closed' then epoch = epoch + 1 end
        state = 'closed'
        failures = 0
        retry_at = nil
        changed = true
      end
    elseif outcome == 'failure' then
      probe_at = nil
      failures = failures + 1
      if state == 'half_open' or failures >= threshold then
        state = 'open'
        epoch = epoch + 1
        retry_at = now + cool
      end
      changed = true
    elseif outcome == 'abandoned' and probe then
      probe_at = nil
      state = 'open'
      epoch = epoch + 1
      retry_at = now
      changed = true
    end
  end
  if changed then save() end
  return epoch
end

return redis.error_reply('unknown operation ' .. tostring(op))
"""


class _Unavailable(Exception):
    """Redis did not answer within the bound (or is being left alone for a while)."""


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _local_epoch(epoch: int) -> int:
    """Local epochs 0, 1, ... travel as -2, -3, ... (and back): the report finds its store."""
    return -2 - epoch


class RedisRouteHealth:
    """Route health in Redis, shared by every process using the same URL and prefix.

    `url_or_client`: a `redis://` / `rediss://` / `unix://` URL, or a `redis.asyncio.Redis`
    (then closed by its owner, not by `aclose()`). `policy`: the breaker's threshold and
    cool-down, probe timeout and longest Retry-After hold (every worker must use the same).
    `timeout`: seconds one call may wait on Redis before it is served locally. `prefix`: the
    keys' prefix (one per fleet sharing a Redis). `ttl`: seconds a route's key outlives its
    last change. `retry_interval`: seconds Redis is left alone after it failed to answer.
    `clock`: where runs read `now` (wall-clock seconds; a fake one in tests).
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        policy: RouteHealthPolicy,
        *,
        timeout: float = 0.04,
        prefix: str = "l0:route:",
        ttl: float = 86400.0,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError as exc:  # the extra is not installed
            raise Error(
                "RedisRouteHealth needs redis-py: pip install 'l0[redis]'",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from exc
        if not isinstance(policy, RouteHealthPolicy):
            raise _invalid(
                f"RedisRouteHealth(policy=...) must be a RouteHealthPolicy, got {policy!r}"
            )
        for label, value in (
            ("timeout", timeout),
            ("ttl", ttl),
            ("retry_interval", retry_interval),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise _invalid(f"RedisRouteHealth({label}=...) must be seconds > 0, got {value!r}")
        if not isinstance(prefix, str) or not prefix:
            raise _invalid(
                f"RedisRouteHealth(prefix=...) must be a non-empty string, got {prefix!r}"
            )
        if isinstance(url_or_client, str):
            self._client: Redis = Redis.from_url(
                url_or_client, socket_connect_timeout=timeout, socket_timeout=max(timeout, 1.0)
            )
            self._owns_client = True
            self._where = url_without_password(url_or_client)
        elif isinstance(url_or_client, Redis):
            self._client, self._owns_client, self._where = url_or_client, False, repr(url_or_client)
        else:
            raise _invalid(
                "RedisRouteHealth(url_or_client=...) must be a redis:// URL or a "
                f"redis.asyncio.Redis, got {url_or_client!r}"
            )
        if not callable(clock):
            raise _invalid(f"RedisRouteHealth(clock=...) must be callable, got {clock!r}")
        self.clock = clock
        self.policy = policy
        self.timeout = float(timeout)
        self.prefix = prefix
        self.retry_interval = float(retry_interval)
        self._policy_args = (
            str(policy.failure_threshold),
            repr(float(policy.cool_down)),
            repr(float(policy.probe_timeout)),
            repr(float(policy.max_retry_after)),
            str(math.ceil(ttl * 1000)),
        )
        self._script = self._client.register_script(_SCRIPT)
        self.local = InMemoryRouteHealth(policy)  # serves while Redis does not answer
        self._down_until: float | None = None  # monotonic time; None while Redis answers

    @property
    def degraded(self) -> bool:
        """True while calls are served from local state because Redis did not answer."""
        return self._down_until is not None

    async def _run(self, route: str, *args: str) -> Any:
        if sniffio.current_async_library() != "asyncio":
            raise Error(
                "RedisRouteHealth runs on asyncio only (redis-py's asyncio client); on trio "
                "use the in-process route health",
                code=ErrorCode.INVALID_ARGUMENT,
            )
        if self._down_until is not None and time.monotonic() < self._down_until:
            raise _Unavailable
        argv = (args[0], args[1], *self._policy_args, *args[2:])
        try:
            with anyio.fail_after(self.timeout):
                result = await self._script(keys=[self.prefix + route], args=argv)
        except Exception as exc:  # a timeout, a refused or dropped connection, a Redis error
            self._went_down(exc)
            raise _Unavailable from exc
        if self._down_until is not None:
            self._down_until = None
            logger.info(
                "Route health store %s answers again; route health is shared again", self._where
            )
        return result

    def _went_down(self, exc: BaseException) -> None:
        if self._down_until is None:
            logger.warning(
                "Route health store %s did not answer within %.3gs (%s: %s); serving route "
                "health from this process's own state, trying again every %.3gs",
                self._where, self.timeout, type(exc).__name__, exc, self.retry_interval,
            )  # fmt: skip
        self._down_until = time.monotonic() + self.retry_interval

    async def admit(self, route: str, *, now: float) -> Admission:
        try:
            allowed, probe, epoch, retry_at, reason = await self._run(route, "admit", repr(now))
        except _Unavailable:
            local = self.local.admit_now(route, now)
            return Admission(
                local.allowed, local.probe, _local_epoch(local.epoch), local.retry_at, local.reason
            )
        return Admission(
            bool(allowed),
            bool(probe),
            int(epoch),
            float(retry_at) if retry_at else None,
            reason.decode() if isinstance(reason, bytes) else str(reason),
        )

    async def report(
        self,
        route: str,
        admission: Admission,
        outcome: Outcome,
        *,
        now: float,
        retry_after: float | None = None,
    ) -> None:
        check_outcome(outcome)
        if admission.epoch <= -2:  # admitted by the local store
            local = Admission(
                admission.allowed, admission.probe, _local_epoch(admission.epoch),
                admission.retry_at, admission.reason,
            )  # fmt: skip
            self.local.report_now(route, local, outcome, now=now, retry_after=retry_after)
            return
        after = "" if retry_after is None else repr(float(retry_after))
        args = (str(admission.epoch), "1" if admission.probe else "0", outcome, after)
        try:
            await self._run(route, "report", repr(now), *args)
        except _Unavailable:
            # The outcome belongs to the shared breaker, which cannot hear it now; a hold
            # still keeps this process away from the route (UNKNOWN's epoch counts nothing).
            if outcome == "failure" and retry_after is not None:
                self.local.report_now(route, UNKNOWN, "failure", now=now, retry_after=retry_after)

    async def reset(self, route: str) -> None:
        await self.local.reset(route)
        with contextlib.suppress(_Unavailable):
            await self._run(route, "reset", "0")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisRouteHealth({self._where}, prefix={self.prefix!r})"


__all__ = ["RedisRouteHealth"]
