"""Operations endpoints: /readyz (database, Redis, a Celery worker) and the token-protected
Prometheus /metrics with the live runtime's own figures; JSON logs by environment."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from config import readiness
from config.celery import app as celery_app
from exercises import clock, engine
from scenarios.models import Prompt
from tests import factories
from tests.config.test_settings import run_with_env
from tests.exercises.test_consumers import build_world, db, frames, open_socket, release

TOKEN = "a-metrics-token-of-some-length"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ---------------------------------------------------------------- readiness


@pytest.mark.django_db
def test_readyz_checks_the_database_in_the_embedded_default(settings):
    settings.REDIS_URL, settings.CELERY_TASK_ALWAYS_EAGER = None, True
    answer = Client().get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "checks": {"database": "ok"}}


@pytest.mark.django_db
def test_readyz_fails_when_redis_is_stopped(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker check has its own tests
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"ok": False, "checks": {"database": "ok", "redis": "ConnectionError"}}


@pytest.mark.django_db
def test_readyz_fails_when_the_celery_broker_does_not_answer(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["celery"] == "OperationalError"


def test_the_worker_check_needs_a_worker_to_answer(settings, monkeypatch):
    settings.CELERY_BROKER_URL = "memory://"
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [])
    with pytest.raises(readiness.NoWorker):
        readiness.check_worker()
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [{"w1": {"ok": "pong"}}])
    readiness.check_worker()


# ---------------------------------------------------------------- metrics endpoint


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_and_need_the_right_one(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    answer = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    text = answer.content.decode()
    for name in (
        "cascade_open_sockets",
        "cascade_frames_pushed_total",
        "cascade_fanout_seconds_bucket",
        "cascade_timed_work_lag_seconds_bucket",
        "cascade_decisions_total",
    ):
        assert name in text


def test_a_short_metrics_token_is_refused_at_start_up():
    result = run_with_env("import django; django.setup()", METRICS_TOKEN="short")
    assert result.returncode != 0
    assert "METRICS_TOKEN must be at least 16 characters." in result.stderr


# ---------------------------------------------------------------- live figures


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_sockets_frames_fanout_and_decisions_are_counted(settings):
    settings.CASCADE_INPROCESS_SCHEDULER = False
    world = await db(build_world)
    sockets = sample("cascade_open_sockets")
    live = sample("cascade_frames_pushed_total", source="live")
    caught_up = sample("cascade_frames_pushed_total", source="catch_up")
    fanouts = sample("cascade_fanout_seconds_count")
    decisions = sample("cascade_decisions_total")

    bob = await open_socket(world["exercise"], world["bob"])
    carol = await open_socket(world["exercise"], world["carol"])
    replayed = len(await frames(bob)) + len(await frames(carol))
    assert sample("cascade_open_sockets") == sockets + 2
    assert sample("cascade_frames_pushed_total", source="catch_up") == caught_up + replayed

    await db(release, world, "news")  # to every team: one live frame per socket
    assert len(await frames(bob)) == len(await frames(carol)) == 1
    assert sample("cascade_frames_pushed_total", source="live") == live + 2
    assert sample("cascade_fanout_seconds_count") == fanouts + 2

    def decide():
        prompt = Prompt.objects.get(scenario=world["exercise"].scenario, key="first-move")
        engine.decision_submit(
            exercise=world["exercise"],
            team=world["cloud"],
            prompt=prompt,
            author=world["bob"],
            client_token="t1",
            option=prompt.options.first(),
        )

    waits = sample("cascade_exercise_lock_wait_seconds_count")
    held = sample("cascade_exercise_lock_held_seconds_count")
    await db(decide)
    assert sample("cascade_decisions_total") == decisions + 1
    # the exercise's row lock: taken once, and released by the commit
    assert sample("cascade_exercise_lock_wait_seconds_count") == waits + 1
    assert sample("cascade_exercise_lock_held_seconds_count") == held + 1
    await bob.disconnect()
    await carol.disconnect()
    assert sample("cascade_open_sockets") == sockets


@pytest.mark.django_db
def test_timed_work_lag_is_measured_on_the_exercise_clock(settings, alice):
    settings.CASCADE_INPROCESS_SCHEDULER = False  # nobody sweeps: the inject falls late
    manual = clock.ManualClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    with clock.use(manual):
        exercise = factories.make_exercise(facilitator=alice)
        factories.make_team(exercise, "cloud")
        factories.add_timed_inject(exercise, "late-news", offset=10)
        engine.exercise_start(exercise=exercise, actor=alice)
        before_count = sample("cascade_timed_work_lag_seconds_count")
        before_sum = sample("cascade_timed_work_lag_seconds_sum")
        manual.advance(12.5)
        assert engine.sweep_exercise(exercise.pk)
    assert sample("cascade_timed_work_lag_seconds_count") == before_count + 1
    assert sample("cascade_timed_work_lag_seconds_sum") == pytest.approx(before_sum + 2.5)


# ---------------------------------------------------------------- logs


def test_log_format_json_writes_one_object_per_line():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('cascade.test').warning('ready %s', 42)"
    )
    result = run_with_env(code, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "cascade.test",
        "ready 42",
    )
    assert "time" in line
    assert "process" in line
    refused = run_with_env("import django; django.setup()", LOG_FORMAT="xml")
    assert "LOG_FORMAT='xml' must be one of: plain, json." in refused.stderr
