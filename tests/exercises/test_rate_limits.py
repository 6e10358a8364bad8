"""Issue 13 #12: shares, decisions and observations are rate limited per team (per
evaluator for observations); a refused POST says how long to wait and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import IntegrityError

from config.cache import SharedPoolRedisCache
from config.limits import DECISION_BURST, SHARE_BURST, SHARE_EVERY_SECONDS
from exercises import clock, engine
from exercises.engine import decisions, rate_limits
from exercises.engine.rate_limits import Bucket, Rate, refill, spend
from exercises.models import Decision, DecisionRevision, Observation, Share
from tests import factories
from tests.exercises.test_live_views import htmx, team, url

RATE = Rate("shares", burst=2, every_seconds=10.0)


def test_a_bucket_starts_full_spends_and_refills_with_time() -> None:
    bucket = refill(None, rate=RATE, now=100.0)
    bucket, wait = spend(bucket, rate=RATE)
    assert wait == 0
    bucket, wait = spend(bucket, rate=RATE)
    assert wait == 0
    assert spend(bucket, rate=RATE) == (bucket, 10.0)
    later = refill(bucket, rate=RATE, now=104.0)
    assert spend(later, rate=RATE)[1] == pytest.approx(6.0)
    assert refill(bucket, rate=RATE, now=1000.0) == Bucket(2.0, 1000.0)  # never above burst


def test_the_message_rounds_the_wait_up() -> None:
    error = rate_limits.RateLimited(RATE, 0.2)
    assert str(error) == "You are sending shares too fast: wait 1 s."


@pytest.fixture
def manual_clock():
    with clock.use(clock.ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))) as manual:
        yield manual


def share_data(n: int) -> dict:
    return {"tlp": "CLEAR", "title": f"Update {n}", "body": "News", "client_token": f"s{n}"}


def test_a_team_sharing_too_fast_is_told_to_wait_and_nothing_is_written(
    client, running, bob, manual_clock
):
    client.force_login(bob)
    for n in range(SHARE_BURST):
        assert f"Shared “Update {n}”" in htmx(client, url("share", running), share_data(n)).text
    refused = htmx(client, url("share", running), share_data(99))
    assert refused.status_code == 200
    assert f"You are sending shares too fast: wait {int(SHARE_EVERY_SECONDS)} s." in refused.text
    assert Share.objects.count() == SHARE_BURST
    assert running.events.filter(kind="share.created").count() == SHARE_BURST
    manual_clock.advance(SHARE_EVERY_SECONDS)
    assert "Shared “Update 99”" in htmx(client, url("share", running), share_data(99)).text


def test_the_share_limit_is_per_team_not_per_player(client, running, bob, org_a, manual_clock):
    teammate = factories.make_user("bea")
    factories.add_member(teammate, org_a)
    factories.add_player(running, team(running, "cloud"), teammate)
    client.force_login(bob)
    for n in range(SHARE_BURST):
        htmx(client, url("share", running), share_data(n))
    client.force_login(teammate)
    assert "too fast" in htmx(client, url("share", running), share_data(50)).text


def test_other_teams_keep_their_own_allowance(client, running, bob, carol, manual_clock):
    client.force_login(bob)
    for n in range(SHARE_BURST + 1):
        htmx(client, url("share", running), share_data(n))
    client.force_login(carol)
    assert "Shared “Update 7”" in htmx(client, url("share", running), share_data(7)).text


def test_decisions_are_limited_per_team(client, running, bob, manual_clock):
    client.force_login(bob)
    path = url("decide", running, "first-move")
    for n in range(DECISION_BURST):
        data = {"first-move-option": "isolate", "first-move-client_token": f"t{n}"}
        htmx(client, path, data)
    refused = htmx(client, path, {"first-move-option": "wait", "first-move-client_token": "x"})
    assert "You are sending decisions too fast: wait 2 s." in refused.text
    assert DecisionRevision.objects.count() == DECISION_BURST
    assert Decision.objects.get().option.key == "isolate"


def test_observations_are_limited_per_evaluator(client, running, manual_clock):
    evaluator = factories.add_participant(running, "evaluator").user
    client.force_login(evaluator)
    data = {"team": team(running, "cloud").code, "criterion": "respond", "rating": "S"}
    for _ in range(rate_limits.OBSERVATIONS.burst):
        htmx(client, url("observe_record", running), data)
    refused = htmx(client, url("observe_record", running), data)
    assert "You are sending observations too fast: wait 1 s." in refused.text
    assert Observation.objects.count() == rate_limits.OBSERVATIONS.burst


@pytest.fixture
def redis_cache():
    shared = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(shared, SharedPoolRedisCache):
        pytest.skip("the cache is Redis only with REDIS_URL set")
    return shared


def stored_bucket(shared: SharedPoolRedisCache, key: str) -> Bucket:
    raw = shared._cache.get_client(write=True).get(shared.make_and_validate_key(key))
    tokens, at = raw.decode().split()
    return Bucket(float(tokens), float(at))


def test_the_redis_script_takes_tokens_as_refill_and_spend_do(redis_cache) -> None:
    """``take``'s Lua script against the pure functions, float for float: the same waits,
    the same stored bucket, kept as long."""
    rate, key, bucket = Rate("shares", 3, 7.3), "cascade:rate:test", None
    moments = [1.7e9 + t for t in (0, 0, 0, 0, 0.25, 2.5, 9.9, 9.9, 10.1, 40, 40.001, 1e4)]
    for now in moments:
        expected, wait = spend(refill(bucket, rate=rate, now=now), rate=rate)
        answer = redis_cache.run_script(rate_limits._TAKE, key, now, 3, 7.3, 23)
        assert float(answer) == wait
        if not wait:
            bucket = expected
        assert stored_bucket(redis_cache, key) == bucket
    assert 0 < redis_cache._cache.get_client().ttl(redis_cache.make_and_validate_key(key)) <= 23


def test_a_bucket_the_cache_api_pickled_reads_as_a_full_one(redis_cache, manual_clock) -> None:
    key = "cascade:rate:decisions:1:team-1"
    redis_cache.set(key, Bucket(0.0, manual_clock.now().timestamp()))
    rate_limits.take(rate_limits.DECISIONS, exercise_id=1, subject="team-1")
    assert stored_bucket(redis_cache, key).tokens == DECISION_BURST - 1


def test_a_decision_decided_again_after_a_race_takes_one_token(running, bob, monkeypatch):
    """Losing a race on the decision's unique constraint makes the engine decide again: the
    same request, so no second token (with Redis taking tokens atomically, eight racing
    submissions of one team would otherwise spend the allowance on their retries)."""
    taken, real_take, real_rows = [], decisions.take, decisions._decision_rows
    monkeypatch.setattr(decisions, "take", lambda *a, **k: taken.append(1) or real_take(*a, **k))

    def lose_once(*args, **kwargs):
        if not taken[1:]:
            taken.append("lost")
            raise IntegrityError("lost the race")
        return real_rows(*args, **kwargs)

    monkeypatch.setattr(decisions, "_decision_rows", lose_once)
    cloud = team(running, "cloud")
    prompt = cloud.exercise.scenario.prompts.get(key="first-move")
    decision = engine.decision_submit(
        exercise=running,
        team=cloud,
        prompt=prompt,
        author=bob,
        option=prompt.options.first(),
        client_token="t",
    )
    assert decision.revision == 1
    assert taken == [1, "lost"]
