"""How fast a team may write to a running exercise: a token bucket per (exercise, who,
action), kept in Django's cache (the in-memory cache of the embedded default, Redis when
``REDIS_URL`` is set, so every server process shares it). Limits in ``config.limits``.

``take`` is called by the views before the engine, so a refused request writes nothing;
its ``RateLimited`` is an ``EngineError`` and reaches the user as one. Time comes from
``exercises.clock`` (tests move a ``ManualClock``). Reading and writing the bucket are two
cache calls, not one atomic step: requests racing at the same instant may each take the
last token, so a limit can be passed by a request or two, never flooded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from django.core.cache import cache

from config import limits
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
    key = f"cascade:rate:{rate.noun}:{exercise_id}:{subject}"
    now = clock.now().timestamp()
    stored = cache.get(key)
    bucket, wait = spend(refill(stored, rate=rate, now=now), rate=rate)
    if wait:
        raise RateLimited(rate, wait)
    # Kept until it would be full again; then a missing bucket means the same.
    cache.set(key, bucket, timeout=math.ceil(rate.burst * rate.every_seconds) + 1)
