"""Route health shared by a fleet of processes through Redis (`pip install 'l0[redis]'`).

    health = RedisRouteHealth("redis://cache:6379/0", RouteHealthPolicy(3, 30.0))

Every route's breaker is one Redis hash (`prefix + route`) that only a Lua script changes, so
each `admit` and `report` is one atomic step for the whole fleet: failures counted by any
worker trip the route for all of them, exactly one worker wins the half-open probe after a
cool-down, and a Retry-After seen by one worker holds every worker back until it has passed.
The semantics are the in-process breaker's (`l0.CircuitBreaker`), plus what a fleet needs:

- a Retry-After hold (`report(..., retry_after=s)`) refuses the route with reason
  "retry_after" until `now + s`, whatever the breaker's state;
- a probe whose worker died never reports: after `probe_lease` seconds the next call probes
  instead (its late report is then stale and ignored, like any report whose epoch is old);
- every write sets the key's expiry (`ttl`, longer while a hold lasts), so routes nobody
  calls any more leave nothing behind. A closed route with no failures is read, not written.

`now` is the callers' wall clock (`time.time()`): the fleet's machines must keep their clocks
in sync (NTP), as Retry-After holds and cool-downs are compared across them.

Each call is bounded by `timeout` (50 ms by default). When Redis does not answer in time or
cannot be reached, the call is served from this process's own in-memory breaker instead (the
same rules, in Python: `LocalRouteHealth`), one warning goes to the `l0` logger, and Redis is
tried again after `retry_interval` seconds; when it answers again an info line says so. A
stream never waits on Redis longer than `timeout`. Admissions served locally carry a negative
epoch, so their reports go back to the local breaker.

redis-py's asyncio client runs on asyncio only; on trio the store raises `l0.Error`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
import sniffio

from l0.errors import Error, ErrorCode
from l0.routes.health import Admission, RouteHealthPolicy

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("l0")

Outcome = Literal["success", "failure", "abandoned"]

# KEYS[1] is the route's hash. ARGV: op, now, failure_threshold, cool_down, probe_lease,
# ttl (ms), then for "report": epoch, probe ("1"/"0"), outcome, retry_after ("" for none).
# Times are stored as '%.17g' strings (exact round trips); a missing field reads as nil.
_SCRIPT = """
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local cool = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local f = redis.call('HMGET', key, 'state', 'failures', 'retry_at', 'epoch', 'hold', 'probe_at')
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
  if hold and now < hold then
    local at = hold
    if state == 'open' and retry_at and retry_at > at then at = retry_at end
    return {0, 0, epoch, num(at), 'retry_after'}
  end
  if state == 'closed' then
    return {1, 0, epoch, '', 'closed'}
  end
  if state == 'open' then
    if retry_at and now < retry_at then
      return {0, 0, epoch, num(retry_at), 'open'}
    end
  elseif probe_at and now < probe_at + lease then
    return {0, 0, epoch, num(probe_at + lease), 'half_open_busy'}
  end
  -- open past its cool-down, or a half-open probe presumed lost: this call is the probe
  state = 'half_open'
  epoch = epoch + 1
  probe_at = now
  save()
  return {1, 1, epoch, '', 'probe'}
end

if op == 'report' then
  local seen = tonumber(ARGV[7])
  local probe = ARGV[8] == '1'
  local outcome = ARGV[9]
  local after = tonumber(ARGV[10])
  local changed = false
  if after and after > 0 and (not hold or now + after > hold) then
    hold = now + after
    changed = true
  end
  local expected = 'closed'
  if probe then expected = 'half_open' end
  -- only the outcome of a call admitted in the current state counts
  if seen == epoch and state == expected then
    if outcome == 'success' then
      if state ~= 'closed' or failures ~= 0 then changed = true end
      if state == 'half_open' then epoch = epoch + 1 end
      state = 'closed'
      failures = 0
      retry_at = nil
      probe_at = nil
    elseif outcome == 'failure' then
      failures = failures + 1
      changed = true
      if state == 'half_open' or failures >= threshold then
        state = 'open'
        epoch = epoch + 1
        retry_at = now + cool
        probe_at = nil
      end
    elseif outcome == 'abandoned' and state == 'half_open' then
      state = 'open'
      epoch = epoch + 1
      retry_at = now
      probe_at = nil
      changed = true
    end
  end
  if changed then save() end
  return epoch
end

if op == 'reset' then
  state = 'closed'
  failures = 0
  retry_at = nil
  hold = nil
  probe_at = nil
  epoch = epoch + 1
  save()
  return epoch
end

return redis.error_reply('unknown operation ' .. tostring(op))
"""


@dataclass(slots=True)
class _Breaker:
    state: str = "closed"
    failures: int = 0
    retry_at: float | None = None
    epoch: int = 0
    hold: float | None = None
    probe_at: float | None = None


class LocalRouteHealth:
    """The Lua script's rules in Python, over a dict: the fallback of `RedisRouteHealth`
    while Redis cannot be reached (one process's view only), and the reference the tests hold
    the script to. Routes are never expired here."""

    def __init__(self, policy: RouteHealthPolicy, *, probe_lease: float) -> None:
        self.policy = policy
        self.probe_lease = probe_lease
        self._routes: dict[str, _Breaker] = {}

    def admit_now(self, route: str, now: float) -> Admission:
        b = self._routes.get(route) or _Breaker()
        if b.hold is not None and now < b.hold:
            at = b.hold
            if b.state == "open" and b.retry_at is not None and b.retry_at > at:
                at = b.retry_at
            return Admission(False, False, b.epoch, at, "retry_after")
        if b.state == "closed":
            return Admission(True, False, b.epoch, None, "closed")
        if b.state == "open":
            if b.retry_at is not None and now < b.retry_at:
                return Admission(False, False, b.epoch, b.retry_at, "open")
        elif b.probe_at is not None and now < b.probe_at + self.probe_lease:
            return Admission(False, False, b.epoch, b.probe_at + self.probe_lease, "half_open_busy")
        b.state, b.epoch, b.probe_at = "half_open", b.epoch + 1, now
        self._routes[route] = b
        return Admission(True, True, b.epoch, None, "probe")

    def report_now(
        self,
        route: str,
        admission: Admission,
        outcome: Outcome,
        now: float,
        retry_after: float | None,
    ) -> None:
        b = self.hold(route, now, retry_after)
        if admission.epoch != b.epoch or b.state != ("half_open" if admission.probe else "closed"):
            return
        if outcome == "success":
            if b.state == "half_open":
                b.epoch += 1
            b.state, b.failures, b.retry_at, b.probe_at = "closed", 0, None, None
        elif outcome == "failure":
            b.failures += 1
            if b.state == "half_open" or b.failures >= self.policy.failure_threshold:
                b.state, b.epoch, b.probe_at = "open", b.epoch + 1, None
                b.retry_at = now + self.policy.cool_down
        elif outcome == "abandoned" and b.state == "half_open":
            b.state, b.epoch, b.retry_at, b.probe_at = "open", b.epoch + 1, now, None

    def hold(self, route: str, now: float, retry_after: float | None) -> _Breaker:
        """Keep the route refused until `now + retry_after` (a Retry-After), if later."""
        b = self._routes.setdefault(route, _Breaker())
        if (
            retry_after is not None
            and retry_after > 0
            and (b.hold is None or now + retry_after > b.hold)
        ):
            b.hold = now + retry_after
        return b

    def reset_now(self, route: str) -> None:
        previous = self._routes.get(route)
        self._routes[route] = _Breaker(epoch=(previous.epoch + 1) if previous else 1)

    async def admit(self, route: str, *, now: float) -> Admission:
        return self.admit_now(route, now)

    async def report(
        self,
        route: str,
        admission: Admission,
        outcome: Outcome,
        *,
        now: float,
        retry_after: float | None = None,
    ) -> None:
        self.report_now(route, admission, outcome, now, retry_after)

    async def reset(self, route: str) -> None:
        self.reset_now(route)

    async def aclose(self) -> None:
        self._routes.clear()


class _Unavailable(Exception):
    """Redis did not answer within the bound (or is being left alone for a while)."""


def _invalid(message: str) -> Error:
    return Error(message, code=ErrorCode.INVALID_ARGUMENT)


def _local_epoch(epoch: int) -> int:
    """Local admissions carry epochs -1, -2, ... so that their reports find their way home."""
    return -1 - epoch


class RedisRouteHealth:
    """Route health in Redis, shared by every process using the same URL and prefix.

    `url_or_client`: a `redis://` / `rediss://` / `unix://` URL, or a `redis.asyncio.Redis`
    (then closed by its owner, not by `aclose()`). `policy`: the breaker's threshold and
    cool-down. `timeout`: seconds one call may wait on Redis before it is served locally.
    `prefix`: the keys' prefix (one per fleet sharing a Redis). `probe_lease`: seconds after
    which a probe that never reported is presumed lost (default: the cool-down, at least 30
    s). `ttl`: seconds a route's key outlives its last change. `retry_interval`: seconds
    Redis is left alone after it failed to answer.
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        policy: RouteHealthPolicy,
        *,
        timeout: float = 0.05,
        prefix: str = "l0:route:",
        probe_lease: float | None = None,
        ttl: float = 86400.0,
        retry_interval: float = 1.0,
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
        lease = max(policy.cool_down, 30.0) if probe_lease is None else probe_lease
        if isinstance(lease, bool) or not isinstance(lease, (int, float)) or not lease > 0:
            raise _invalid(f"RedisRouteHealth(probe_lease=...) must be seconds > 0, got {lease!r}")
        if not isinstance(prefix, str) or not prefix:
            raise _invalid(
                f"RedisRouteHealth(prefix=...) must be a non-empty string, got {prefix!r}"
            )
        if isinstance(url_or_client, str):
            self._client: Redis = Redis.from_url(
                url_or_client, socket_connect_timeout=timeout, socket_timeout=max(timeout, 1.0)
            )
            self._owns_client = True
            self._where = _redacted(url_or_client)
        elif isinstance(url_or_client, Redis):
            self._client, self._owns_client, self._where = url_or_client, False, repr(url_or_client)
        else:
            raise _invalid(
                "RedisRouteHealth(url_or_client=...) must be a redis:// URL or a "
                f"redis.asyncio.Redis, got {url_or_client!r}"
            )
        self.policy = policy
        self.timeout = float(timeout)
        self.prefix = prefix
        self.probe_lease = float(lease)
        self.retry_interval = float(retry_interval)
        self._ttl_ms = str(math.ceil(ttl * 1000))
        self._script = self._client.register_script(_SCRIPT)
        self.local = LocalRouteHealth(policy, probe_lease=self.probe_lease)
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
        policy = self.policy
        argv = (
            args[0], args[1], str(policy.failure_threshold), repr(float(policy.cool_down)),
            repr(self.probe_lease), self._ttl_ms, *args[2:],
        )  # fmt: skip
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
        if outcome not in ("success", "failure", "abandoned"):
            raise _invalid(
                f"report(outcome=...) must be success, failure or abandoned, got {outcome!r}"
            )
        if admission.epoch < 0:
            local = Admission(
                admission.allowed, admission.probe, _local_epoch(admission.epoch),
                admission.retry_at, admission.reason,
            )  # fmt: skip
            self.local.report_now(route, local, outcome, now, retry_after)
            return
        after = "" if retry_after is None else repr(float(retry_after))
        args = (str(admission.epoch), "1" if admission.probe else "0", outcome, after)
        try:
            await self._run(route, "report", repr(now), *args)
        except _Unavailable:
            # The outcome belongs to the shared breaker, which cannot hear it now; a hold
            # still keeps this process away from the route.
            self.local.hold(route, now, retry_after)

    async def reset(self, route: str) -> None:
        self.local.reset_now(route)
        with contextlib.suppress(_Unavailable):
            await self._run(route, "reset", "0")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisRouteHealth({self._where}, prefix={self.prefix!r})"


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


__all__ = ["LocalRouteHealth", "RedisRouteHealth"]
