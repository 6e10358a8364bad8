"""Who has a live socket on an exercise, across server processes.

Each open socket is one *entry* (participant id and channel name) with an expiry time:
written when the socket connects, refreshed by its heartbeat (the page pings every 20 s),
removed when it closes. A process that dies without closing its sockets leaves entries
behind; they expire ``TTL`` seconds after their last heartbeat. A participant is present
while at least one of their entries is alive (two tabs, a phone and a laptop).

Storage: with ``REDIS_URL``, one Redis sorted set per exercise (member
``<participant>:<channel>``, score = expiry, epoch seconds), shared by every process;
in the embedded default, a dict in Django's cache (one process). Time comes from
``exercises.clock``, so tests move it by hand. The rule itself is the pure ``alive``.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis
from django.conf import settings
from django.core.cache import cache

from config.per_process import PerProcess
from exercises import clock

TTL = 60.0  # seconds without a heartbeat before an entry counts as gone (3 pings missed)
_KEY = "cascade:presence:{}"
# This process's Redis client (config.per_process: made once, under a lock).
_client: PerProcess[redis.Redis] = PerProcess(lambda: redis.Redis.from_url(settings.REDIS_URL))


def member(participant_id: int, channel: str) -> str:
    return f"{participant_id}:{channel}"


def alive(entries: Mapping[str, float], now: float) -> set[int]:
    """Participant ids with an entry expiring after ``now`` (pure)."""
    return {int(name.split(":", 1)[0]) for name, expires in entries.items() if expires > now}


def _now() -> float:
    return clock.now().timestamp()


def touch(exercise_id: int, participant_id: int, channel: str) -> None:
    """The socket ``channel`` of ``participant_id`` is open (connect, heartbeat)."""
    name, expires = member(participant_id, channel), _now() + TTL
    key = _KEY.format(exercise_id)
    if settings.REDIS_URL:
        pipe = _client.get().pipeline()
        pipe.zadd(key, {name: expires})
        pipe.expire(key, int(TTL * 2))  # the whole set goes when every socket is gone
        pipe.execute()
        return
    entries = cache.get(key, {})
    entries[name] = expires
    cache.set(key, entries, timeout=None)


def leave(exercise_id: int, participant_id: int, channel: str) -> None:
    """The socket closed."""
    name, key = member(participant_id, channel), _KEY.format(exercise_id)
    if settings.REDIS_URL:
        _client.get().zrem(key, name)
        return
    entries = cache.get(key, {})
    entries.pop(name, None)
    cache.set(key, entries, timeout=None)


def present(exercise_id: int) -> set[int]:
    """Ids of the participants with a live socket on the exercise now; drops what expired."""
    key, now = _KEY.format(exercise_id), _now()
    if settings.REDIS_URL:
        client = _client.get()
        client.zremrangebyscore(key, "-inf", now)
        entries = {m.decode(): score for m, score in client.zrange(key, 0, -1, withscores=True)}
        return alive(entries, now)
    entries = cache.get(key, {})
    live = {name: expires for name, expires in entries.items() if expires > now}
    if len(live) != len(entries):
        cache.set(key, live, timeout=None)
    return alive(live, now)
