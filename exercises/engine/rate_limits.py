"""How fast a team or a person may write to a running exercise: a token bucket per
(exercise, who, action), kept in Django's cache (the in-memory cache of the embedded
default, Redis when ``REDIS_URL`` is set, so every server process shares it). Limits in
``config.limits``.

``take`` is called by the engine verbs themselves, after their checks and before they
write, so every entry point is limited and a refused request writes nothing; its
``RateLimited`` is an ``EngineError`` and reaches the user as one. Time comes from
``exercises.clock`` (tests move a ``ManualClock``).

With Redis, taking a token is one Lua script (``_TAKE``: ``refill`` and ``spend`` in
Lua), so one round trip instead of a read and a write, and atomic. In the in-memory cache
of the embedded default, reading and writing the bucket are two calls, not one atomic
step: requests racing at the same instant may each take the last token, so a limit can
be passed by a request or two, never flooded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from redis.commands.core import Script

from config import limits
from config.cache import SharedPoolRedisCache
from exercises import clock
from exercises.engine.core import EngineError


@dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, then one more every ``every_seconds``."""

    noun: str  # what is sent, for the message: "shares"
    burst: int
    every_seconds: float


SHARES: Final = Rate("shares", limits.SHARE_BURST, limits.SHARE_EVERY_SECONDS)
DECISIONS: Final = Rate("decisions", limits.DECISION_BURST, limits.DECISION_EVERY_SECONDS)
OBSERVATIONS: Final = Rate(
    "observations", limits.OBSERVATION_BURST, limits.OBSERVATION_EVERY_SECONDS
)
MESSAGES: Final = Rate("messages", limits.MESSAGE_BURST, limits.MESSAGE_EVERY_SECONDS)
RFIS: Final = Rate("requests for information", limits.RFI_BURST, limits.RFI_EVERY_SECONDS)


class RateLimited(EngineError):
    """Too many requests: the message says how long to wait."""

    def __init__(self, rate: Rate, wait_seconds: float) -> None:
        self.wait_seconds = math.ceil(wait_seconds)
        super().__init__(f"You are sending {rate.noun} too fast: wait {self.wait_seconds} s.")


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # seconds since the epoch of the clock in force


def refill(bucket: Bucket | None, *, rate: Rate, now: float) -> Bucket:
    """The bucket at ``now``: full when new, else refilled for the time passed (pure)."""
    if bucket is None:
        return Bucket(float(rate.burst), now)
    gained = max(now - bucket.at, 0.0) / rate.every_seconds
    return Bucket(min(float(rate.burst), bucket.tokens + gained), now)


def spend(bucket: Bucket, *, rate: Rate) -> tuple[Bucket, float]:
    """``(bucket after, 0)`` when a token was there to take, else ``(bucket, seconds
    until the next token)`` (pure)."""
    if bucket.tokens >= 1.0:
        return Bucket(bucket.tokens - 1.0, bucket.at), 0.0
    return bucket, (1.0 - bucket.tokens) * rate.every_seconds


def take(rate: Rate, *, exercise_id: int, subject: str) -> None:
    """Take one request of ``rate`` for ``subject`` (``team-<id>``, ``user-<id>``) in an
    exercise, or raise ``RateLimited``."""
    key = f"cascade:rate:{rate.noun.replace(' ', '-')}:{exercise_id}:{subject}"
    now = clock.now().timestamp()
    # Kept until it would be full again; then a missing bucket means the same.
    ttl = math.ceil(rate.burst * rate.every_seconds) + 1
    shared = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(shared, SharedPoolRedisCache):
        # Each decision takes a token: two Redis round trips were 4% of a decide POST.
        wait = float(shared.run_script(_TAKE, key, now, rate.burst, rate.every_seconds, ttl))
    else:
        bucket, wait = spend(refill(cache.get(key), rate=rate, now=now), rate=rate)
        if not wait:
            cache.set(key, bucket, timeout=ttl)
    if wait:
        raise RateLimited(rate, wait)


# ``refill`` then ``spend`` on the bucket stored as "<tokens> <at>"; the same float
# arithmetic as theirs. Anything else under the key (a bucket pickled by the cache API
# before this script) reads as no bucket: a full one. Answers the wait as text, as Redis
# would truncate a Lua number to an integer ("0": a token was taken).
_TAKE = Script(
    None,
    b"""
local now, burst, every = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = burst
local stored = redis.call("GET", KEYS[1])
if stored then
  local left, at = string.match(stored, "^(%S+) (%S+)$")
  left, at = tonumber(left), tonumber(at)
  if left and at then
    tokens = math.min(burst, left + math.max(now - at, 0) / every)
  end
end
if tokens < 1 then
  return string.format("%.17g", (1 - tokens) * every)
end
redis.call("SET", KEYS[1], string.format("%.17g %.17g", tokens - 1, now), "EX", ARGV[4])
return "0"
""",
)
