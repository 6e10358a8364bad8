"""Presence in Redis (``REDIS_URL``): entries shared by every server process, expiring
without a heartbeat. Time is the manual clock; Redis holds the scores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis
from django.conf import settings

from exercises import clock, presence

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXERCISE = 990_001  # a key no real exercise uses


@pytest.fixture
def fresh_key():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(f"cascade:presence:{EXERCISE}")
    yield
    client.delete(f"cascade:presence:{EXERCISE}")


def other_process() -> None:
    """Forget this process's client, as another server process would not share it."""
    presence._client.forget()


def test_entries_are_shared_between_processes_and_expire(fresh_key):
    with clock.use(clock.ManualClock(START)) as manual:
        presence.touch(EXERCISE, 1, "server-a.socket")
        other_process()
        presence.touch(EXERCISE, 2, "server-b.socket")
        assert presence.present(EXERCISE) == {1, 2}
        manual.advance(presence.TTL - 10)
        presence.touch(EXERCISE, 2, "server-b.socket")  # heartbeat
        manual.advance(20)
        assert presence.present(EXERCISE) == {2}  # server A died without closing
        presence.leave(EXERCISE, 2, "server-b.socket")
        assert presence.present(EXERCISE) == set()
    ttl = redis.Redis.from_url(settings.REDIS_URL).ttl(f"cascade:presence:{EXERCISE}")
    assert ttl <= presence.TTL * 2  # the set itself expires when every socket is gone
